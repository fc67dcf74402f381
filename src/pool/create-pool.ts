import { Piscina } from 'piscina';
import type { Worker } from 'node:worker_threads';
import { KvbusError, describe } from '../errors.js';
import { MainStore } from '../store/main-store.js';
import { getStore } from '../store/get-store.js';
import { acceptWorker, isHello } from './attach.js';

type PiscinaOptions = NonNullable<ConstructorParameters<typeof Piscina>[0]>;

/** Options of {@link createPool}: piscina's own, plus the store to connect to. */
export interface CreatePoolOptions extends PiscinaOptions {
  /** The store the workers reach with `getStore()`. @defaultValue `getStore()` */
  store?: MainStore;
}

/**
 * Creates a piscina pool whose workers reach a store with `getStore()`.
 * Unless you say otherwise, idle workers wait with `atomics: 'async'`: piscina's
 * default parks an idle worker in `Atomics.wait`, which stops its event loop,
 * so subscriptions in that worker would receive nothing between tasks.
 *
 * @param options - piscina options, and `store`
 * @returns the piscina instance (its whole API stays available)
 * @example
 * const pool = createPool({ filename: new URL('./task.js', import.meta.url).href });
 * await pool.run({ n: 1 });
 */
export function createPool(options: CreatePoolOptions): Piscina {
  if (options === null || typeof options !== 'object') {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`options\` to be piscina options, got ${describe(options)}`);
  }
  const { store = getStore() as MainStore, ...piscinaOptions } = options;
  if (!(store instanceof MainStore)) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`store\` to be a main-thread store from createStore(), got ${describe(store)}`);
  }
  if (store.closed) throw new KvbusError('ERR_CLOSED', 'Cannot create a pool on a closed store');
  const pool = new Piscina({ atomics: 'async', ...piscinaOptions });
  pool.on('message', (message: unknown) => {
    if (!isHello(message)) return;
    const worker = (pool.threads as Worker[]).find((thread) => thread.threadId === message.hello.threadId);
    acceptWorker(store, message.hello, worker);
  });
  return pool;
}
