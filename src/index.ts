// The store

// Workers and child processes
export { type CreatePoolOptions, createPool } from './api/create-pool.js';
export { type CreateStoreOptions, createStore } from './api/create-store.js';
export { getStore } from './api/get-store.js';
export { MainStore } from './api/main-store.js';
export type {
  Backend,
  BackendContext,
  BackendLocks,
  BackendScan,
  BackendSetOptions,
  LockWaiter,
  MaybePromise,
} from './backends/backend.js';
// Backends
export { memoryBackend } from './backends/memory/memory-backend.js';
export type { Clock } from './clock.js';
// Errors
export { ERROR_CODES, isKvbusError, KvbusError, type KvbusErrorCode } from './errors.js';
// Glob matching (the same rules as Redis)
export { escapeGlob, globMatch } from './glob.js';
// Typed stores: createStore<S>(), getStore<S>()
export type {
  ChannelData,
  GlobData,
  GlobValue,
  KeyValue,
  PatternKey,
  SchemaChannel,
  SchemaKey,
  StoreSchema,
} from './schema.js';
// Tracing (diagnostics_channel `kvbus:command`, see docs/diagnostics.md)
export type { CommandClientKind, CommandTraceContext } from './tracing.js';
export type {
  AnyTypedStore,
  TypedChannels,
  TypedKeys,
  TypedStore,
  TypedSyncStore,
  TypedTransactionOp,
} from './typed-store.js';
// Types
export type {
  CacheOptions,
  CacheStats,
  ChangeEvent,
  ChangesOptions,
  ClientInfo,
  DeleteOptions,
  Entry,
  HistoryOptions,
  IncrOptions,
  KeyChange,
  KvbusObservable,
  Lock,
  LockOptions,
  LockRef,
  OverflowPolicy,
  PatternMessage,
  PeerEvent,
  ReceiveHandler,
  ScanOptions,
  SetOptions,
  Snapshot,
  Store,
  StoreOp,
  StoreStats,
  SubscriberBufferOptions,
  SyncStore,
  Topic,
  TopicKind,
  TransactionOp,
  TransactionOptions,
  UpdateOptions,
} from './types.js';
