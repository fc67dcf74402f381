import type { Link } from '../commands/link.js';
import * as scanCommands from '../commands/scan.js';

/**
 * The entries of one scan, read from the actor a chunk at a time: the actor
 * keeps the scan's cursor between chunks and is held for one chunk only. When
 * the consumer stops early (`break`, a throw: the iterator's `return()`), the
 * cursor is released at once.
 * @param link - the way to the actor
 * @param pattern - the glob, or undefined for every key
 * @param count - entries per chunk
 * @returns the entries, as `[key, value]` pairs
 */
export async function* scanEntries<TValue>(
  link: Link,
  pattern: string | undefined,
  count: number | undefined,
): AsyncGenerator<[string, TValue], void, undefined> {
  const first: { type: 'kv.scan'; cursor: number; pattern?: string; count?: number } = { type: 'kv.scan', cursor: 0 };
  if (pattern !== undefined) first.pattern = pattern;
  if (count !== undefined) first.count = count;
  let cursor = 0;
  try {
    let chunk = (await link.request(first, scanCommands.scan)) as unknown[];
    for (;;) {
      cursor = chunk[0] as number;
      for (let i = 1; i < chunk.length; i += 2) yield [chunk[i] as string, chunk[i + 1] as TValue];
      if (cursor === 0) return;
      // In the main thread the actor answers at once, so without this the whole scan
      // would run in one task and the store's other clients would wait for its end.
      await new Promise(setImmediate);
      const next = count === undefined ? { type: 'kv.scan' as const, cursor } : { type: 'kv.scan' as const, cursor, count };
      chunk = (await link.request(next, scanCommands.scan)) as unknown[];
    }
  } finally {
    // Still open: the consumer stopped early, or a read failed.
    if (cursor !== 0) link.request({ type: 'kv.scanClose', cursor }, scanCommands.scanClose).catch(() => {});
  }
}
