import { getEnvironmentData, isMainThread } from 'node:worker_threads';
import { ClientCache } from '../cache/client-cache.js';
import { KvbusError } from '../errors.js';
import { connectChild, connectWorker, hasParentPipe } from '../pool/connect.js';
import { PARENT_ENV, REACHABLE } from '../pool/marks.js';
import { watchSpawns } from '../pool/spawn-watch.js';
import type { StoreSchema } from '../schema.js';
import type { TypedStore } from '../typed-store.js';
import type { Store } from '../types.js';
import { createStore } from './create-store.js';
import type { MainStore } from './main-store.js';
import { remoteClient } from './remote-client.js';

// Under global symbols, not in module variables: the ESM and the CJS build may
// both be loaded in one thread, and they must share one store (or one client).
const DEFAULT_STORE = Symbol.for('kvbus.store');
const CLIENT = Symbol.for('kvbus.client');

type Global = typeof globalThis & { [DEFAULT_STORE]?: MainStore; [CLIENT]?: Store };

/**
 * Returns the store of this thread or process: in the main thread, the
 * process-wide default store (created on first call, and again after it was
 * closed); in a worker of `createPool` or one attached with `store.attach`,
 * and in a child of `store.fork`, a client of the parent's store.
 * A worker or child that nobody connected fails at once with `ERR_NO_STORE`:
 * here, when no store can answer it; else at its first call, which its parent
 * refuses (the message says how to connect it).
 *
 * With a {@link StoreSchema} (`getStore<AppSchema>()`), the store is seen as a
 * {@link TypedStore}: the schema is the caller's word, nothing checks it at run time.
 *
 * @returns the store
 * @example
 * const store = getStore();
 * await store.incr('jobs:done');
 */
export function getStore<S extends StoreSchema = StoreSchema>(): TypedStore<S>;
export function getStore(): Store {
  const global = globalThis as Global;
  if (global[CLIENT]) return global[CLIENT];
  if (!isMainThread) {
    if (getEnvironmentData(REACHABLE) !== true) throw noStore();
    const cache = new ClientCache();
    const { link, pollCache } = connectWorker((config) => cache.configure(config));
    link.listenForCache(cache);
    global[CLIENT] = remoteClient(link, 'worker', cache, pollCache);
    // A worker or child this one creates inherits its marks: if it calls getStore(), it is told at once that nobody serves it.
    watchSpawns();
    return global[CLIENT];
  }
  if (process.env[PARENT_ENV] === '1') {
    // Marked to reach its parent's store but with no channel to it: say so, rather than hand out a store of its own.
    if (typeof process.send !== 'function' && !hasParentPipe()) throw noChannel();
    const cache = new ClientCache();
    const link = connectChild();
    link.listenForCache(cache);
    global[CLIENT] = remoteClient(link, 'process', cache);
    watchSpawns();
    return global[CLIENT];
  }
  const current = global[DEFAULT_STORE];
  if (current && !current.closed) return current;
  return (global[DEFAULT_STORE] = createStore());
}

function noChannel(): KvbusError {
  return new KvbusError(
    'ERR_NO_STORE',
    `This process has ${PARENT_ENV}=1 but no channel to its parent: start it with store.fork(modulePath), or fork it with an IPC channel (child_process.fork) and call store.attach(child) in the parent. A process started by a child of store.fork inherits that mark: remove ${PARENT_ENV} from its environment to give it a store of its own`,
  );
}

function noStore(): KvbusError {
  return new KvbusError(
    'ERR_NO_STORE',
    'No kvbus store is reachable from this thread: run it in a pool made by createPool(), or create the store first and attach the worker with store.attach(worker) right after creating it',
  );
}
