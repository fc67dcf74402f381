// The Redis backend with `clientCache`: the same backend, whose reads go
// through the client-side cache (client-cache.ts) and whose writes tell that
// cache which keys to drop once they settle. The backend itself is unchanged:
// its own reads (apply's, entries') stay on the ordered command connection.
import type { Entry, LockRef, Topic, TransactionOp } from '../../types.js';
import type { Backend, BackendContext, BackendLocks, BackendScan, BackendSetOptions, MaybePromise } from '../backend.js';
import type { ClientCache } from './client-cache.js';

/** `backend` with its reads answered by `cache` (see the top of this file). */
export class ClientCachedBackend implements Backend {
  readonly #backend: Backend;
  readonly #cache: ClientCache;
  readonly #ordered: (key: string) => Promise<Entry | undefined>;

  /**
   * @param backend - the Redis backend, whose connection opens `cache`'s
   * @param cache - the client-side cache, as the backend's connection opens it
   */
  constructor(backend: Backend, cache: ClientCache) {
    this.#backend = backend;
    this.#cache = cache;
    this.#ordered = (key) => backend.get(key) as Promise<Entry | undefined>;
  }

  get kind(): string {
    return this.#backend.kind;
  }

  get sharesValues(): boolean {
    return this.#backend.sharesValues;
  }

  get isAsync(): boolean {
    return this.#backend.isAsync;
  }

  get locks(): BackendLocks {
    return this.#backend.locks;
  }

  open(context: BackendContext): MaybePromise<void> {
    const opened = this.#backend.open(context); // throws when this backend already serves a store
    this.#cache.serve(context);
    return opened;
  }

  // Reads: from the cache (a hit answers at once, with no promise).

  get(key: string): MaybePromise<Entry | undefined> {
    return this.#cache.get(key, this.#ordered);
  }

  has(key: string): MaybePromise<boolean> {
    const entry = this.#cache.get(key, this.#ordered);
    return entry instanceof Promise ? entry.then(isEntry) : entry !== undefined;
  }

  getMany(keys: readonly string[]): MaybePromise<unknown[]> {
    return this.#cache.getMany(keys) ?? this.#backend.getMany(keys);
  }

  // Writes: the cache drops their keys once they settle (see ClientCache.writing).

  set(key: string, value: unknown, options: BackendSetOptions): MaybePromise<number> {
    return this.#cache.writing([key], this.#backend.set(key, value, options), options.keepTtl ? 'keep' : options.ttlMs);
  }

  delete(key: string, ifRevision?: number, fence?: LockRef): MaybePromise<boolean> {
    return this.#cache.writing([key], this.#backend.delete(key, ifRevision, fence));
  }

  incr(key: string, by: number, fence?: LockRef): MaybePromise<number> {
    return this.#cache.writing([key], this.#backend.incr(key, by, fence), 'keep');
  }

  apply(key: string, op: (old: unknown) => unknown): MaybePromise<unknown> {
    return this.#cache.writing([key], this.#backend.apply(key, op), 'keep');
  }

  transaction(ops: readonly TransactionOp[], fence?: LockRef): MaybePromise<number[]> {
    return this.#cache.writingOps(ops, this.#backend.transaction(ops, fence));
  }

  clear(): MaybePromise<void> {
    return this.#cache.writing(null, this.#backend.clear());
  }

  // The rest, as the backend does it.

  ttl(key: string): MaybePromise<number | undefined> {
    return this.#backend.ttl(key);
  }

  keys(pattern: string | undefined): MaybePromise<string[]> {
    return this.#backend.keys(pattern);
  }

  entries(pattern: string | undefined): MaybePromise<Map<string, unknown>> {
    return this.#backend.entries(pattern);
  }

  scan(pattern: string | undefined): BackendScan {
    return this.#backend.scan(pattern);
  }

  changesSince(since: number, pattern: string | undefined) {
    return this.#backend.changesSince(since, pattern);
  }

  snapshot(pattern: string | undefined) {
    return this.#backend.snapshot(pattern);
  }

  publish(channel: string, data: unknown): MaybePromise<number> {
    return this.#backend.publish(channel, data);
  }

  interest(topic: Topic, active: boolean): MaybePromise<void> {
    return this.#backend.interest(topic, active);
  }

  size(): MaybePromise<number> {
    return this.#backend.size();
  }

  close(): MaybePromise<void> {
    return this.#backend.close();
  }
}

const isEntry = (entry: Entry | undefined): boolean => entry !== undefined;
