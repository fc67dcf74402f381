import type { Worker } from 'node:worker_threads';
import { isProtocolMessage } from '../streams/protocol/framing.js';

// A worker's hello is the one kvbus message that travels on a channel the user
// also reads: a worker has no other way to hand its ports to the parent than
// `parentPort`, and piscina re-emits everything that comes that way as the
// pool's 'message' event. The shield takes kvbus's messages out of the
// worker's 'message' event before any listener (the user's, piscina's) sees
// them. It replaces `emit` on that one Worker object: Node emits a worker's
// messages with `this.emit('message', ...)`, an EventEmitter contract.

/** Where a shielded worker's kvbus messages go. */
export type KvbusMessageHandler = (message: unknown, worker: Worker) => void;

/** The shield of one worker (shared by every copy of kvbus in the thread: see {@link SHIELD}). */
export interface Shield {
  /** The handlers of kvbus's messages; when there is none, {@link Shield.unrouted} gets them. */
  readonly handlers: Set<KvbusMessageHandler>;
  /** What gets the kvbus messages nobody handles (a worker that was never attached). */
  unrouted: KvbusMessageHandler | undefined;
}

/** Where a worker keeps its shield (a global symbol: the ESM and CJS builds share it). */
const SHIELD: unique symbol = Symbol.for('kvbus.shield') as never;

type Shielded = Worker & { [SHIELD]?: Shield };

/**
 * Takes kvbus's messages out of a worker's 'message' event (once per worker).
 * @param worker - a worker thread's `Worker` object
 * @returns its shield
 */
export function shield(worker: Worker): Shield {
  const target = worker as Shielded;
  const existing = target[SHIELD];
  if (existing) return existing;
  const state: Shield = { handlers: new Set(), unrouted: undefined };
  const emit = target.emit;
  Object.defineProperty(target, SHIELD, { value: state });
  target.emit = function (this: Worker, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'message' || !isProtocolMessage(args[0])) return emit.call(this, event, ...args);
    if (state.handlers.size === 0) state.unrouted?.(args[0], worker);
    for (const handler of [...state.handlers]) handler(args[0], worker);
    return true;
  } as Worker['emit'];
  return state;
}
