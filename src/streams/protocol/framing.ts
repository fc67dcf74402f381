import type { MessagePort } from 'node:worker_threads';

// One protocol for every transport (MessagePort, IPC).
//
// The hot messages are flat arrays, because a structured clone of nested
// objects costs several times more than one of a flat array (measured: a
// one-get request as `{ p, req: [[seq, { type, key }]] }` costs ~4 µs to send
// and receive, as a flat array ~1.3 µs), and commands travel as small opcodes
// followed by exactly their fields (see requests.ts):
//   requests, client → store:  [REQUESTS, ack, syncSeq, (seq, opcode, ...fields)*]
//   answers,  store → client:  [ANSWERS, replyCount, (seq, value | -seq, error)*, (sid, kind, ...fields | -sid, data)*]
// The rare messages (hello, welcome, closed, bye) are objects tagged `p: PROTOCOL`.
// Both kinds carry a kvbus tag, so they can share a channel with the user's
// own messages (a child's IPC channel, a pool's 'message' event).

/** The tag and version of kvbus's control messages. */
export const PROTOCOL = 'kvbus/3';
/** The tag of a batch of requests. */
export const REQUESTS = 'kvbus/3:q';
/** The tag of a batch of replies and events. */
export const ANSWERS = 'kvbus/3:a';
/** Slots before the first request: the tag, the count of events acknowledged, the seq of a blocking call (0: none). */
export const REQUEST_HEADER = 3;
/** Slots before the first reply: the tag and the number of replies. */
export const ANSWER_HEADER = 2;
/** Slots per reply: the seq (negative for an error) and the value or error. */
export const REPLY_SLOTS = 2;

/** A reply on the sync port: the sequence number it answers, success, and the value or a wire error. */
export type WireReply = [seq: number, ok: boolean, value: unknown];

/** The control messages. */
export interface ControlMessage {
  p: typeof PROTOCOL;
  /** Store → client, first: the connection's id and settings. */
  welcome?: { id: number; requestTimeoutMs: number; window: number };
  /** Store → client: the store closed. */
  closed?: true;
  /** Client → store: the client is going away. */
  bye?: true;
}

/** A worker's first message (through `parentPort`): the port to talk on and what `sync` needs. */
export interface HelloMessage {
  p: typeof PROTOCOL;
  hello: { threadId: number; port: MessagePort; syncPort: MessagePort; syncFlag: Int32Array };
}

/**
 * Tells whether a message is one of kvbus's.
 * @param message - anything received
 * @returns true when it carries a kvbus tag
 */
export function isProtocolMessage(message: unknown): boolean {
  if (Array.isArray(message)) return message[0] === REQUESTS || message[0] === ANSWERS;
  return message !== null && typeof message === 'object' && (message as { p?: unknown }).p === PROTOCOL;
}

/**
 * Tells whether a message is a worker's hello.
 * @param message - anything received from a worker
 * @returns true when it is kvbus's hello (its body is checked where it is used)
 */
export function isHello(message: unknown): message is HelloMessage {
  return isProtocolMessage(message) && typeof (message as Partial<HelloMessage>).hello === 'object';
}
