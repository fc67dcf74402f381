// The store
export { createStore, type CreateStoreOptions } from './api/create-store.js';
export { getStore } from './api/get-store.js';
export { MainStore } from './api/main-store.js';

// Backends
export { memoryBackend } from './backends/memory/memory-backend.js';
export type { Backend, BackendContext, BackendSetOptions, MaybePromise } from './backends/backend.js';
export type { Clock } from './clock.js';

// Errors
export { KvbusError, isKvbusError, ERROR_CODES, type KvbusErrorCode } from './errors.js';

// Glob matching (the same rules as Redis)
export { globMatch } from './glob.js';

// Types
export type {
  ChangeEvent,
  Entry,
  KeyChange,
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
  Topic,
  TopicKind,
  UpdateOptions,
} from './types.js';

// Workers and child processes
export { createPool, type CreatePoolOptions } from './api/create-pool.js';
