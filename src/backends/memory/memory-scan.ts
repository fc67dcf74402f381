import type { BackendScan } from '../backend.js';

/** A scan chunk looks at no more than this many entries per entry asked for (a sparse glob returns short chunks). */
const SCAN_VISITS_PER_ENTRY = 8;
const MIN_SCAN_VISITS = 4096;

/** A glob without these characters names one key: it is looked up, not scanned for. */
export const GLOB_CHARS = /[*?[\\]/;

/** What a scan reads of the memory backend. */
export interface ScanSource {
  /** The clock's time. */
  now(): number;
  /** The deadlines of the keys that have one (epoch ms). */
  readonly deadlines: ReadonlyMap<string, number>;
  /** The values, by cell (the array is replaced when the store is cleared). */
  values(): readonly unknown[];
}

/** A scan of the memory backend: a live iterator of the Map, which survives inserts and deletes with exactly SCAN's guarantee. */
export class MemoryScan implements BackendScan {
  readonly #backend: ScanSource;
  #entries: IterableIterator<[string, number]> | undefined;
  readonly #match: ((key: string) => boolean) | undefined;

  constructor(backend: ScanSource, entries: IterableIterator<[string, number]>, match: ((key: string) => boolean) | undefined) {
    this.#backend = backend;
    this.#entries = entries;
    this.#match = match;
  }

  next(count: number, out: unknown[]): boolean {
    const entries = this.#entries;
    if (entries === undefined) return true;
    const match = this.#match;
    const backend = this.#backend;
    const now = backend.now();
    const deadlines = backend.deadlines;
    const values = backend.values();
    let found = 0;
    for (let visits = Math.max(count * SCAN_VISITS_PER_ENTRY, MIN_SCAN_VISITS); found < count && visits > 0; visits--) {
      const step = entries.next();
      if (step.done === true) {
        this.#entries = undefined;
        return true;
      }
      const [key, cell] = step.value;
      if (match !== undefined && !match(key)) continue;
      // A key whose deadline has passed is left out (its expiry is the actor's to make).
      const at = deadlines.size === 0 ? undefined : deadlines.get(key);
      if (at !== undefined && at <= now) continue;
      out.push(key, values[cell]);
      found++;
    }
    return false;
  }

  close(): void {
    this.#entries = undefined;
  }
}

/**
 * A scan of one key (a glob without wildcards): one chunk, the key's value if present.
 * @param key - the key
 * @param read - its value now (`undefined`: absent)
 * @returns the scan
 */
export function oneKeyScan(key: string, read: () => unknown): BackendScan {
  return {
    next: (_count, out) => {
      const value = read();
      if (value !== undefined) out.push(key, value);
      return true;
    },
    close: () => {},
  };
}

/**
 * Visits the keys of the backend's map that match and whose deadline has not passed.
 * @param map - key → cell
 * @param deadlines - key → epoch ms, for keys with a TTL
 * @param now - the clock's reading
 * @param match - the compiled glob (every key without one)
 * @param visit - called with each live key and its cell
 */
export function walkLive(
  map: Map<string, number>,
  deadlines: Map<string, number>,
  now: number,
  match: ((key: string) => boolean) | undefined,
  visit: (key: string, cell: number) => void,
): void {
  // Expired keys are skipped, not removed: removing a million of them here would hold
  // the actor; the expiry queue removes them a slice at a time. (forEach: the fastest
  // walk of a Map, ~1.5× a for-of over its entries.)
  map.forEach((cell, key) => {
    if (match !== undefined && !match(key)) return;
    if (deadlines.size !== 0) {
      const at = deadlines.get(key);
      if (at !== undefined && at <= now) return;
    }
    visit(key, cell);
  });
}
