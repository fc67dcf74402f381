import type { Clock } from '../clock.js';
import type { Entry, KeyChange, LockRef, Topic, TransactionOp } from '../types.js';

/** A result that a backend may give at once (memory) or later (Redis). */
export type MaybePromise<TValue> = TValue | Promise<TValue>;

/** What the actor hands a backend when it opens it. */
export interface BackendContext {
  readonly namespace: string;
  readonly clock: Clock;
  /** Routes a key change to the subscribers of this process. */
  emitChange(change: KeyChange): void;
  /** Routes a published message to the subscribers of this process; returns how many received it. */
  emitMessage(channel: string, data: unknown): number;
  /** Routes a message to the subscribers of exactly this channel (for backends that match patterns themselves). */
  emitChannelMessage(channel: string, data: unknown): void;
  /** Routes a message to the subscribers of one pattern. */
  emitPatternMessage(pattern: string, channel: string, data: unknown): void;
  /** True when key changes are wanted: a subscriber of this process watches keys (`watch` or `changes`). */
  readonly watchingKeys: boolean;
  /**
   * A key was set, deleted or expired while {@link BackendContext.watchingKeys} was false
   * (a backend that reports its own writes calls it instead of building a change nobody
   * routes): near caches still hear of the write, in its turn.
   */
  keyWritten?(key: string): void;
  /**
   * Tells the actor that keys changed in a way it did not see as a change event
   * (Redis client tracking: another process wrote them), so that near caches
   * of workers drop them; `null` means every key (a flush, a lost connection).
   */
  invalidated(keys: readonly string[] | null): void;
  /**
   * The backend's change feed lost the changes after revision `after` and before
   * `oldest` (Redis: a resume found them in neither the stream nor pub/sub): the
   * actor ends every `changes` subscription with `ERR_COMPACTED`, brings every
   * watch to its key's current value, and drops every near-cached value.
   */
  changesLost?(after: number, oldest: number): void;
  /** Asks the actor to call {@link Backend.expireDue} in its turn (never re-entrantly). */
  requestExpiry(): void;
}

/** Options of a backend write. */
export interface BackendSetOptions {
  ttlMs?: number | undefined;
  ifRevision?: number | undefined;
  /** Keep the key's TTL (`update` and `apply`) instead of removing it as a plain `set` does. */
  keepTtl?: boolean | undefined;
  /** Write only while this lock is held with this token (else `ERR_CONFLICT`, nothing written). */
  fence?: LockRef | undefined;
}

/**
 * One request for a lock, as the actor hands it to {@link BackendLocks.acquire}.
 * The backend calls `grant` once, when the lock is this waiter's, unless the
 * waiter was cancelled first.
 */
export interface LockWaiter {
  readonly name: string;
  /** The lease, in ms from the grant. */
  readonly ttlMs: number;
  /** The lock is this waiter's, with this fencing token. */
  grant(token: number): void;
}

/**
 * The locks of a backend: leases, fencing tokens (strictly increasing per name;
 * one counter for all names will do) and first-come-first-served waiters. On
 * Redis they live in Redis, so every process sharing the namespace shares them.
 */
export interface BackendLocks {
  /**
   * Queues `waiter`: it is granted at once when the lock is free and nobody waits
   * before it, else when the holder releases, or its lease runs out, and the
   * waiters before it have had their turn. Waiting costs no polling.
   */
  acquire(waiter: LockWaiter): MaybePromise<void>;
  /** Withdraws a waiter not granted yet (its wait timed out, was aborted, or its client went away). */
  cancel(waiter: LockWaiter): MaybePromise<void>;
  /** Releases the lock if `token` still holds it; true when this call released it. */
  release(name: string, token: number): MaybePromise<boolean>;
  /** Renews the lease for `ttlMs` from now if `token` still holds it; false when it does not. */
  extend(name: string, token: number, ttlMs: number): MaybePromise<boolean>;
}

/**
 * One open scan of a backend (see {@link Backend.scan}): it reads the keyspace
 * a chunk at a time, with Redis `SCAN`'s guarantee (a key present from the
 * first chunk to the last is read at least once; a key added or removed
 * meanwhile may or may not be).
 */
export interface BackendScan {
  /**
   * Reads the next chunk: about `count` live entries (fewer, even none, when
   * few keys match), pushed onto `out` as key, value, key, value…
   * @param count - how many entries to read at most
   * @param out - where the entries go
   * @returns true when the scan is complete: nothing more will be read
   */
  next(count: number, out: unknown[]): MaybePromise<boolean>;
  /** Lets go of what the scan holds; it is not read again. */
  close(): void;
}

/**
 * Where the actor keeps its state. The actor calls one method at a time, in
 * command order; a method may answer at once or with a promise. A backend
 * reports every change it makes (or hears of) through {@link BackendContext}.
 */
export interface Backend {
  /** A short name for messages and stats: `'memory'`, `'redis'`. */
  readonly kind: string;
  /**
   * True when values handed out are the stored objects themselves, so the store
   * must copy them before they reach user code.
   */
  readonly sharesValues: boolean;
  /** True when blocking the main thread on this backend could deadlock (any I/O backend). */
  readonly isAsync: boolean;
  /** Opens the backend for one store (connects, loads scripts); called once, before any other call. */
  open(context: BackendContext): MaybePromise<void>;
  /** The key's value and revision, in an object made for the caller (`getEntry` answers it as it is). */
  get(key: string): MaybePromise<Entry | undefined>;
  /** Writes; resolves to the new revision, or throws `ERR_CONFLICT` when `ifRevision` does not hold. */
  set(key: string, value: unknown, options: BackendSetOptions): MaybePromise<number>;
  /** Removes a key; `fence` as in {@link BackendSetOptions}. */
  delete(key: string, ifRevision?: number, fence?: LockRef): MaybePromise<boolean>;
  /** True when the key exists (and has not expired). */
  has(key: string): MaybePromise<boolean>;
  /** The key's remaining time to live in ms: `Infinity` without a TTL, `undefined` when absent. */
  ttl(key: string): MaybePromise<number | undefined>;
  /** The keys that match `pattern` (all keys without one). */
  keys(pattern: string | undefined): MaybePromise<string[]>;
  /** The matching entries, in a Map made for the caller (its values are the stored ones). */
  entries(pattern: string | undefined): MaybePromise<Map<string, unknown>>;
  /** Opens a scan of the keys that match `pattern` (all keys without one); the actor keeps it between chunks. */
  scan(pattern: string | undefined): BackendScan;
  /** Removes every key of the store's namespace. */
  clear(): MaybePromise<void>;
  /** Adds `by` to a number (absent = 0), keeping its TTL; `fence` as in {@link BackendSetOptions}. */
  incr(key: string, by: number, fence?: LockRef): MaybePromise<number>;
  /** The values of `keys` (stored ones: the store copies them), read at one instant. */
  getMany(keys: readonly string[]): MaybePromise<unknown[]>;
  /**
   * Applies `ops` all or none, atomically (one change event per write, consecutive
   * revisions); a failed precondition or fence throws `ERR_CONFLICT` naming the key
   * (or the lock) and writes nothing.
   * @returns per op, its new revision (`check`: the key's current one; `delete` of an absent key: 0)
   */
  transaction(ops: readonly TransactionOp[], fence?: LockRef): MaybePromise<number[]>;
  /**
   * The retained change events with a revision above `since` whose key matches
   * `pattern` (a `clear` always matches), in revision order; throws
   * `compactedError(since, oldest)` when `since + 1` is older than the oldest retained.
   */
  changesSince(since: number, pattern: string | undefined): MaybePromise<KeyChange[]>;
  /** The matching entries (stored values: the store copies them) and the revision they were read at, in one atomic step. */
  snapshot(pattern: string | undefined): MaybePromise<{ revision: number; entries: Map<string, Entry> }>;
  /** The backend's locks. */
  readonly locks: BackendLocks;
  /** Replaces a value by `op(old)` atomically, keeping its TTL; `undefined` deletes. Resolves to the new value. */
  apply(key: string, op: (old: unknown) => unknown): MaybePromise<unknown>;
  /** Publishes; resolves to the number of receivers. */
  publish(channel: string, data: unknown): MaybePromise<number>;
  /** Called when a topic gains its first or loses its last subscriber in this process. */
  interest(topic: Topic, active: boolean): MaybePromise<void>;
  /** The number of keys, for `stats()`. */
  size(): MaybePromise<number>;
  /**
   * Expires what is due (memory backend): a bounded amount per call, so that
   * many keys expiring together never hold the actor long; what is left asks
   * for another turn through {@link BackendContext.requestExpiry}.
   */
  expireDue?(): void;
  /** Lets go of everything the backend holds (connections, timers). */
  close(): MaybePromise<void>;
}

/** @internal TODO(issue 12): a placeholder until each backend has its locks. */
export function notBuiltLocks(): BackendLocks {
  const fail = (): never => {
    throw new Error('kvbus: locks are not built yet (issue 12)');
  };
  return { acquire: fail, cancel: fail, release: fail, extend: fail };
}
