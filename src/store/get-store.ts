import { isMainThread } from 'node:worker_threads';
import { KvbusError } from '../errors.js';
import type { Store } from '../types.js';
import { createStore } from './create-store.js';
import type { MainStore } from './main-store.js';

// Under a global symbol, not in a module variable: the ESM and the CJS build
// may both be loaded in one process, and they must share one default store.
const DEFAULT_STORE = Symbol.for('kvbus.store');

type Global = typeof globalThis & { [DEFAULT_STORE]?: MainStore };

/**
 * Returns the store of this thread: in the main thread, the process-wide
 * default store (created on first call, and again after it was closed).
 *
 * @returns the store
 * @example
 * const store = getStore();
 * await store.set('ready', true);
 */
export function getStore(): Store {
  if (isMainThread) {
    const global = globalThis as Global;
    const current = global[DEFAULT_STORE];
    if (current && !current.closed) return current;
    return (global[DEFAULT_STORE] = createStore());
  }
  throw new KvbusError(
    'ERR_NO_STORE',
    'No kvbus store is reachable from this thread: run it in a pool made by createPool(), or attach the worker with store.attach(worker) in the main thread',
  );
}
