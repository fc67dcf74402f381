import { randomUUID } from 'node:crypto';
import type { Store } from 'kvbus';
import { type Encoded, encodeValue, PREVIEW_LIMITS } from './encode-value.js';

/** An open scan is dropped when no page asked for its next page for this long. */
const IDLE_MS = 60_000;
/** At most this many scans are open at once; the oldest is dropped first. */
const MAX_OPEN = 32;

/** One page of the key list. */
export interface KeyPage {
  keys: { key: string; value: Encoded }[];
  /** Pass it back for the next page; `null` when the scan is done. */
  cursor: string | null;
}

interface OpenScan {
  iterator: AsyncIterator<[string, unknown]>;
  timer: NodeJS.Timeout;
}

/**
 * Pages through `store.scan(glob)`: the scan's iterator stays open between
 * pages (under a cursor id), so a page of 100 keys costs one chunk of the scan
 * however many keys the store holds.
 */
export class KeyPages {
  readonly #store: Store;
  readonly #open = new Map<string, OpenScan>();

  /**
   * @param store - the store to scan
   */
  constructor(store: Store) {
    this.#store = store;
  }

  /**
   * The first page of a new scan.
   * @param glob - the keys to list
   * @param limit - keys per page
   * @returns the page
   */
  first(glob: string, limit: number): Promise<KeyPage> {
    const iterator = this.#store.scan(glob, { count: limit })[Symbol.asyncIterator]();
    return this.#read(iterator, limit);
  }

  /**
   * The next page of an open scan.
   * @param cursor - from the previous page
   * @param limit - keys per page
   * @returns the page, or `undefined` when the cursor is unknown (expired)
   */
  next(cursor: string, limit: number): Promise<KeyPage> | undefined {
    const open = this.#open.get(cursor);
    if (!open) return undefined;
    clearTimeout(open.timer);
    this.#open.delete(cursor);
    return this.#read(open.iterator, limit);
  }

  /** Releases every open scan. */
  close(): void {
    for (const cursor of [...this.#open.keys()]) this.#drop(cursor);
  }

  async #read(iterator: AsyncIterator<[string, unknown]>, limit: number): Promise<KeyPage> {
    const keys: KeyPage['keys'] = [];
    while (keys.length < limit) {
      const step = await iterator.next();
      if (step.done) return { keys, cursor: null };
      keys.push({ key: step.value[0], value: encodeValue(step.value[1], PREVIEW_LIMITS) });
    }
    const cursor = randomUUID();
    this.#open.set(cursor, { iterator, timer: setTimeout(() => this.#drop(cursor), IDLE_MS).unref() });
    if (this.#open.size > MAX_OPEN) this.#drop(this.#open.keys().next().value as string);
    return { keys, cursor };
  }

  #drop(cursor: string): void {
    const open = this.#open.get(cursor);
    if (!open) return;
    clearTimeout(open.timer);
    this.#open.delete(cursor);
    void open.iterator.return?.()?.catch(() => {});
  }
}
