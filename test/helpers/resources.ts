// Everything an integration test starts (stores of the built package, pools,
// workers, children), closed after it whatever happened.
import type { ChildProcess } from 'node:child_process';
import type { Worker } from 'node:worker_threads';
import { type CreateStoreOptions, createStore, type MainStore } from 'kvbus';
import type { Piscina } from 'piscina';
import { childExit } from './processes.js';

export class Resources {
  readonly #stores: MainStore[] = [];
  readonly #pools: Piscina[] = [];
  readonly #workers: Worker[] = [];
  readonly #children: ChildProcess[] = [];

  store(options?: CreateStoreOptions): MainStore {
    const store = createStore(options);
    this.#stores.push(store);
    return store;
  }

  pool<T extends Piscina>(pool: T): T {
    this.#pools.push(pool);
    return pool;
  }

  worker<T extends Worker>(worker: T): T {
    // An 'error' event without a listener would crash the test process.
    worker.on('error', () => {});
    this.#workers.push(worker);
    return worker;
  }

  child<T extends ChildProcess>(child: T): T {
    child.on('error', () => {});
    this.#children.push(child);
    return child;
  }

  async cleanup(): Promise<void> {
    const children = this.#children.splice(0);
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = childExit(child);
        child.kill('SIGKILL');
        await exited.catch(() => {});
      }),
    );
    await Promise.all(this.#workers.splice(0).map((worker) => worker.terminate().catch(() => {})));
    await Promise.all(this.#pools.splice(0).map((pool) => pool.destroy().catch(() => {})));
    await Promise.all(this.#stores.splice(0).map((store) => store.close().catch(() => {})));
  }
}
