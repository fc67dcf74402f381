// The memory backend's change history: the last `maxEvents` key changes, for `changes(glob, { since })`.
import { compactedError, describe, futureRevisionError, KvbusError } from '../../errors.js';
import type { HistoryOptions } from '../../feed-types.js';
import { compileGlob } from '../../glob.js';
import type { KeyChange } from '../../types.js';

/** Slots a history starts with (it grows to its maximum as changes come). */
const INITIAL_SLOTS = 1024;

/** The change events a store keeps when its options do not say. */
export const DEFAULT_MAX_EVENTS = 10_000;

/** What a history slot records, by its code (a byte per slot instead of a string). */
const TYPES = ['set', 'delete', 'expire', 'clear'] as const;
/** The code of each change type. */
export const CHANGE = { set: 0, delete: 1, expire: 2, clear: 3 } as const;

/**
 * Reads and checks `history.maxEvents`.
 * @param history - the option as the caller gave it
 * @param where - the option's name, for the error message
 * @returns the number of events to keep
 */
export function maxEventsOf(history: HistoryOptions | undefined, where: string): number {
  if (history === undefined) return DEFAULT_MAX_EVENTS;
  if (history === null || typeof history !== 'object') {
    throw new KvbusError(
      'ERR_BAD_ARGUMENT',
      `Expected \`${where}\` to be an object such as { maxEvents: 10_000 }, got ${describe(history)}`,
    );
  }
  const max = history.maxEvents ?? DEFAULT_MAX_EVENTS;
  if (!Number.isSafeInteger(max) || max < 0) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`${where}.maxEvents\` to be a non-negative safe integer, got ${describe(max)}`);
  }
  return max;
}

/** @internal Options of `memoryBackend`. */
export interface MemoryBackendOptions {
  history?: HistoryOptions;
}

/**
 * The history `memoryBackend(options)` asks for, its options checked.
 * @param options - the backend's options
 * @returns an empty history of that size
 */
export function historyOf(options: MemoryBackendOptions | undefined): ChangeHistory {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`memoryBackend\` options to be an object, got ${describe(options)}`);
  }
  return new ChangeHistory(maxEventsOf(options?.history, 'history'));
}

/**
 * A ring of the last `max` key changes, kept as parallel arrays (a byte,
 * a key, a value and a revision per slot): recording a change allocates
 * nothing, so a store keeps its history whether or not anyone watches. The
 * values are the stored ones (the store copies what it sends out).
 */
export class ChangeHistory {
  /** The most changes kept. */
  readonly #max: number;
  /** Slots allocated: they grow (doubling) up to #max, so a store that writes little holds little. */
  #size: number;
  #types: Uint8Array;
  #keys: Array<string | undefined>;
  #values: unknown[];
  #revisions: Float64Array;
  /** The slot of the oldest change kept (0 until the ring is full at #max: it only wraps then). */
  #start = 0;
  #length = 0;

  /** @param max - how many changes to keep (0: none) */
  constructor(max: number) {
    this.#max = max;
    this.#size = Math.min(max, INITIAL_SLOTS);
    this.#types = new Uint8Array(this.#size);
    this.#keys = new Array(this.#size);
    this.#values = new Array(this.#size);
    this.#revisions = new Float64Array(this.#size);
  }

  /**
   * Keeps one change, forgetting the oldest when full.
   * @param type - its code ({@link CHANGE})
   * @param key - the key (`'*'` for a clear)
   * @param value - the new value of a set
   * @param revision - its revision, greater than every one kept
   */
  record(type: number, key: string, value: unknown, revision: number): void {
    if (this.#length === this.#size) {
      if (this.#size < this.#max) this.#grow();
      else if (this.#max === 0) return;
    }
    const size = this.#size;
    let at = this.#start + this.#length;
    if (at >= size) at -= size;
    if (this.#length === size) this.#start = at + 1 === size ? 0 : at + 1;
    else this.#length++;
    this.#types[at] = type;
    this.#keys[at] = key;
    this.#values[at] = value;
    this.#revisions[at] = revision;
  }

  /** Doubles the slots (up to #max); the ring has not wrapped yet, so its changes are in order from slot 0. */
  #grow(): void {
    const size = Math.min(this.#max, this.#size * 2);
    const types = new Uint8Array(size);
    types.set(this.#types);
    const revisions = new Float64Array(size);
    revisions.set(this.#revisions);
    this.#types = types;
    this.#revisions = revisions;
    this.#keys.length = size;
    this.#values.length = size;
    this.#size = size;
  }

  /** Forgets every change (the backend closed). */
  clear(): void {
    this.#keys.fill(undefined);
    this.#values.fill(undefined);
    this.#start = 0;
    this.#length = 0;
  }

  /**
   * The changes kept after `since` whose key matches `pattern` (a clear always does), in revision order.
   * @param since - the revision the caller has seen
   * @param pattern - a glob, or undefined for every key
   * @param next - the revision the store's next change will take
   * @returns the changes, each a fresh object holding the stored value
   * @throws KvbusError `ERR_COMPACTED` when changes after `since` were forgotten
   */
  since(since: number, pattern: string | undefined, next: number): KeyChange[] {
    const oldest = this.#length === 0 ? next : this.#revisionAt(0);
    if (since + 1 < oldest) throw compactedError(since, oldest);
    if (since >= next) throw futureRevisionError(since, next - 1);
    const out: KeyChange[] = [];
    const match = pattern === undefined || pattern === '*' ? undefined : compileGlob(pattern);
    for (let i = this.#firstAfter(since); i < this.#length; i++) {
      let at = this.#start + i;
      if (at >= this.#size) at -= this.#size;
      const type = TYPES[this.#types[at]!]!;
      const key = this.#keys[at]!;
      const revision = this.#revisions[at]!;
      if (type === 'clear') out.push({ type, key: '*', revision });
      else if (match === undefined || match(key)) {
        out.push(type === 'set' ? { type, key, value: this.#values[at], revision } : { type, key, revision });
      }
    }
    return out;
  }

  /** The revision of the `i`-th change kept, from the oldest. */
  #revisionAt(i: number): number {
    const at = this.#start + i;
    return this.#revisions[at >= this.#size ? at - this.#size : at]!;
  }

  /** The index (from the oldest) of the first change kept with a revision above `since`: a binary search, revisions only grow. */
  #firstAfter(since: number): number {
    let low = 0;
    let high = this.#length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.#revisionAt(mid) <= since) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
