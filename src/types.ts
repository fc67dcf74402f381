import type { Observable } from 'rxjs';
import type { CacheStats } from './cache-types.js';
import type { ChangeEvent } from './change-event.js';
import type { Lock, LockOptions, LockRef, TransactionOp, TransactionOptions } from './coordination-types.js';
import type { ChangesOptions, Snapshot } from './feed-types.js';

export type { CacheOptions, CacheStats } from './cache-types.js';
export type { ChangeEvent } from './change-event.js';
export type { Lock, LockOptions, LockRef, TransactionOp, TransactionOptions } from './coordination-types.js';
export type { ChangesOptions, HistoryOptions, Snapshot } from './feed-types.js';

/**
 * What kvbus's subscription methods return: an RxJS `Observable` that is also
 * an `AsyncIterable` (`for await (const m of store.channel('c'))`; breaking out
 * unsubscribes). A loop's values wait in a bounded buffer (see `docs/conventions.md`).
 */
export type KvbusObservable<T> = Observable<T> & AsyncIterable<T>;

/** Options of {@link Store.set}. */
export interface SetOptions {
  /** Expire the key after this many milliseconds (a positive finite number). Without it, an existing TTL is removed. */
  ttlMs?: number;
  /** Compare-and-set: write only if the key's revision is still this one (`0` = only if the key is absent). */
  ifRevision?: number;
  /** Fencing: write only while this lock is still held with this token, else `ERR_CONFLICT` and nothing changes. */
  fence?: LockRef;
  /** Stops waiting (rejects with `ERR_ABORTED`) when aborted; a write already sent may still be applied. */
  signal?: AbortSignal;
}

/** Options of {@link Store.delete}. */
export interface DeleteOptions {
  /** Delete only if the key's revision is still this one. */
  ifRevision?: number;
  /** Fencing: delete only while this lock is still held with this token, else `ERR_CONFLICT`. */
  fence?: LockRef;
  /** Stops waiting (rejects with `ERR_ABORTED`) when aborted; a delete already sent may still be applied. */
  signal?: AbortSignal;
}

/** Options of {@link Store.incr}. */
export interface IncrOptions {
  /** Fencing: add only while this lock is still held with this token, else `ERR_CONFLICT`. */
  fence?: LockRef;
  /** Stops waiting (rejects with `ERR_ABORTED`) when aborted; an incr already sent may still be applied. */
  signal?: AbortSignal;
}

/** Options of {@link Store.scan}. */
export interface ScanOptions {
  /**
   * About how many entries each chunk holds: the actor is held for one chunk at a time.
   * @defaultValue 1 000
   */
  count?: number;
  /** Ends the loop (its next step rejects with `ERR_ABORTED`) and releases the scan when aborted. */
  signal?: AbortSignal;
}

/** Options of {@link Store.update}. */
export interface UpdateOptions {
  /**
   * How many times to retry after a conflict before rejecting with `ERR_CONFLICT`.
   * @defaultValue `Infinity` — every conflict means another writer succeeded, so the system always progresses.
   */
  retries?: number;
  /** Gives up (rejects with `ERR_ABORTED`) between attempts and while waiting; a write already sent may still be applied. */
  signal?: AbortSignal;
}

/** A stored value with its revision. */
export interface Entry<TValue = unknown> {
  value: TValue;
  /** The store-wide revision of the write that produced this value. */
  revision: number;
}

/** What a subscription listens to: a channel, a channel glob, a watched key, or a key glob for changes. */
export type TopicKind = 'channel' | 'pattern' | 'key' | 'changes';

/** A subscription target, as the store and its backends see it. */
export interface Topic {
  kind: TopicKind;
  name: string;
}

/** A change to the keyspace, as a backend reports it (see {@link BackendContext.emitChange}). */
export type KeyChange =
  | { type: 'set'; key: string; value: unknown; revision: number }
  | { type: 'delete' | 'expire'; key: string; revision: number }
  | { type: 'clear'; key: '*'; revision: number };

/** One message of {@link Store.pattern}: the channel it was published on, and its data. */
export interface PatternMessage<TData = unknown> {
  channel: string;
  data: TData;
}

/**
 * A client joining or leaving the store, as seen by {@link MainStore.peers}:
 * `'join'` when it is served, `'exit'` when it is gone, and `'rejected'` when
 * a worker or child that tried to connect was refused (its hello was
 * malformed, or it was already connected); a rejected client never joins.
 */
export interface PeerEvent {
  type: 'join' | 'exit' | 'rejected';
  /** The client's id (a rejected one gets its own, never used again). */
  id: number;
  kind: 'worker' | 'process';
  exitCode?: number;
  /** The signal that ended a child process (it then has no exit code). */
  signal?: string;
  /** Why kvbus refused (`'rejected'`) or cut off (`'exit'`) this client; absent for an ordinary exit. */
  reason?: string;
  /** On `'rejected'`: the worker's thread id, when it is known. */
  threadId?: number;
  /** On `'rejected'` and on a cut-off `'exit'`: the child's process id. */
  pid?: number;
}

/** A worker or child connected to a store, from {@link MainStore.clients}. */
export interface ClientInfo {
  /** The id `peers()` events carry. */
  id: number;
  kind: 'worker' | 'process';
  /** A worker's thread id. */
  threadId?: number;
  /** A child's process id. */
  pid?: number;
  /** Its subscriptions in the store (one per topic, however many local observers). */
  subscriptions: number;
  /** Events sent and not yet acknowledged, plus those waiting to be sent. */
  buffered: number;
  /** Events its buffer dropped (overflow policy, or unreadable). */
  dropped: number;
}

/** Counters of a store, from {@link Store.stats}. */
export interface StoreStats {
  /**
   * Live keys in this namespace. (Memory backend: when very many keys expire at
   * once, the actor removes them a slice per turn; until then they are counted,
   * as Redis's DBSIZE counts keys it has not evicted yet. They are never returned.)
   */
  keys: number;
  /** Connected remote clients (workers and child processes). */
  clients: number;
  /** Main-thread observers, plus one per remote client and channel, pattern, watched key or changes glob. */
  subscriptions: number;
  /** Commands the actor has applied. */
  commands: number;
  /** Commands waiting in the actor's mailbox. */
  queueDepth: number;
  /** Messages dropped by the overflow policy of remote subscriber buffers. */
  dropped: number;
  /** Malformed messages received from remote clients. */
  malformed: number;
  /** This client's near cache, when `stats()` is called from a worker or child that has one. */
  cache?: CacheStats;
}

/** What a remote subscriber's buffer does when it is full. */
export type OverflowPolicy = 'drop-oldest' | 'drop-newest' | 'error';

/** The bounded buffer each remote subscriber gets. */
export interface SubscriberBufferOptions {
  /** @defaultValue 10 000 messages */
  size: number;
  /** @defaultValue `'drop-oldest'` */
  overflow: OverflowPolicy;
}

/** A handler of {@link Store.onSubscriberReceive}; it may be async. */
export type ReceiveHandler<TData = unknown> = (data: TData) => void | Promise<void>;

/** An operation registered with {@link MainStore.defineOp}: the next value from the old one (`undefined` deletes). */
// biome-ignore lint/suspicious/noExplicitAny: an op registered without types takes and returns anything, as `apply` callers expect
export type StoreOp<TValue = any, TArg = any> = (old: TValue | undefined, arg: TArg) => TValue | undefined;

/** The blocking API of {@link Store.sync}; no `lock` on purpose (a worker blocked waiting for one could not release what its own thread holds: a deadlock). */
export interface SyncStore {
  /** {@link Store.get}, blocking: `undefined` when the key is absent. */
  get<TValue = unknown>(key: string): TValue | undefined;
  /** Reads a value; `defaultValue` when the key is absent (the value is typed as the default). */
  get<TValue = unknown>(key: string, defaultValue: TValue): TValue;
  /** {@link Store.getEntry}, blocking. */
  getEntry<TValue = unknown>(key: string): Entry<TValue> | undefined;
  /** {@link Store.set}, blocking. */
  set(key: string, value: unknown, options?: SetOptions): number;
  /** {@link Store.delete}, blocking. */
  delete(key: string): boolean;
  /** {@link Store.has}, blocking. */
  has(key: string): boolean;
  /** {@link Store.incr}, blocking. */
  incr(key: string, by?: number): number;
}

/** The store API, the same in the main thread, in workers and in child processes. */
export interface Store extends AsyncDisposable {
  /** Reads a value; resolves to `undefined` when the key is absent. */
  get<TValue = unknown>(key: string): Promise<TValue | undefined>;
  /** Reads a value; resolves to `defaultValue` when absent (typed as the default: `get('n', 0)` is a `Promise<number>`). */
  get<TValue = unknown>(key: string, defaultValue: TValue): Promise<TValue>;
  /** Reads a value with its revision; `undefined` when absent. */
  getEntry<TValue = unknown>(key: string): Promise<Entry<TValue> | undefined>;
  /** Writes a value; resolves to its new revision. */
  set(key: string, value: unknown, options?: SetOptions): Promise<number>;
  /** Removes a key; resolves to `true` if one was removed. */
  delete(key: string, options?: DeleteOptions): Promise<boolean>;
  /** Tells whether a key is present. */
  has(key: string): Promise<boolean>;
  /**
   * A key's remaining time to live, in ms: `Infinity` when it has no TTL,
   * `undefined` when it is absent (Redis's `PTTL`, without its -1 and -2).
   */
  ttl(key: string): Promise<number | undefined>;
  /** Lists the keys that match a Redis-style glob (all keys without one). */
  keys(pattern?: string): Promise<string[]>;
  /** A snapshot copy of the matching entries; never the live store. */
  getAll<TValue = unknown>(pattern?: string): Promise<Map<string, TValue>>;
  /**
   * The matching entries (every entry without a glob) as `[key, value]` copies,
   * read a chunk of about `count` at a time, so that no read holds the store
   * long whatever its size. As Redis `SCAN`: a key present for the whole scan
   * is returned at least once; keys added or removed meanwhile may or may not be.
   * Breaking out of the loop releases the scan.
   * @example
   * for await (const [key, value] of store.scan('user:*', { count: 500 })) console.log(key, value);
   */
  scan<TValue = unknown>(glob?: string, options?: ScanOptions): AsyncIterable<[string, TValue]>;
  /** Removes every key of this namespace. */
  clear(): Promise<void>;
  /** Atomically adds `by` to a number (absent counts as 0); resolves to the new number. */
  incr(key: string, by?: number, options?: IncrOptions): Promise<number>;
  /**
   * Reads several keys at one instant: their values (`undefined` where absent), in the order of `keys`.
   */
  getMany<TValue = unknown>(keys: readonly string[]): Promise<Array<TValue | undefined>>;
  /**
   * Applies every op or none, atomically: no client ever observes part of it. A failed
   * `check` or `ifRevision` rejects with `ERR_CONFLICT` naming its key, and nothing is
   * written. Each write is one change event, with consecutive revisions.
   * @returns per op, the new revision (`check`: the key's current one; a `delete` of an absent key: 0)
   */
  transaction(ops: readonly TransactionOp[], options?: TransactionOptions): Promise<number[]>;
  /**
   * Acquires a lock with a lease, waiting first come, first served. A lock whose holder
   * exits, or whose lease runs out, goes to the next waiter. Locks are not reentrant.
   */
  lock(name: string, options?: LockOptions): Promise<Lock>;
  /**
   * Runs `fn` holding lock `name`, releases it however `fn` ends, and resolves to what `fn` resolved to
   * (also when the lease ran out meanwhile: pass `{ fence: lock }` to `fn`'s writes, which the store then refuses).
   */
  withLock<TResult>(name: string, fn: (lock: Lock) => TResult | Promise<TResult>, options?: LockOptions): Promise<TResult>;
  /** Optimistic read-modify-write with `fn` run here, retried on conflict; `undefined` from `fn` deletes. */
  update<TValue = unknown>(
    key: string,
    fn: (old: TValue | undefined) => TValue | undefined | Promise<TValue | undefined>,
    options?: UpdateOptions,
  ): Promise<TValue | undefined>;
  /** Runs an operation registered in the main thread atomically inside the actor. */
  apply<TValue = unknown>(key: string, opName: string, arg?: unknown): Promise<TValue | undefined>;
  /** Delivers `data` to every subscriber of `channel`; resolves to the number of receivers. */
  publish(channel: string, data: unknown): Promise<number>;
  /** A hot observable of one channel. */
  channel<TData = unknown>(name: string): KvbusObservable<TData>;
  /** A hot observable of every channel matching a glob. */
  pattern<TData = unknown>(glob: string): KvbusObservable<PatternMessage<TData>>;
  /** The current value of a key, then each change (`undefined` when absent). */
  watch<TValue = unknown>(key: string): KvbusObservable<TValue | undefined>;
  /**
   * Every change to keys matching the glob (all keys without one); with `since`,
   * first the retained changes after that revision, then live ones, none missed or repeated.
   */
  changes<TValue = unknown>(glob?: string, options?: ChangesOptions): KvbusObservable<ChangeEvent<TValue>>;
  /**
   * The matching entries and the revision they were read at, in one atomic step:
   * follow it with `changes(glob, { since: revision })` to miss nothing.
   */
  snapshot<TValue = unknown>(glob?: string): Promise<Snapshot<TValue>>;
  /** Seed-compatible callback subscription; returns the unsubscribe function. */
  onSubscriberReceive<TData = unknown>(channel: string, handler: ReceiveHandler<TData>): () => void;
  /** Connected clients joining and leaving (main thread only; elsewhere the observable errors). */
  peers(): KvbusObservable<PeerEvent>;
  /** Counters of the store. */
  stats(): Promise<StoreStats>;
  /** Blocking access for CPU-bound worker code (see {@link SyncStore}). */
  readonly sync: SyncStore;
  /** Closes this store (main thread) or this client's connection (worker, child). */
  close(): Promise<void>;
  /** Calls {@link Store.close}: `await using store = createStore()` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>;
}
