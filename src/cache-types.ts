// Public types of the near cache (SPEC §7): workers and children read cached keys without a message.

/** The near cache of a worker or child process: which keys it keeps, and how many. */
export interface CacheOptions {
  /** The globs of the keys to keep once read (Redis-style, as `keys()` takes). */
  keys: string | string[];
  /**
   * The most entries kept; the least recently used goes first.
   * @defaultValue 10 000
   */
  maxEntries?: number;
}

/** The counters of one client's near cache, in {@link StoreStats.cache} when `stats()` is called from that client. */
export interface CacheStats {
  /** Reads answered from the cache, with no message. */
  hits: number;
  /** Reads of cacheable keys that went to the store. */
  misses: number;
  /** Entries dropped to stay within `maxEntries`. */
  evictions: number;
  /** Entries held now. */
  entries: number;
}

/**
 * A near cache's settings as the store sends them to its client: the
 * checked globs, the bound, and for a worker the store's stamp table (shared memory).
 */
export interface CacheConfig {
  keys: string[];
  maxEntries: number;
  /** Workers only: the stamp table the actor bumps before it answers a write (see cache/stamp-table.ts). */
  table?: Int32Array;
}

/** A client's near cache as the pool hands it to the store: its settings, and how to tell the client its cache is on. */
export interface ConnectionCache {
  readonly kind: 'worker' | 'process';
  readonly config: CacheConfig;
  /** Sends the client its settings (a worker's with the stamp table, on its sync port), before any reply. */
  open(table: Int32Array | undefined): void;
}
