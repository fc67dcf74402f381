import type { BackendContext } from '../backends/backend.js';
import type { ConnectionCache } from '../cache-types.js';
import type { KeyChange } from '../types.js';
import { bucketOf, bumpStamp, createStampTable, EPOCH } from './stamp-table.js';

/** A child's connection, as its near cache needs it: a way to send invalidations in order with its replies. */
interface Invalidatable {
  invalidate?(keys: string[] | null): void;
}

/** What the actor tracks of one child's near cache: the keys it filled, so that only those are invalidated. */
interface ChildCache {
  readonly conn: Invalidatable;
  readonly filled: Set<string>;
  /** Past this many tracked keys, the child is told to drop everything and tracking starts over. */
  readonly limit: number;
}

/**
 * @internal The actor's side of every near cache. Workers share the stamp table
 * with it: a key's bucket is bumped in the turn of each write to it, before the
 * write is answered. Children have no shared memory: each is sent, in order with
 * its replies, the keys it filled that changed since (as Redis's client tracking does).
 */
export class NearCaches {
  readonly #follow: (active: boolean) => unknown;
  #table: Int32Array | undefined;
  readonly #workers = new Set<object>();
  readonly #children = new Map<object, ChildCache>();

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
   * The backend's context, seen through the near caches: every change (and every
   * key Redis's client tracking says changed) is stamped or sent to the children
   * first, in the turn that reports it, and changes are wanted while a cache exists.
   * @param context - the actor's context
   * @returns the context to open the backend with
   */
  around(context: Omit<BackendContext, 'invalidated'>): BackendContext {
    const emit = context.emitChange;
    // A plain object (not a prototype chain over the actor's): the memory backend reads it on every write.
    return {
      namespace: context.namespace,
      clock: context.clock,
      emitChange: (change: KeyChange) => {
        if (this.active) change.type === 'clear' ? this.changed(null) : this.changedKey(change.key);
        emit(change);
      },
      emitMessage: context.emitMessage,
      emitChannelMessage: context.emitChannelMessage,
      emitPatternMessage: context.emitPatternMessage,
      get watchingKeys() {
        return context.watchingKeys;
      },
      // The memory backend reports a write nobody watches with its key alone (no change object to build).
      keyWritten: (key: string) => {
        if (this.active) this.changedKey(key);
      },
      invalidated: (keys: readonly string[] | null) => this.changed(keys),
      requestExpiry: context.requestExpiry,
      changesLost: context.changesLost,
    };
  }

  /**
   * Serves a client's near cache from now on.
   * @param conn - its connection (a child's sends invalidations)
   * @param cache - its settings, and how to tell it its cache is on
   */
  open(conn: object, cache: ConnectionCache): void {
    if (this.#children.has(conn) || this.#workers.has(conn)) return;
    if (!this.active) this.#setFollowing(true);
    if (cache.kind === 'worker') {
      this.#workers.add(conn);
      this.#table ??= createStampTable();
      cache.open(this.#table);
    } else {
      this.#children.set(conn, { conn: conn as Invalidatable, filled: new Set(), limit: cache.config.maxEntries * 2 });
      cache.open(undefined);
    }
  }

  /**
   * A client went away.
   * @param conn - its connection
   */
  close(conn: object): void {
    const wasActive = this.active;
    this.#workers.delete(conn);
    this.#children.delete(conn);
    if (!wasActive || this.active) return;
    // From now on no write is stamped, yet a worker that left may still read its
    // cache (detached: its port's close not handled yet; sync code never yields).
    // Moving the epoch makes every entry filled so far stale for good.
    if (this.#table) bumpStamp(this.#table, EPOCH);
    this.#setFollowing(false);
  }

  /**
   * A child read a key to fill its cache: tell it when that key changes.
   * @param conn - the connection
   * @param key - the key
   */
  filled(conn: object, key: string): void {
    const child = this.#children.get(conn);
    if (!child) return;
    if (child.filled.size >= child.limit) {
      child.filled.clear();
      child.conn.invalidate?.(null);
    }
    child.filled.add(key);
  }

  /**
   * Keys changed (null: every key, a `clear`): stamp them for workers and tell
   * the children that hold them. Runs in the turn of the write, before its reply.
   * @param keys - the keys, or null
   */
  changed(keys: readonly string[] | null): void {
    if (keys !== null) {
      for (const key of keys) this.changedKey(key);
      return;
    }
    if (this.#table) bumpStamp(this.#table, EPOCH);
    for (const child of this.#children.values()) {
      child.filled.clear();
      child.conn.invalidate?.(null);
    }
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

  #setFollowing(active: boolean): void {
    try {
      const done = this.#follow(active);
      // Redis unreachable: the caches then hear only of this store's own writes, until it is back.
      if (done instanceof Promise) done.catch(() => {});
    } catch {}
  }
}
