import type { Worker } from 'node:worker_threads';
import type { CacheConfig } from '../cache-types.js';
import { portStream } from '../streams/message-stream.js';
import { type Hello, parseHello, releaseHello } from './hello.js';
import { peer, serve, withWho } from './serve.js';
import type { StoreHost } from './store-host.js';

/** The door through which workers' hellos come in (see {@link acceptWorkers}). */
export interface WorkerDoor {
  /**
   * Handles one kvbus message a worker sent through `parentPort`.
   * @param message - the message
   * @param from - the worker it came from, when known (its hello must name that thread)
   */
  receive(message: unknown, from?: Worker): void;
  /** Disconnects every worker served through this door. */
  closeAll(): void;
}

/**
 * Serves the workers whose hellos arrive through one 'message' event (a
 * `Worker`'s, or a piscina pool's, which does not say which worker sent it).
 * A hello is checked completely before any of it is used; a bad one, one
 * from a thread that is not one of `findWorker`'s, or a second one from a
 * worker already served, is refused: counted in `stats().malformed`, reported
 * by `peers()` as `'rejected'`, its ports closed. Everyone else goes on.
 * @param host - the main-thread store's host
 * @param findWorker - the worker whose hello claims this thread id, if it may connect here
 * @param knownThreadId - the thread id of the only worker this door serves, when it is known (for `peers()`)
 * @param cache - the near cache settings of every worker served through this door
 * @returns the door
 */
export function acceptWorkers(
  host: StoreHost,
  findWorker: (threadId: number) => Worker | undefined,
  knownThreadId?: number,
  cache?: CacheConfig,
): WorkerDoor {
  const served = new Map<number, () => void>();
  const reject = (message: unknown, reason: string, threadId: number | undefined) => {
    releaseHello(message);
    host.malformed();
    const event = withWho(peer('rejected', host.nextClientId(), 'worker'), { threadId: threadId ?? knownThreadId });
    host.announce({ ...event, reason });
  };
  return {
    receive(message, from) {
      const check = parseHello(message);
      if (!check.ok) {
        if (check.reason !== undefined) reject(message, check.reason, check.threadId);
        return;
      }
      const { threadId } = check.hello;
      if (from !== undefined && from.threadId !== threadId) {
        return reject(message, `hello.threadId ${threadId} is not the thread that sent it (${from.threadId})`, undefined);
      }
      const worker = findWorker(threadId);
      if (!worker) return reject(message, `hello.threadId ${threadId} is not a thread of this pool or worker`, undefined);
      if (served.has(threadId)) return reject(message, `worker ${threadId} is already connected: a worker says hello once`, threadId);
      served.set(
        threadId,
        acceptWorker(host, check.hello, worker, () => served.delete(threadId), cache),
      );
    },
    closeAll() {
      for (const disconnect of [...served.values()]) disconnect();
    },
  };
}

/**
 * Serves one worker whose hello was checked, from now on.
 * @param host - the main-thread store's host
 * @param hello - the worker's checked hello
 * @param worker - the worker (for its exit code)
 * @param onGone - called once the connection is gone
 * @param cache - its near cache settings, when it has one
 * @returns the function that disconnects it
 */
function acceptWorker(host: StoreHost, hello: Hello, worker: Worker, onGone: () => void, cache: CacheConfig | undefined): () => void {
  let exited = false;
  let exitCode: number | undefined;
  let announced = false;
  let cutOff: string | undefined;
  const announce = () => {
    if (announced) return;
    announced = true;
    const event = withWho(peer('exit', connection.id, 'worker', exitCode), { threadId: hello.threadId });
    host.announce(cutOff === undefined ? event : { ...event, reason: cutOff });
  };
  const onExit = (code: number) => {
    exited = true;
    exitCode = code;
    connection.disconnect();
    announce();
  };
  const connection = serve(
    host,
    portStream(hello.port),
    'worker',
    { port: hello.syncPort, flag: hello.syncFlag },
    (reason) => {
      onGone();
      // Cut off by the store: the worker lives on, so no exit code will come.
      if (reason !== undefined) return ((cutOff = `cut off: ${reason}`), announce());
      // A dying worker's port closes a moment before its 'exit': give the exit code a
      // moment to arrive, so peers() can report it. A detached, living worker has none.
      if (exited) return announce();
      setTimeout(() => {
        worker.off('exit', onExit);
        announce();
      }, 1000).unref();
    },
    { threadId: hello.threadId },
    cache,
  );
  worker.once('exit', onExit);
  return () => connection.disconnect();
}
