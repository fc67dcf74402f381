import type { CacheConfig } from '../cache-types.js';
import { bucketOf, bumpStamp, createStampTable, EPOCH } from './stamp-table.js';

/** A client connection as the near caches see it (a remote connection made with a `cache` option). */
export interface CachingConnection {
  readonly kind: string;
  /** The client's near cache settings, when it has one. */
  readonly cache?: CacheConfig | undefined;
  /** Tells the client its cache is on; a worker gets the stamp table. */
  cacheOpened?(table: Int32Array | undefined): void;
  /** Sends a child process the keys to drop (null: all), in order with its replies and events. */
  invalidate?(keys: string[] | null): void;
}

/** What the actor tracks of one child's near cache: the keys it filled, so that only those are invalidated. */
interface ChildCache {
  readonly conn: CachingConnection;
  readonly filled: Set<string>;
  /** Past this many tracked keys, the child is told to drop everything and tracking starts over. */
  readonly limit: number;
}

/**
 * @internal The actor's side of every near cache. Workers share the stamp table
 * with it: {@link NearCaches.changed} bumps a key's bucket before the write is
 * answered. Children have no shared memory: each is sent, in order with its
 * replies, the keys it filled that changed since (as Redis's client tracking does).
 */
export class NearCaches {
  readonly #follow: (active: boolean) => unknown;
  #table: Int32Array | undefined;
  readonly #workers = new Set<CachingConnection>();
  readonly #children = new Map<CachingConnection, ChildCache>();

  /**
   * @param follow - asks the backend for every change (true) or no longer (false): on a
   *   backend shared with other processes (Redis), their writes reach the caches this way
   */
  constructor(follow: (active: boolean) => unknown) {
    this.#follow = follow;
  }

  /** True while any client has a near cache: the backend must then report every change. */
  get active(): boolean {
    return this.#workers.size > 0 || this.#children.size > 0;
  }

  /**
   * A client connected: if it has a near cache, start serving it.
   * @param conn - the connection
   */
  open(conn: CachingConnection): void {
    const cache = conn.cache;
    if (!cache || this.#children.has(conn) || this.#workers.has(conn)) return;
    if (!this.active) this.#setFollowing(true);
    if (conn.kind === 'worker') {
      this.#workers.add(conn);
      this.#table ??= createStampTable();
      conn.cacheOpened?.(this.#table);
    } else {
      this.#children.set(conn, { conn, filled: new Set(), limit: cache.maxEntries * 2 });
      conn.cacheOpened?.(undefined);
    }
  }

  /**
   * A client went away.
   * @param conn - the connection
   */
  close(conn: CachingConnection): void {
    if (!conn.cache) return;
    const wasActive = this.active;
    if (conn.kind === 'worker') this.#workers.delete(conn);
    else this.#children.delete(conn);
    if (wasActive && !this.active) this.#setFollowing(false);
  }

  #setFollowing(active: boolean): void {
    try {
      const done = this.#follow(active);
      // Redis unreachable: the caches then hear only of this store's own writes, until it is back.
      if (done instanceof Promise) done.catch(() => {});
    } catch {}
  }

  /**
   * A child read a key to fill its cache: tell it when that key changes.
   * @param conn - the connection
   * @param key - the key
   */
  filled(conn: CachingConnection, key: string): void {
    const child = this.#children.get(conn);
    if (!child) return;
    if (child.filled.size >= child.limit) {
      child.filled.clear();
      conn.invalidate?.(null);
    }
    child.filled.add(key);
  }

  /**
   * Keys changed (null: every key, a `clear`): stamp them for workers and tell
   * the children that hold them. Runs in the turn of the write, before its reply.
   * @param keys - the keys, or null
   */
  changed(keys: readonly string[] | null): void {
    const table = this.#table;
    if (keys === null) {
      if (table) bumpStamp(table, EPOCH);
      for (const child of this.#children.values()) {
        child.filled.clear();
        child.conn.invalidate?.(null);
      }
      return;
    }
    for (const key of keys) this.changedKey(key);
  }

  /**
   * One key changed (the common case, without an array).
   * @param key - the key
   */
  changedKey(key: string): void {
    if (this.#table) bumpStamp(this.#table, bucketOf(key));
    if (this.#children.size === 0) return;
    for (const child of this.#children.values()) {
      if (child.filled.delete(key)) child.conn.invalidate?.([key]);
    }
  }
}
