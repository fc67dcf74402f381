// Shared by the integration tests: real workers, real child processes, and a
// registry that closes every store, pool, worker and child after each test.
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { type CreateStoreOptions, createStore, type KvbusError, type MainStore, type StoreStats } from 'kvbus';
import type { Piscina } from 'piscina';
import { filter, firstValueFrom, type Observable, throwError, timeout } from 'rxjs';

/** The URL of a file in test/fixtures (workers and pools take URLs). */
export function fixtureUrl(name: string): URL {
  return new URL(`../fixtures/${name}`, import.meta.url);
}

/** The path of a file in test/fixtures (child processes take paths). */
export function fixturePath(name: string): string {
  return fileURLToPath(fixtureUrl(name));
}

/** How long any single wait in these tests may take before it fails (instead of hanging). */
export const WAIT_MS = 8_000;

/**
 * Polls `check` until it holds, failing after `ms`. Only for state that has no
 * event to await (stats counters, pool.threads).
 */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Polls `store.stats()` until `check` holds; the failure shows the last stats seen. */
export async function waitForStats(
  store: MainStore,
  check: (stats: StoreStats) => boolean,
  what: string,
  ms = WAIT_MS,
): Promise<StoreStats> {
  let last: StoreStats | undefined;
  try {
    await waitUntil(async () => check((last = await store.stats())), what, ms);
  } catch (error) {
    throw new Error(`${(error as Error).message}; last stats: ${JSON.stringify(last)}`);
  }
  return last!;
}

/** The first value of `source` that matches, or a rejection after `ms`. Subscribes at once. */
export function nextValue<T, S extends T>(source: Observable<T>, match: (value: T) => value is S, what?: string, ms?: number): Promise<S>;
export function nextValue<T>(source: Observable<T>, match?: (value: T) => boolean, what?: string, ms?: number): Promise<T>;
export function nextValue<T>(source: Observable<T>, match: (value: T) => boolean = () => true, what = 'a value', ms = WAIT_MS): Promise<T> {
  return firstValueFrom(
    source.pipe(
      filter(match),
      timeout({ first: ms, with: () => throwError(() => new Error(`Timed out after ${ms} ms waiting for ${what}`)) }),
    ),
  );
}

/**
 * The first message from a worker or a child that matches (kvbus's own
 * messages share a child's IPC channel and a worker's 'message' event, so
 * always match on the shape). Rejects if the sender exits first or after `ms`.
 */
export function messageFrom<T = any>(
  sender: Worker | ChildProcess,
  match: (message: any) => boolean,
  what = 'a message',
  ms = WAIT_MS,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const emitter = sender as unknown as NodeJS.EventEmitter;
    const done = () => {
      clearTimeout(timer);
      emitter.off('message', onMessage);
      emitter.off('exit', onExit);
      emitter.off('error', onError);
    };
    const onMessage = (message: unknown) => {
      if (!match(message)) return;
      done();
      resolve(message as T);
    };
    const onExit = (code: unknown) => {
      done();
      reject(new Error(`Exited (code ${String(code)}) before sending ${what}`));
    };
    const onError = (error: unknown) => {
      done();
      reject(error);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`Timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    emitter.on('message', onMessage);
    emitter.on('exit', onExit);
    emitter.on('error', onError);
  });
}

/** Resolves with a child's exit code and signal (at once if it already exited). */
export function childExit(child: ChildProcess, ms = WAIT_MS): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Child ${child.pid} did not exit within ${ms} ms`)), ms);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** Resolves with a worker's exit code. */
export function workerExit(worker: Worker, ms = WAIT_MS): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Worker ${worker.threadId} did not exit within ${ms} ms`)), ms);
    worker.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Blocks this thread's event loop (a busy loop, on purpose). */
export function blockFor(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy
  }
}

/** The error a promise rejects with; fails if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<KvbusError> {
  const outcome = await promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`Expected a rejection, but it resolved with ${JSON.stringify(outcome.value)}`);
  return outcome.error as KvbusError;
}

/** Everything a test started, closed after it whatever happened. */
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

type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
  timeoutMs?: number,
) => { async: boolean; value: Promise<string> | string };

/**
 * Waits, without blocking this thread, until another thread changes `flags[index]`
 * from 0 (and notifies). For hand-shakes with workers that block their own loop.
 */
export async function flagRaised(flags: Int32Array, index: number, what: string, ms = WAIT_MS): Promise<void> {
  const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
  const result = waitAsync(flags, index, 0, ms);
  const outcome = result.async ? await result.value : result.value;
  if (outcome === 'timed-out') throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
}
