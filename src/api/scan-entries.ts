import type { Link } from '../commands/link.js';
import * as scanCommands from '../commands/scan.js';
import { abortable, throwIfAborted } from './abortable.js';

/**
 * The entries of one scan, read from the actor a chunk at a time: the actor
 * keeps the scan's cursor between chunks and is held for one chunk only. When
 * the consumer stops early (`break`, a throw: the iterator's `return()`), the
 * cursor is released at once. An aborted `signal` ends the loop the same way,
 * its next step rejecting with `ERR_ABORTED`.
 * @param link - the way to the actor
 * @param pattern - the glob, or undefined for every key
 * @param count - entries per chunk
 * @param signal - gives the scan up when aborted
 * @returns the entries, as `[key, value]` pairs
 */
export async function* scanEntries<TValue>(
  link: Pick<Link, 'request'>,
  pattern: string | undefined,
  count: number | undefined,
  signal?: AbortSignal,
): AsyncGenerator<[string, TValue], void, undefined> {
  const first: { type: 'kv.scan'; cursor: number; pattern?: string; count?: number } = { type: 'kv.scan', cursor: 0 };
  if (pattern !== undefined) first.pattern = pattern;
  if (count !== undefined) first.count = count;
  let cursor = 0;
  const release = (open: number) => {
    if (open !== 0) link.request({ type: 'kv.scanClose', cursor: open }, scanCommands.scanClose).catch(() => {});
  };
  const read = (cmd: { type: 'kv.scan'; cursor: number; pattern?: string; count?: number }) => {
    throwIfAborted(signal, 'scan()');
    const answer = link.request(cmd, scanCommands.scan) as Promise<unknown[]>;
    if (signal === undefined) return answer;
    // Given up while the chunk was on its way: the cursor it opens is released when it comes.
    return abortable(answer, signal, 'scan()').catch((error: unknown) => {
      if (signal.aborted)
        answer.then(
          (late) => late[0] !== cursor && release(late[0] as number),
          () => {},
        );
      throw error;
    });
  };
  try {
    let chunk = await read(first);
    for (;;) {
      cursor = chunk[0] as number;
      for (let i = 1; i < chunk.length; i += 2) {
        throwIfAborted(signal, 'scan()');
        yield [chunk[i] as string, chunk[i + 1] as TValue];
      }
      if (cursor === 0) return;
      // In the main thread the actor answers at once, so without this the whole scan
      // would run in one task and the store's other clients would wait for its end.
      await new Promise(setImmediate);
      chunk = await read(count === undefined ? { type: 'kv.scan', cursor } : { type: 'kv.scan', cursor, count });
    }
  } finally {
    // Still open: the consumer stopped early, a read failed, or the signal fired.
    release(cursor);
  }
}
