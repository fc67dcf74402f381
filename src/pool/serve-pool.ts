import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { CacheConfig } from '../cache-types.js';
import { describe, KvbusError } from '../errors.js';
import { acceptWorkers } from './accept-workers.js';
import { claimWorkers } from './spawn-watch.js';
import type { StoreHost } from './store-host.js';
import { decodeTaskError } from './task-errors.js';
import { taskName } from './task-name.js';

/** piscina's own options. */
export type PiscinaOptions = NonNullable<ConstructorParameters<typeof Piscina>[0]>;

type RunOptions = NonNullable<Parameters<Piscina['run']>[1]>;

/** kvbus's task entry, which piscina loads in the workers (see task-entry.ts; built next to this module). */
const TASK_ENTRY = fileURLToPath(new URL('./pool-task.cjs', import.meta.url));

/**
 * A piscina pool whose tasks run through kvbus's task entry, so that a
 * `KvbusError` a task throws reaches `run`'s caller with its code and fields.
 */
// biome-ignore lint/suspicious/noExplicitAny: piscina's own defaults
class KvbusPool<TIn = any, TOut = any> extends Piscina<TIn, TOut> {
  readonly #filename: string | undefined;
  readonly #name: string;
  readonly #onClosed: () => void;

  constructor(options: PiscinaOptions, filename: string | undefined, name: string, onClosed: () => void) {
    super(filename === undefined ? options : { ...options, filename: TASK_ENTRY, name: taskName(filename, name) });
    this.#filename = filename;
    this.#name = name;
    this.#onClosed = onClosed;
  }

  override close(options?: Parameters<Piscina['close']>[0]): Promise<void> {
    return super.close(options).finally(this.#onClosed);
  }

  override destroy(): Promise<void> {
    return super.destroy().finally(this.#onClosed);
  }

  override run(task: TIn, options: RunOptions = {}): Promise<TOut> {
    if (options === null || typeof options !== 'object') return super.run(task, options);
    const filename = options.filename ?? this.#filename;
    const name = options.name ?? this.#name;
    // What piscina refuses (a filename that is not a string...), it refuses with its own words.
    if (typeof filename !== 'string' || typeof name !== 'string') return super.run(task, options);
    const routed = { ...options, filename: TASK_ENTRY, name: taskName(filename, name) };
    return super.run(task, routed).catch((error: unknown) => {
      throw decodeTaskError(error);
    });
  }
}

/**
 * Starts a piscina pool whose workers are served by a store: each worker's
 * hello comes through its 'message' event, where kvbus's shield takes it
 * before piscina (which would re-emit it as the pool's 'message' event) or any
 * user listener sees it, and it is accepted like an attached worker's.
 * Unless told otherwise, idle workers wait with `atomics: 'async'`: piscina's
 * default parks an idle worker in `Atomics.wait`, which stops its event loop,
 * so subscriptions in that worker would receive nothing between tasks.
 * Tasks run through kvbus's task entry, which encodes the kvbus errors they
 * throw (structured clone would drop their `code`); `run` rebuilds them.
 * @param host - the main-thread store's host
 * @param options - piscina's options
 * @param cache - the near cache settings of every worker of the pool, when they have one
 * @returns the pool
 */
export function servePool(host: StoreHost, options: PiscinaOptions, cache?: CacheConfig): Piscina {
  const { filename, name = 'default' } = options;
  if (filename !== undefined && filename !== null && typeof filename !== 'string') {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`filename\` to be a path or a file: URL string, got ${describe(filename)}`);
  }
  if (typeof name !== 'string') throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`name\` to be a string, got ${describe(name)}`);
  let threads: () => Worker[] = () => [];
  const door = acceptWorkers(host, (threadId) => threads().find((thread) => thread.threadId === threadId), undefined, cache);
  // Claimed before piscina starts a worker: the watch routes each one's hello here.
  const unclaim = claimWorkers((worker) => (threads().includes(worker) ? (message) => door.receive(message, worker) : undefined));
  let pool: KvbusPool;
  try {
    pool = new KvbusPool({ atomics: 'async', ...options }, filename ?? undefined, name, unclaim);
  } catch (error) {
    unclaim();
    throw error;
  }
  threads = () => pool.threads as Worker[];
  return pool;
}
