import type { MessagePort } from 'node:worker_threads';
import type { CacheConfig } from '../../cache-types.js';

// One protocol for every transport (MessagePort, IPC).
//
// The hot messages are flat arrays, because a structured clone of nested
// objects costs several times more than one of a flat array (measured: a
// one-get request as `{ p, req: [[seq, { type, key }]] }` costs ~4 µs to send
// and receive, as a flat array ~1.3 µs), and commands travel as small opcodes
// followed by exactly their fields (see requests.ts):
//   requests, client → store:  [REQUESTS, ack, syncSeq, (seq, opcode, ...fields)*]
//   answers,  store → client:  [ANSWERS, replyCount, (seq, value | -seq, error)*, (sid, kind, ...fields | -sid, data)*]
// `ack` is how many answer messages the client has received so far (read or
// not): the store learns from it which events left its window and which of
// its messages it may forget (see SentLog).
// The rare messages (hello, welcome, closed, bye, lost, redone) are objects tagged `p: PROTOCOL`.
//
// A message the other side could not read (a value nested too deeply for its
// stack) is not silently gone: each side numbers the data messages it posts
// (from 1), the receiver counts what arrives, read or not, and answers an
// unreadable one with `lost: n`. The sender then sends what message n carried
// again, one item per message and tagged RESENT_*, then `redone: n`; the
// receiver holds back the messages that came after n until `redone: n`, so
// the order in which calls are applied and events seen does not change. An
// item that was already alone and is lost again fails on its own (an error
// reply, or a dropped event).
// Both kinds carry a kvbus tag, so they can share a channel with the user's
// own messages (a child's IPC channel, a pool's 'message' event).

/** The tag and version of kvbus's control messages. */
export const PROTOCOL = 'kvbus/3';
/** The tag of a batch of requests. */
export const REQUESTS = 'kvbus/3:q';
/** The tag of a batch of replies and events. */
export const ANSWERS = 'kvbus/3:a';
/** The tag of one request sent again after its batch was lost (applied before what was held back). */
export const RESENT_REQUESTS = 'kvbus/3:Q';
/** The tag of one reply or event sent again after its batch was lost. */
export const RESENT_ANSWERS = 'kvbus/3:A';
/** Slots before the first request: the tag, the count of events acknowledged, the seq of a blocking call (0: none). */
export const REQUEST_HEADER = 3;
/** Slots before the first reply: the tag and the number of replies. */
export const ANSWER_HEADER = 2;
/** Slots per reply: the seq (negative for an error) and the value or error. */
export const REPLY_SLOTS = 2;
/** The seq of a sync-port notice that the hello was refused (see {@link WireReply}). */
export const REFUSED_SEQ = -1;

/**
 * A reply on the sync port: the sequence number it answers, success, and the
 * value or a wire error. Seq 0 is a notice instead: the data message numbered
 * `value` could not be read by the store (a blocked thread cannot see `lost` on
 * its stream). Seq {@link REFUSED_SEQ} says that no store serves this worker:
 * every call fails with the wire error it carries.
 */
export type WireReply = [seq: number, ok: boolean, value: unknown];

/** The control messages. */
export interface ControlMessage {
  p: typeof PROTOCOL;
  /** Store → client, first: the connection's id and settings. */
  welcome?: { id: number; requestTimeoutMs: number; window: number };
  /** Store → client: its near cache's settings (null: none); a worker's come on its sync port. */
  cache?: CacheConfig | null;
  /** Store → client: the store closed. */
  closed?: true;
  /** Parent → client: no store serves this thread or process (it was never attached); the text says how to connect it. */
  noStore?: string;
  /** Client → store: the client is going away. */
  bye?: true;
  /** Either way: the data message numbered `lost` (from 1) arrived but could not be read here. */
  lost?: number;
  /** Either way: everything of the lost message numbered `redone` has been sent again (or failed). */
  redone?: number;
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
  if (Array.isArray(message)) {
    const tag = message[0];
    return tag === REQUESTS || tag === ANSWERS || tag === RESENT_REQUESTS || tag === RESENT_ANSWERS;
  }
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
