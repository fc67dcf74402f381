import type { Piscina } from 'piscina';
import { checkCacheOptions } from '../cache/cache-options.js';
import { describe, KvbusError } from '../errors.js';
import { type PiscinaOptions, servePool } from '../pool/serve-pool.js';
import { hostOf } from '../pool/store-host.js';
import type { AnyTypedStore } from '../typed-store.js';
import type { CacheOptions, Store } from '../types.js';
import { liveStores } from './create-store.js';
import { getStore } from './get-store.js';
import type { MainStore } from './main-store.js';

/** Options of {@link createPool}: piscina's own, plus the store to connect to. */
export interface CreatePoolOptions extends PiscinaOptions {
  /**
   * The store the workers reach with `getStore()`: a main-thread store, from
   * `createStore()` or `getStore()` in the main thread.
   * @defaultValue the one open store of this thread; `getStore()`'s default store when there is none; with two or more, say which
   */
  store?: Store;
  /**
   * The near cache of each worker: matching keys, once read, are answered
   * without a message, and a read from it is linearizable (docs/near-cache.md).
   */
  cache?: CacheOptions;
}

/**
 * Creates a piscina pool whose workers reach a store with `getStore()`.
 * Unless you say otherwise, idle workers wait with `atomics: 'async'`: piscina's
 * default parks an idle worker in `Atomics.wait`, which stops its event loop,
 * so subscriptions in that worker would receive nothing between tasks.
 *
 * @param options - piscina options, and `store` (a store typed by a schema too)
 * @returns the piscina instance (its whole API stays available), typed `Piscina<TIn, TOut>`:
 * `run` takes a `TIn` and resolves to a `TOut`
 * @example
 * const pool = createPool<{ n: number }, number>({ filename: new URL('./task.js', import.meta.url).href });
 * const doubled: number = await pool.run({ n: 1 });
 */
// biome-ignore lint/suspicious/noExplicitAny: piscina's own defaults: a pool made without types takes and returns anything
export function createPool<TIn = any, TOut = any>(
  options: Omit<CreatePoolOptions, 'store'> & { store: AnyTypedStore<MainStore> },
): Piscina<TIn, TOut>;
// biome-ignore lint/suspicious/noExplicitAny: as above
export function createPool<TIn = any, TOut = any>(options: CreatePoolOptions): Piscina<TIn, TOut>;
export function createPool(options: Omit<CreatePoolOptions, 'store'> & { store?: Store | AnyTypedStore<MainStore> }): Piscina {
  if (options === null || typeof options !== 'object') {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`options\` to be piscina options, got ${describe(options)}`);
  }
  const { store = defaultStore(), cache, ...piscinaOptions } = options;
  const config = checkCacheOptions(cache);
  const host = hostOf(store);
  if (!host) {
    throw new KvbusError(
      'ERR_BAD_ARGUMENT',
      `Expected \`store\` to be a main-thread store (from createStore(), or getStore() in the main thread), got ${describe(store)}`,
    );
  }
  if (host.closed) throw new KvbusError('ERR_CLOSED', 'Cannot create a pool on a closed store');
  return servePool(host, piscinaOptions, config);
}

/** The store a pool connects to when the options do not say: the one open store, else the default one. */
function defaultStore(): Store {
  const stores = [...liveStores()];
  if (stores.length === 1) return stores[0]!;
  if (stores.length === 0) return getStore();
  throw new KvbusError(
    'ERR_BAD_ARGUMENT',
    `${stores.length} kvbus stores are open in this thread (namespaces ${stores.map((s) => JSON.stringify(s.namespace)).join(', ')}): say which one the pool's workers reach, createPool({ store, ... })`,
  );
}
