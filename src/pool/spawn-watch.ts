import type { ChildProcess } from 'node:child_process';
import { subscribe } from 'node:diagnostics_channel';
import type { Worker } from 'node:worker_threads';
import { KvbusError } from '../errors.js';
import { fromIpc, toIpc } from '../streams/message-stream.js';
import { type ControlMessage, PROTOCOL, REFUSED_SEQ, type WireReply } from '../streams/protocol/framing.js';
import { encodeError } from '../streams/protocol/wire-error.js';
import { isChildHello, parseHello, releaseHello } from './hello.js';
import { type KvbusMessageHandler, shield } from './shield.js';

// A worker or a child that calls getStore() without being connected must learn
// it at once, not from a timeout. It cannot know by itself (a plain Worker is
// attached after it was created), so the parent tells it: once a thread has a
// store or a client of one, it watches every Worker and child process it
// creates (Node publishes them on the 'worker_threads' and 'child_process'
// diagnostics channels) and answers a hello that no attach, fork or pool
// claims with `noStore`. (A worker or child of a client inherits its marks, so
// it too may call getStore() and must be told.)

/** Finds the handler of a worker's kvbus messages: a pool claims its own threads. */
export type WorkerClaim = (worker: Worker) => KvbusMessageHandler | undefined;

interface Watch {
  /** The pools' claims on the workers they start. */
  claims: Set<WorkerClaim>;
  /** The children whose IPC channel is kvbus's (attached), which the watch leaves alone. */
  attached: WeakSet<ChildProcess>;
}

/** Where a thread keeps its watch (a global symbol: the ESM and CJS builds share it). */
const WATCH = Symbol.for('kvbus.watch');

/**
 * Starts watching the workers and child processes this thread creates (once per thread).
 * @returns the watch
 */
export function watchSpawns(): Watch {
  const global = globalThis as typeof globalThis & { [WATCH]?: Watch };
  const existing = global[WATCH];
  if (existing) return existing;
  const watch: Watch = { claims: new Set(), attached: new WeakSet() };
  global[WATCH] = watch;
  subscribe('worker_threads', (message) => watchWorker(watch, (message as { worker: Worker }).worker));
  subscribe('child_process', (message) => watchChild(watch, (message as { process: ChildProcess }).process));
  return watch;
}

/**
 * Lets a pool serve the hellos of the workers it starts.
 * @param claim - the pool's claim
 * @returns a function that withdraws it
 */
export function claimWorkers(claim: WorkerClaim): () => void {
  const { claims } = watchSpawns();
  claims.add(claim);
  return () => claims.delete(claim);
}

/**
 * Tells the watch that kvbus serves this child on its IPC channel.
 * @param child - an attached child
 * @returns a function that says it no longer does
 */
export function markAttached(child: ChildProcess): () => void {
  const { attached } = watchSpawns();
  attached.add(child);
  return () => attached.delete(child);
}

/**
 * Shields a worker and routes its unhandled kvbus messages: to the pool that claims it, else refused.
 * @param watch - the watch
 * @param worker - a worker just created
 */
function watchWorker(watch: Watch, worker: Worker): void {
  shield(worker).unrouted = (message) => {
    for (const claim of watch.claims) {
      const handler = claim(worker);
      if (handler) return handler(message, worker);
    }
    refuseWorker(message);
  };
}

function watchChild(watch: Watch, child: ChildProcess): void {
  child.on('internalMessage', (message: unknown) => {
    if (watch.attached.has(child)) return;
    const inner = fromIpc(message);
    if (inner === undefined || !isChildHello(inner)) return;
    const refusal: ControlMessage = {
      p: PROTOCOL,
      noStore:
        "No kvbus store serves this child process: its parent did not attach it. Start it with store.fork(modulePath) from the store's thread, or call store.attach(child) there right after forking it (the child's environment needs KVBUS_PARENT=1)",
    };
    if (child.connected) child.send(toIpc(refusal), () => {});
  });
}

/**
 * Answers the hello of a worker that no store serves: its calls, waiting or blocked, fail with `ERR_NO_STORE`.
 * @param message - the worker's kvbus message
 */
function refuseWorker(message: unknown): void {
  const check = parseHello(message);
  if (!check.ok) return releaseHello(message);
  const { port, syncPort, syncFlag } = check.hello;
  const text =
    "No kvbus store serves this worker: its parent thread did not attach it. Start it with createPool({ filename }), or call store.attach(worker) right after new Worker(...), in the store's thread";
  // The worker closes the connection when it reads this (closing it here could drop the message).
  port.postMessage({ p: PROTOCOL, noStore: text } satisfies ControlMessage);
  // A worker blocked in store.sync cannot read its port: tell it on the sync port, and wake it.
  syncPort.postMessage([REFUSED_SEQ, false, encodeError(new KvbusError('ERR_NO_STORE', text))] satisfies WireReply);
  Atomics.store(syncFlag, 0, 1);
  Atomics.notify(syncFlag, 0);
}
