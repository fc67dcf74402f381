// Reading the history stream of a namespace (history-scripts.ts): replays for
// `changes(glob, { since })`, the catch-up of a feed after a reconnect, and
// atomic snapshots.
import { compactedError, describe, futureRevisionError, KvbusError } from '../../errors.js';
import type { HistoryOptions } from '../../feed-types.js';
import { compileGlob } from '../../glob.js';
import type { Entry, KeyChange } from '../../types.js';
import type { Connection } from './connection.js';
import type { Codec, Layout } from './layout.js';

/** `history.maxEvents` when none is given. */
export const DEFAULT_MAX_EVENTS = 10_000;
// The first byte of the history's delete, expire and clear events (a set's is its type, `n` or `v`).
const D = 0x64;
const E = 0x65;
const C = 0x63;
/** The most stream entries one read returns (an entry holds the events of one script call). */
const PAGE = 10_000;

/**
 * Resolves the `history` option of `redisBackend`.
 * @param option - `{ maxEvents? }`, or undefined
 * @returns maxEvents (0: no history)
 */
export function resolveHistory(option: HistoryOptions | undefined): number {
  if (option === undefined) return DEFAULT_MAX_EVENTS;
  if (option === null || typeof option !== 'object') {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`history\` to be an object like { maxEvents: 10000 }, got ${describe(option)}`);
  }
  const { maxEvents = DEFAULT_MAX_EVENTS } = option;
  if (typeof maxEvents !== 'number' || !Number.isSafeInteger(maxEvents) || maxEvents < 0) {
    throw new KvbusError(
      'ERR_BAD_ARGUMENT',
      `Expected \`history.maxEvents\` to be a non-negative integer (0 keeps no history), got ${describe(maxEvents)}`,
    );
  }
  return maxEvents;
}

/** One read of the stream, consistent with the counter read with it. */
export interface HistoryPage {
  /** The revision counter when the stream was read. */
  current: number;
  /** The oldest revision the stream holds (0: it holds none). */
  oldest: number;
  /** The events after the revision asked for, in revision order. */
  changes: KeyChange[];
  /** True when the read stopped at its count: read again after the last event for the rest. */
  more: boolean;
}

/** The stream of change events of one namespace, read back. */
export class History {
  readonly #connection: Connection;
  readonly #layout: Layout;
  readonly #codec: Codec;

  constructor(connection: Connection, layout: Layout, codec: Codec) {
    this.#connection = connection;
    this.#layout = layout;
    this.#codec = codec;
  }

  /** The events with a revision above `after` (a page of them), and the counter, in one step. */
  async read(after: number, count = PAGE): Promise<HistoryPage> {
    const connection = this.#connection;
    const layout = this.#layout;
    const reply = (await connection.script(
      'READ_HISTORY',
      [layout.rev, layout.history],
      [`${after + 1}-0`, String(count)],
      undefined,
      connection.bufferOptions(),
    )) as [number, number, Array<[Buffer, Buffer[]]>, number];
    const changes: KeyChange[] = [];
    const skip = Buffer.byteLength(layout.data(''));
    for (const [, fields] of reply[2]) {
      for (let i = 0; i < fields.length; i += 2) {
        const change = this.#decode(fields[i]!, fields[i + 1]!, skip);
        // The first entry may begin before `after`: it holds every event of one script call.
        if (change.revision > after) changes.push(change);
      }
    }
    return { current: connection.saw(Number(reply[0])), oldest: Number(reply[1]), changes, more: reply[3] === 1 };
  }

  /** One event of an entry (see history-scripts.ts): its name (the data key) and value. */
  #decode(name: Buffer, value: Buffer, skip: number): KeyChange {
    const op = value[0]!;
    if (op === D || op === E || op === C) {
      const revision = Number(value.toString('latin1', 1));
      if (op === C) return { type: 'clear', key: '*', revision };
      return { type: op === D ? 'delete' : 'expire', key: name.toString('utf8', skip), revision };
    }
    const entry = this.#codec.readStored(value)!;
    return { type: 'set', key: name.toString('utf8', skip), value: entry.value, revision: entry.revision };
  }

  /**
   * The retained events after `since` whose key matches `pattern` (a clear
   * always matches), in revision order. Throws `ERR_COMPACTED` when the stream
   * does not hold every revision from `since + 1` to now: trimmed, or holes left
   * by a process that writes without history (never hidden: a follower would
   * silently miss those changes).
   */
  async changesSince(since: number, pattern: string | undefined): Promise<KeyChange[]> {
    if (!Number.isSafeInteger(since) || since < 0) {
      throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`since\` to be a non-negative integer revision, got ${describe(since)}`);
    }
    const match = pattern === undefined ? undefined : compileGlob(pattern);
    const out: KeyChange[] = [];
    let expected = since + 1;
    // From here on, every revision up to the last read is in the stream.
    let continuousFrom = expected;
    for (let first = true; ; first = false) {
      const page = await this.read(expected - 1);
      if (first) {
        if (page.current < since) throw futureRevisionError(since, page.current);
        if (page.current === since) return out;
        const oldest = page.oldest === 0 ? page.current + 1 : page.oldest;
        if (expected < oldest) throw compactedError(since, oldest);
      }
      for (const change of page.changes) {
        if (change.revision !== expected) continuousFrom = change.revision; // a hole, or trimmed meanwhile
        expected = change.revision + 1;
        if (!match || change.type === 'clear' || match(change.key)) out.push(change);
      }
      if (page.more) continue;
      // The last read reached the end of the stream: its tail must be the counter.
      if (expected <= page.current) continuousFrom = page.current + 1;
      if (continuousFrom !== since + 1) throw compactedError(since, continuousFrom);
      return out;
    }
  }

  /**
   * The entries whose key matches `pattern` and the revision they were read at,
   * from one script (SNAPSHOT): an instant of the keyspace.
   */
  async snapshot(pattern: string | undefined): Promise<{ revision: number; entries: Map<string, Entry> }> {
    const connection = this.#connection;
    const layout = this.#layout;
    const reply = (await connection.script(
      'SNAPSHOT',
      [layout.rev],
      [layout.dataGlob(pattern ?? '*')],
      undefined,
      connection.bufferOptions(),
    )) as [number, ...Buffer[]];
    const skip = Buffer.byteLength(layout.data(''));
    const entries = new Map<string, Entry>();
    for (let i = 1; i < reply.length; i += 2) {
      const entry = this.#codec.readStored(reply[i + 1] as Buffer);
      if (entry) entries.set((reply[i] as Buffer).toString('utf8', skip), entry);
    }
    return { revision: connection.saw(Number(reply[0])), entries };
  }
}
