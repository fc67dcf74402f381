import type { CacheConfig, CacheStats } from '../cache-types.js';
import type { FillReply } from '../commands/cache.js';
import { matchAny } from './cache-options.js';
import { bucketOf, EPOCH } from './stamp-table.js';

/** One kept key: its entry (or its absence) and the stamps it was filled at. */
interface CacheEntry {
  readonly present: boolean;
  readonly value: unknown;
  readonly revision: number;
  /** Workers: the bucket's index, and the bucket's and the epoch's stamps when the fill was sent. */
  readonly at: number;
  readonly low: number;
  readonly high: number;
  readonly epochLow: number;
  readonly epochHigh: number;
}

/** What a client notes before it sends a fill, to tell after the answer whether anything changed meanwhile. */
export interface FillTicket {
  readonly at: number;
  readonly low: number;
  readonly high: number;
  readonly epochLow: number;
  readonly epochHigh: number;
  /** Children: the invalidations received so far. */
  readonly invalidations: number;
}

/**
 * @internal The near cache of one worker or child: kept entries in least
 * recently used order (a `Map`, whose order is insertion order: a hit moves
 * its entry to the end), bounded by `maxEntries`.
 * In a worker, an entry is served only while its bucket's stamp and the epoch
 * in the store's stamp table are those it was filled at; a fill whose bucket
 * moved between the request and the answer is not kept. In a child, the store
 * sends invalidations in order with its replies: an entry is dropped when one
 * names it, and a fill is not kept if any invalidation came meanwhile.
 */
export class ClientCache {
  /** undefined until the store says (null: this client has no cache). */
  #config: CacheConfig | null | undefined;
  #match: (key: string) => boolean = () => false;
  #table: Int32Array | undefined;
  #max = 0;
  readonly #entries = new Map<string, CacheEntry>();
  /** The entry last moved to the end: a run of hits on one key moves nothing. */
  #last: CacheEntry | undefined;
  #invalidations = 0;
  /** Set when the link to the store failed or closed: no write reaches this cache any more. */
  #stopped = false;
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  /** True once the store said whether this client has a cache. */
  get known(): boolean {
    return this.#config !== undefined;
  }

  /** True while this client has a cache (the store said so, and the link has not stopped): entries may be kept. */
  get on(): boolean {
    return this.#config != null && !this.#stopped;
  }

  /**
   * The store's settings for this client (null: no cache). Only the first counts.
   * @param config - the settings
   */
  configure(config: CacheConfig | null): void {
    if (this.#config !== undefined || this.#stopped) return;
    this.#config = config;
    if (!config) return;
    this.#match = matchAny(config.keys);
    this.#max = config.maxEntries;
    this.#table = config.table;
  }

  /**
   * Tells whether a key is one this cache keeps.
   * @param key - the key
   * @returns true when it matches the cache's globs
   */
  wants(key: string): boolean {
    return this.#match(key);
  }

  /**
   * The entry of a key, while it is still current (counted as a hit); a stale one is dropped.
   * @param key - the key
   * @returns the entry, or undefined (when the cache {@link ClientCache.wants} the key, a miss: count it and fill it)
   */
  hit(key: string): CacheEntry | undefined {
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      const table = this.#table;
      // Low halves first (see stamp-table.ts); any change means a write since the fill.
      if (
        table === undefined ||
        (Atomics.load(table, entry.at) === entry.low &&
          Atomics.load(table, entry.at + 1) === entry.high &&
          Atomics.load(table, EPOCH) === entry.epochLow &&
          Atomics.load(table, EPOCH + 1) === entry.epochHigh)
      ) {
        this.#hits++;
        if (entry !== this.#last) {
          this.#entries.delete(key);
          this.#entries.set(key, entry);
          this.#last = entry;
        }
        return entry;
      }
      this.#entries.delete(key);
    }
    return undefined;
  }

  /** Counts a read of a wanted key that goes to the store. */
  missed(): void {
    this.#misses++;
  }

  /**
   * Notes what a fill must find unchanged when its answer comes: call it before sending.
   * @param key - the key
   * @returns the ticket for {@link ClientCache.install}
   */
  ticket(key: string): FillTicket {
    const table = this.#table;
    if (table === undefined) return { at: 0, low: 0, high: 0, epochLow: 0, epochHigh: 0, invalidations: this.#invalidations };
    const at = bucketOf(key);
    return {
      at,
      low: Atomics.load(table, at),
      high: Atomics.load(table, at + 1),
      epochLow: Atomics.load(table, EPOCH),
      epochHigh: Atomics.load(table, EPOCH + 1),
      invalidations: 0,
    };
  }

  /**
   * Keeps a fill's answer, unless the key may have changed since its ticket was taken, or it has a TTL.
   * @param key - the key
   * @param ticket - taken before the fill was sent
   * @param reply - the store's answer
   */
  install(key: string, ticket: FillTicket, reply: FillReply): void {
    if (reply[0] === 2 || this.#config == null || this.#stopped) return;
    const table = this.#table;
    if (table === undefined) {
      if (ticket.invalidations !== this.#invalidations) return;
    } else if (
      Atomics.load(table, ticket.at) !== ticket.low ||
      Atomics.load(table, ticket.at + 1) !== ticket.high ||
      Atomics.load(table, EPOCH) !== ticket.epochLow ||
      Atomics.load(table, EPOCH + 1) !== ticket.epochHigh
    ) {
      return;
    }
    const present = reply[0] === 1;
    const entry: CacheEntry = {
      present,
      value: present ? reply[1] : undefined,
      revision: present ? reply[2] : 0,
      at: ticket.at,
      low: ticket.low,
      high: ticket.high,
      epochLow: ticket.epochLow,
      epochHigh: ticket.epochHigh,
    };
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#last = entry;
    if (this.#entries.size > this.#max) {
      // The first in the map's order is the least recently used.
      this.#entries.delete(this.#entries.keys().next().value!);
      this.#evictions++;
    }
  }

  /**
   * The store says these keys changed (a child's cache): drop them.
   * @param keys - the keys, or null for every key
   */
  invalidate(keys: readonly string[] | null): void {
    this.#invalidations++;
    this.#last = undefined;
    if (keys === null) this.#entries.clear();
    else for (const key of keys) this.#entries.delete(key);
  }

  /** The link to the store is gone (closed, detached, disconnected): keep and answer nothing from now on. */
  stop(): void {
    this.#stopped = true;
    this.#match = () => false;
    this.#entries.clear();
    this.#last = undefined;
  }

  /**
   * The counters, for `stats()`.
   * @returns them, or undefined when this client has no cache
   */
  stats(): CacheStats | undefined {
    if (!this.#config) return undefined;
    return { hits: this.#hits, misses: this.#misses, evictions: this.#evictions, entries: this.#entries.size };
  }
}
