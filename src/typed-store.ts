// Type-level only: the view of a store that a schema types (createStore<S>(),
// getStore<S>()). The object behind it is the same store; only its signatures change.
import type { ChannelData, GlobData, GlobValue, HasChannels, HasKeys, KeyValue, SchemaChannel, SchemaKey, StoreSchema } from './schema.js';
import type {
  ChangeEvent,
  ChangesOptions,
  Entry,
  KvbusObservable,
  PatternMessage,
  ReceiveHandler,
  ScanOptions,
  SetOptions,
  Snapshot,
  Store,
  SyncStore,
  TransactionOptions,
  UpdateOptions,
} from './types.js';

/**
 * A store whose keys and channels a {@link StoreSchema} types: `createStore<S>()`
 * returns `TypedStore<S, MainStore>`, `getStore<S>()` a `TypedStore<S>`; without a
 * schema (`S` is `StoreSchema` itself) it is `TBase`, untouched. When `S`
 * declares `keys`, `get`, `getEntry`, `set`, `update`, `watch`, `getMany`,
 * `getAll`, `scan`, `changes`, `snapshot`, `transaction` and `sync.get`/`getEntry`/`set` take
 * only keys matching a pattern, with that pattern's value type; when it declares
 * `channels`, so do `publish`, `channel`, `pattern` and `onSubscriberReceive`.
 * Every other method is `TBase`'s own.
 * @example
 * ```ts
 * const store = createStore<{ keys: { 'job:*:progress': number } }>();
 * await store.set('job:7:progress', 0.5);
 * await store.set('job:7:progress', 'half'); // a compile error: a string is not a progress
 * ```
 */
export type TypedStore<S extends StoreSchema, TBase extends Store = Store> = [TypedMethods<S>] extends [never]
  ? TBase
  : Omit<TBase, TypedMethods<S>> &
      (HasKeys<S> extends true ? TypedKeys<S> : unknown) &
      (HasChannels<S> extends true ? TypedChannels<S> : unknown);

/**
 * What every view of a `TBase` store has in common, typed by a schema or not. A
 * {@link TypedStore} is not assignable to `Store` (its `get` cannot return whatever
 * type a caller names); an API that takes any store, as `createPool({ store })`, takes this.
 */
export type AnyTypedStore<TBase extends Store = Store> = Omit<TBase, keyof TypedKeys<StoreSchema> | keyof TypedChannels<StoreSchema>>;

/** The names of the methods a schema retypes. */
type TypedMethods<S extends StoreSchema> =
  | (HasKeys<S> extends true ? keyof TypedKeys<S> : never)
  | (HasChannels<S> extends true ? keyof TypedChannels<S> : never);

/**
 * One op of a typed {@link Store.transaction}: a `set` carries its pattern's value type.
 * (A key that matches several patterns may take any of their value types here.)
 */
export type TypedTransactionOp<S extends StoreSchema> =
  | { [P in keyof SetOps<S>]: SetOps<S>[P] }[keyof SetOps<S>]
  | { op: 'delete'; key: SchemaKey<S>; ifRevision?: number }
  | { op: 'incr'; key: SchemaKey<S>; by?: number }
  | { op: 'check'; key: SchemaKey<S>; revision: number };

type SetOps<S extends StoreSchema> = {
  [K in SchemaKey<S>]: { op: 'set'; key: K; value: KeyValue<S, K>; ttlMs?: number; ifRevision?: number };
};

/** The part of the store API a schema's `keys` types (see {@link TypedStore}). */
export interface TypedKeys<S extends StoreSchema> {
  /** Reads a value; `undefined` when the key is absent. */
  get<TKey extends SchemaKey<S>>(key: TKey): Promise<KeyValue<S, TKey> | undefined>;
  /** Reads a value; resolves to `defaultValue` (of the key's type, or another: `null`...) when the key is absent. */
  get<TKey extends SchemaKey<S>, TDefault = KeyValue<S, TKey>>(
    key: TKey,
    defaultValue: KeyValue<S, TKey> | TDefault,
  ): Promise<KeyValue<S, TKey> | Exclude<TDefault, KeyValue<S, TKey>>>;
  /** Reads a value with its revision; `undefined` when absent. */
  getEntry<TKey extends SchemaKey<S>>(key: TKey): Promise<Entry<KeyValue<S, TKey>> | undefined>;
  /** Writes a value of the key's type; resolves to its new revision. */
  set<TKey extends SchemaKey<S>>(key: TKey, value: KeyValue<S, TKey>, options?: SetOptions): Promise<number>;
  /** Optimistic read-modify-write with `fn` run here, retried on conflict; `undefined` from `fn` deletes. */
  update<TKey extends SchemaKey<S>>(
    key: TKey,
    fn: (old: KeyValue<S, TKey> | undefined) => KeyValue<S, TKey> | undefined | Promise<KeyValue<S, TKey> | undefined>,
    options?: UpdateOptions,
  ): Promise<KeyValue<S, TKey> | undefined>;
  /** The current value of a key, then each change (`undefined` when absent). */
  watch<TKey extends SchemaKey<S>>(key: TKey): KvbusObservable<KeyValue<S, TKey> | undefined>;
  /** Reads several keys at one instant: their values (`undefined` where absent), in the order of `keys`. */
  getMany<const TKeys extends readonly SchemaKey<S>[]>(
    keys: TKeys,
  ): Promise<{ -readonly [I in keyof TKeys]: KeyValue<S, TKeys[I]> | undefined }>;
  /** A snapshot copy of the entries matching a glob (all without one). */
  getAll<TGlob extends string = '*'>(pattern?: TGlob): Promise<Map<string, GlobValue<S, TGlob>>>;
  /** The entries matching a glob, read a chunk at a time (see {@link Store.scan}). */
  scan<TGlob extends string = '*'>(glob?: TGlob, options?: ScanOptions): AsyncIterable<[string, GlobValue<S, TGlob>]>;
  /** Every change to keys matching the glob (all keys without one); with `since`, first those after that revision (see {@link Store.changes}). */
  changes<TGlob extends string = '*'>(glob?: TGlob, options?: ChangesOptions): KvbusObservable<ChangeEvent<GlobValue<S, TGlob>>>;
  /** The entries matching a glob and the revision they were read at, in one atomic step (see {@link Store.snapshot}). */
  snapshot<TGlob extends string = '*'>(glob?: TGlob): Promise<Snapshot<GlobValue<S, TGlob>>>;
  /** Applies every op or none, atomically (see {@link Store.transaction}). */
  transaction(ops: readonly TypedTransactionOp<S>[], options?: TransactionOptions): Promise<number[]>;
  /** The blocking API, typed by the same schema. */
  readonly sync: TypedSyncStore<S>;
}

/** The blocking API of a typed store: `get`, `getEntry` and `set` typed as the async ones. */
export interface TypedSyncStore<S extends StoreSchema> extends Omit<SyncStore, 'get' | 'getEntry' | 'set'> {
  /** Reads a value; `undefined` when the key is absent. */
  get<TKey extends SchemaKey<S>>(key: TKey): KeyValue<S, TKey> | undefined;
  /** Reads a value; `defaultValue` when the key is absent. */
  get<TKey extends SchemaKey<S>, TDefault = KeyValue<S, TKey>>(
    key: TKey,
    defaultValue: KeyValue<S, TKey> | TDefault,
  ): KeyValue<S, TKey> | Exclude<TDefault, KeyValue<S, TKey>>;
  /** Reads a value with its revision; `undefined` when absent. */
  getEntry<TKey extends SchemaKey<S>>(key: TKey): Entry<KeyValue<S, TKey>> | undefined;
  /** Writes a value of the key's type; returns its new revision. */
  set<TKey extends SchemaKey<S>>(key: TKey, value: KeyValue<S, TKey>, options?: SetOptions): number;
}

/** The part of the store API a schema's `channels` types (see {@link TypedStore}). */
export interface TypedChannels<S extends StoreSchema> {
  /** Delivers `data` of the channel's type to every subscriber; resolves to the number of receivers. */
  publish<TChannel extends SchemaChannel<S>>(channel: TChannel, data: ChannelData<S, TChannel>): Promise<number>;
  /** A hot observable of one channel. */
  channel<TChannel extends SchemaChannel<S>>(name: TChannel): KvbusObservable<ChannelData<S, TChannel>>;
  /** A hot observable of every channel matching a glob. */
  pattern<TGlob extends string>(glob: TGlob): KvbusObservable<PatternMessage<GlobData<S, TGlob>>>;
  /** Callback subscription to one channel; returns the unsubscribe function. */
  onSubscriberReceive<TChannel extends SchemaChannel<S>>(channel: TChannel, handler: ReceiveHandler<ChannelData<S, TChannel>>): () => void;
}
