import { MessagePort } from 'node:worker_threads';
import { describe } from '../errors.js';
import { type HelloMessage, isProtocolMessage, PROTOCOL } from '../streams/protocol/framing.js';

// A worker's hello is the one message from a worker that the main thread uses
// as it is: its port is served, its sync port and flag are written to when a
// blocking call is answered. Anything wrong in it would throw in the main
// thread (a 'message' listener, or the actor's reply path) and kill the
// process, so every field is checked here, before any of it is touched.

/** A worker's hello whose every field was checked. */
export type Hello = HelloMessage['hello'];

/** What {@link parseHello} found. */
export type HelloCheck =
  | { ok: true; hello: Hello }
  /** A kvbus message that is not a usable hello; `threadId` when it named a valid one. */
  | { ok: false; reason: string; threadId?: number | undefined }
  /** Not kvbus's at all: the user's own message on the same channel, left alone. */
  | { ok: false; reason: undefined };

/**
 * Reads a message from a worker as kvbus's hello, checking every field.
 * @param message - anything a worker sent through `parentPort`
 * @returns the hello, or why it is not one (`reason` undefined when the message is not kvbus's)
 */
export function parseHello(message: unknown): HelloCheck {
  if (!isProtocolMessage(message)) return { ok: false, reason: undefined };
  if (Array.isArray(message)) return { ok: false, reason: 'expected a hello as the first message, got a request batch' };
  // Own properties only: a message is a structured clone, but `__proto__` may still be an own key.
  const body = own(message as object, 'hello');
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, reason: `expected \`hello\` to be an object, got ${describe(body)}` };
  }
  const threadId = own(body, 'threadId');
  const id = Number.isSafeInteger(threadId) && (threadId as number) > 0 ? (threadId as number) : undefined;
  const fail = (reason: string) => ({ ok: false as const, reason, threadId: id });
  if (id === undefined) return fail(`expected \`hello.threadId\` to be a positive integer, got ${describe(threadId)}`);
  const port = own(body, 'port');
  if (!(port instanceof MessagePort)) return fail(`expected \`hello.port\` to be a MessagePort, got ${describe(port)}`);
  const syncPort = own(body, 'syncPort');
  if (!(syncPort instanceof MessagePort)) return fail(`expected \`hello.syncPort\` to be a MessagePort, got ${describe(syncPort)}`);
  if (syncPort === port) return fail('expected `hello.syncPort` to be another port than `hello.port`');
  const syncFlag = own(body, 'syncFlag');
  // Atomics.store/notify on it must not throw: an Int32Array with a slot 0, on shared memory (or the blocked worker never wakes).
  if (!(syncFlag instanceof Int32Array) || syncFlag.length < 1 || !(syncFlag.buffer instanceof SharedArrayBuffer)) {
    return fail(`expected \`hello.syncFlag\` to be an Int32Array of length ≥ 1 on a SharedArrayBuffer, got ${describe(syncFlag)}`);
  }
  return { ok: true, hello: { threadId: id, port, syncPort, syncFlag } };
}

/**
 * Tells whether a message from a child process is its hello (the first kvbus message it sends).
 * @param message - anything received from the child
 * @returns true for `{ p: PROTOCOL }` with no other control field
 */
export function isChildHello(message: unknown): boolean {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return false;
  return own(message, 'p') === PROTOCOL && own(message, 'hello') === undefined;
}

/**
 * Closes what a rejected hello carried, so that its ports hold nothing open.
 * @param message - the rejected message
 */
export function releaseHello(message: unknown): void {
  const body = message !== null && typeof message === 'object' ? own(message, 'hello') : undefined;
  if (body === null || typeof body !== 'object') return;
  for (const name of ['port', 'syncPort']) {
    const port = own(body, name);
    if (port instanceof MessagePort) port.close();
  }
}

function own(object: object, name: string): unknown {
  return Object.hasOwn(object, name) ? (object as Record<string, unknown>)[name] : undefined;
}
