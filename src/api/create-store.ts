import { isMainThread } from 'node:worker_threads';
import type { Backend } from '../backends/backend.js';
import { memoryBackend } from '../backends/memory/memory-backend.js';
import { type Clock, systemClock } from '../clock.js';
import { NAMESPACE, REQUEST_TIMEOUT_MS, SUBSCRIBER_BUFFER_SIZE, SUBSCRIBER_OVERFLOW } from '../defaults.js';
import { describe, KvbusError } from '../errors.js';
import { watchSpawns } from '../pool/spawn-watch.js';
import type { StoreSchema } from '../schema.js';
import type { TypedStore } from '../typed-store.js';
import type { HistoryOptions, OverflowPolicy, SubscriberBufferOptions } from '../types.js';
import { MainStore } from './main-store.js';
import { reportToConsole } from './store-client.js';

/** Options of {@link createStore}. */
export interface CreateStoreOptions {
  /** Where the state lives. @defaultValue a new {@link memoryBackend} */
  backend?: Backend;
  /** Isolates apps that share one backend (one Redis). @defaultValue `'kvbus'` */
  namespace?: string;
  /** Store and hand out structured clones, as workers see them. @defaultValue `true` */
  copy?: boolean;
  /** How long a remote client waits for an answer. @defaultValue 30 000 */
  requestTimeoutMs?: number;
  /** The bounded buffer of each remote subscriber. @defaultValue `{ size: 10_000, overflow: 'drop-oldest' }` */
  subscriberBuffer?: Partial<SubscriberBufferOptions>;
  /** The time source of TTLs. @defaultValue the system clock */
  clock?: Clock;
  /**
   * The change events the default memory backend keeps for `changes(glob, { since })`
   * (a Redis store takes it in `redisBackend({ history })`).
   * @defaultValue `{ maxEvents: 10_000 }`
   */
  history?: HistoryOptions;
  /** Where errors thrown by `onSubscriberReceive` handlers are reported. @defaultValue `console.error` */
  onError?: (error: unknown, context: string) => void;
}

const OVERFLOW: readonly OverflowPolicy[] = ['drop-oldest', 'drop-newest', 'error'];

/**
 * Creates a store in the main thread: one actor owning the state, reachable from workers and child processes.
 *
 * Give it a {@link StoreSchema} (`createStore<AppSchema>()`) to type its keys and
 * channels: the same store is then seen as a {@link TypedStore} (see docs/typescript.md).
 *
 * @param options - backend, namespace, copy mode, timeouts, subscriber buffers
 * @returns the store
 * @example
 * const store = createStore();
 * store.watch('visits').subscribe((n) => console.log('visits', n));
 * await store.incr('visits');
 * @example
 * const typed = createStore<{ keys: { visits: number; 'user:*': { name: string } } }>();
 * await typed.set('user:1', { name: 'Ada' });
 */
export function createStore<S extends StoreSchema = StoreSchema>(options?: CreateStoreOptions): TypedStore<S, MainStore>;
export function createStore(options: CreateStoreOptions = {}): MainStore {
  if (!isMainThread) {
    throw new KvbusError(
      'ERR_BAD_ARGUMENT',
      "createStore() runs in the main thread only; in a worker, call getStore() to reach the main thread's store",
    );
  }
  if (options === null || typeof options !== 'object') fail('options', 'an object', options);
  const {
    namespace = NAMESPACE,
    copy = true,
    requestTimeoutMs = REQUEST_TIMEOUT_MS,
    clock = systemClock,
    onError = reportToConsole,
  } = options;
  if (typeof namespace !== 'string' || namespace.length === 0) fail('namespace', 'a non-empty string', namespace);
  if (typeof copy !== 'boolean') fail('copy', 'a boolean', copy);
  if (typeof requestTimeoutMs !== 'number' || !(requestTimeoutMs > 0)) fail('requestTimeoutMs', 'a positive number', requestTimeoutMs);
  if (typeof onError !== 'function') fail('onError', 'a function', onError);
  if (options.history !== undefined && options.backend !== undefined) {
    throw new KvbusError(
      'ERR_BAD_ARGUMENT',
      'Pass `history` to the backend (memoryBackend({ history }) or redisBackend({ history })), not to createStore() with a backend',
    );
  }
  const backend = options.backend ?? memoryBackend({ history: options.history });
  if (backend === null || typeof backend !== 'object' || typeof backend.get !== 'function') {
    fail('backend', 'a backend such as memoryBackend() or redisBackend()', backend);
  }
  const size = options.subscriberBuffer?.size ?? SUBSCRIBER_BUFFER_SIZE;
  const overflow = options.subscriberBuffer?.overflow ?? SUBSCRIBER_OVERFLOW;
  if (!Number.isInteger(size) || size < 1) fail('subscriberBuffer.size', 'a positive integer', size);
  if (!OVERFLOW.includes(overflow)) fail('subscriberBuffer.overflow', `one of ${OVERFLOW.map((o) => `'${o}'`).join(', ')}`, overflow);
  const store = new MainStore({ backend, namespace, copy, requestTimeoutMs, subscriberBuffer: { size, overflow }, clock, onError });
  // From now on, a worker or child this thread creates and never connects is told so at its first call.
  watchSpawns();
  const stores = liveStores();
  stores.add(store);
  return store;
}

/** Where the main thread keeps its stores (a global symbol: the ESM and CJS builds share it). */
const STORES = Symbol.for('kvbus.stores');

/**
 * @internal The stores of this thread that are not closed (createPool's default when there is one).
 * @returns them, as a set that forgets the closed ones whenever it is read here
 */
export function liveStores(): Set<MainStore> {
  const global = globalThis as typeof globalThis & { [STORES]?: Set<MainStore> };
  const stores = (global[STORES] ??= new Set());
  for (const store of stores) if (store.closed) stores.delete(store);
  return stores;
}

function fail(name: string, expected: string, got: unknown): never {
  throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`${name}\` to be ${expected}, got ${describe(got)}`);
}
