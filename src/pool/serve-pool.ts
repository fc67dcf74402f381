import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { acceptWorkers } from './accept-workers.js';
import type { StoreHost } from './store-host.js';

/** piscina's own options. */
export type PiscinaOptions = NonNullable<ConstructorParameters<typeof Piscina>[0]>;

/**
 * Starts a piscina pool whose workers are served by a store: each worker's
 * hello arrives as the pool's 'message' event (piscina 5 surfaces worker →
 * parent messages there), and is accepted like an attached worker's. That
 * event does not say which worker sent it, so a hello must name one of the
 * pool's threads.
 * Unless told otherwise, idle workers wait with `atomics: 'async'`: piscina's
 * default parks an idle worker in `Atomics.wait`, which stops its event loop,
 * so subscriptions in that worker would receive nothing between tasks.
 * @param host - the main-thread store's host
 * @param options - piscina's options
 * @returns the pool
 */
export function servePool(host: StoreHost, options: PiscinaOptions): Piscina {
  const pool = new Piscina({ atomics: 'async', ...options });
  const door = acceptWorkers(host, (threadId) => (pool.threads as Worker[]).find((thread) => thread.threadId === threadId));
  pool.on('message', (message: unknown) => door.receive(message));
  return pool;
}
