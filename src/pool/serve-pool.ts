import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { isHello } from '../streams/protocol/framing.js';
import { acceptWorker } from './attach.js';
import type { StoreHost } from './store-host.js';

/** piscina's own options. */
export type PiscinaOptions = NonNullable<ConstructorParameters<typeof Piscina>[0]>;

/**
 * Starts a piscina pool whose workers are served by a store: each worker's
 * hello arrives as the pool's 'message' event (piscina 5 surfaces worker →
 * parent messages there), and is accepted like an attached worker's.
 * Unless told otherwise, idle workers wait with `atomics: 'async'`: piscina's
 * default parks an idle worker in `Atomics.wait`, which stops its event loop,
 * so subscriptions in that worker would receive nothing between tasks.
 * @param host - the main-thread store's host
 * @param options - piscina's options
 * @returns the pool
 */
export function servePool(host: StoreHost, options: PiscinaOptions): Piscina {
  const pool = new Piscina({ atomics: 'async', ...options });
  pool.on('message', (message: unknown) => {
    if (!isHello(message)) return;
    const worker = (pool.threads as Worker[]).find((thread) => thread.threadId === message.hello.threadId);
    acceptWorker(host, message.hello, worker);
  });
  return pool;
}
