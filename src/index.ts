// The store
export { createStore, type CreateStoreOptions } from './store/create-store.js';
export { getStore } from './store/get-store.js';
export { MainStore } from './store/main-store.js';

// Backends
export { memoryBackend } from './backends/memory.js';
export type { Backend, BackendContext, BackendSetOptions, Clock, MaybePromise } from './backends/backend.js';

// Errors
export { KvbusError, isKvbusError, ERROR_CODES, type KvbusErrorCode } from './errors.js';

// Glob matching (the same rules as Redis)
export { globMatch } from './streams/glob.js';

// Types
export type {
  ChangeEvent,
  Entry,
  OverflowPolicy,
  PatternMessage,
  PeerEvent,
  ReceiveHandler,
  SetOptions,
  Store,
  StoreOp,
  StoreStats,
  SubscriberBufferOptions,
  SyncStore,
  UpdateOptions,
} from './types.js';

// Workers and child processes
export { createPool, type CreatePoolOptions } from './pool/create-pool.js';
