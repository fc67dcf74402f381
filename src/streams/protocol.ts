import type { MessagePort } from 'node:worker_threads';
import type { Command, SubEvent, TopicKind } from '../actors/commands.js';
import { ERROR_CODES, KvbusError, type KvbusErrorCode } from '../errors.js';

// One protocol for every transport (MessagePort, IPC).
//
// The hot messages are flat arrays, because a structured clone of nested
// objects costs several times more than one of a flat array (measured: a
// one-get request as `{ p, req: [[seq, { type, key }]] }` costs ~4 µs to send
// and receive, as a flat array ~1.3 µs):
//   requests, client → store:  [REQUESTS, ack, syncSeq, (seq, type, a, b, c)*]
//   answers,  store → client:  [ANSWERS, replyCount, (seq, ok, value)*, (sid, type, a, b, c)*]
// The rare ones (hello, welcome, closed, bye) are objects tagged `p: PROTOCOL`.
// Both kinds carry a kvbus tag, so they can share a channel with the user's
// own messages (a child's IPC channel, a pool's 'message' event).

/** The tag and version of kvbus's control messages. */
export const PROTOCOL = 'kvbus/1';
/** The tag of a batch of requests. */
export const REQUESTS = 'kvbus/1:q';
/** The tag of a batch of replies and events. */
export const ANSWERS = 'kvbus/1:a';
/** Slots before the first request, reply or event. */
export const REQUEST_HEADER = 3;
export const ANSWER_HEADER = 2;
/** Slots per request, reply and event. */
export const REQUEST_SLOTS = 5;
export const REPLY_SLOTS = 3;
export const EVENT_SLOTS = 5;

/** An error as it crosses a boundary: classes and `code` do not survive a structured clone. */
export interface WireError {
  name: string;
  code?: KvbusErrorCode | undefined;
  message: string;
}

/** A reply on the sync port: the sequence number it answers, success, and the value or a {@link WireError}. */
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
 * Appends one request to a batch.
 * @param out - the batch
 * @param seq - the request's sequence number
 * @param cmd - the command
 */
export function pushRequest(out: unknown[], seq: number, cmd: Command): void {
  switch (cmd.type) {
    case 'kv.set': {
      const options = cmd.ttlMs !== undefined || cmd.ifRevision !== undefined || cmd.keepTtl ? { ttlMs: cmd.ttlMs, ifRevision: cmd.ifRevision, keepTtl: cmd.keepTtl } : undefined;
      out.push(seq, cmd.type, cmd.key, cmd.value, options);
      return;
    }
    case 'kv.delete':
      out.push(seq, cmd.type, cmd.key, cmd.ifRevision, undefined);
      return;
    case 'kv.incr':
      out.push(seq, cmd.type, cmd.key, cmd.by, undefined);
      return;
    case 'kv.apply':
      out.push(seq, cmd.type, cmd.key, cmd.op, cmd.arg);
      return;
    case 'bus.publish':
      out.push(seq, cmd.type, cmd.channel, cmd.data, undefined);
      return;
    case 'sub.add':
      out.push(seq, cmd.type, cmd.sid, cmd.topic.kind, cmd.topic.name);
      return;
    case 'sub.remove':
      out.push(seq, cmd.type, cmd.sid, undefined, undefined);
      return;
    case 'kv.keys':
    case 'kv.getAll':
      out.push(seq, cmd.type, cmd.pattern, undefined, undefined);
      return;
    case 'kv.get':
    case 'kv.getEntry':
    case 'kv.has':
      out.push(seq, cmd.type, cmd.key, undefined, undefined);
      return;
    default:
      out.push(seq, cmd.type, undefined, undefined, undefined);
  }
}

/**
 * Reads the command of the request at `at` (whose slot `at` is its seq).
 * Anything may arrive: a wrong shape becomes a command the actor rejects.
 * @param m - the batch
 * @param at - where the request starts
 * @returns the command
 */
export function readRequest(m: readonly unknown[], at: number): Command {
  const type = m[at + 1];
  const a = m[at + 2] as never;
  const b = m[at + 3] as never;
  const c = m[at + 4] as never;
  switch (type) {
    case 'kv.set': {
      const cmd: Command = { type, key: a, value: b };
      const options = c as { ttlMs?: number; ifRevision?: number; keepTtl?: boolean } | undefined;
      if (options !== null && typeof options === 'object') {
        if (options.ttlMs !== undefined) cmd.ttlMs = options.ttlMs;
        if (options.ifRevision !== undefined) cmd.ifRevision = options.ifRevision;
        if (options.keepTtl) cmd.keepTtl = true;
      }
      return cmd;
    }
    case 'kv.delete':
      return b === undefined ? { type, key: a } : { type, key: a, ifRevision: b };
    case 'kv.incr':
      return { type, key: a, by: b };
    case 'kv.apply':
      return c === undefined ? { type, key: a, op: b } : { type, key: a, op: b, arg: c };
    case 'bus.publish':
      return { type, channel: a, data: b };
    case 'sub.add':
      return { type, sid: a, topic: { kind: b as TopicKind, name: c } };
    case 'sub.remove':
      return { type, sid: a };
    case 'kv.keys':
    case 'kv.getAll':
      return a === undefined ? { type } : { type, pattern: a };
    case 'kv.get':
    case 'kv.getEntry':
    case 'kv.has':
      return { type, key: a };
    default:
      return { type } as Command;
  }
}

/**
 * Appends one subscription event to a batch.
 * @param out - the batch
 * @param sid - the subscription it is for
 * @param event - the event
 */
export function pushEvent(out: unknown[], sid: number, event: SubEvent): void {
  switch (event.type) {
    case 'message':
      out.push(sid, 0, event.channel, event.data, undefined);
      return;
    case 'set':
    case 'snapshot':
      out.push(sid, event.type, event.key, event.value, event.revision);
      return;
    case 'delete':
    case 'expire':
    case 'clear':
      out.push(sid, event.type, event.key, undefined, event.revision);
      return;
    case 'end':
      out.push(sid, event.type, undefined, event.error, undefined);
  }
}

/**
 * Reads the event at `at` (whose slot `at` is its sid).
 * @param m - the batch
 * @param at - where the event starts
 * @returns the event
 */
export function readEvent(m: readonly unknown[], at: number): SubEvent {
  const type = m[at + 1];
  const a = m[at + 2] as string;
  const b = m[at + 3];
  const c = m[at + 4] as number;
  switch (type) {
    case 0:
      return { type: 'message', channel: a, data: b };
    case 'set':
    case 'snapshot':
      return { type, key: a, value: b, revision: c };
    case 'clear':
      return { type, key: '*', revision: c };
    case 'end':
      return { type, error: b as WireError };
    default:
      return { type: type as 'delete' | 'expire', key: a, revision: c };
  }
}

/**
 * Encodes an error for the wire.
 * @param error - what was thrown
 * @returns its name, code and message
 */
export function encodeError(error: unknown): WireError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      code: typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code) ? (code as KvbusErrorCode) : undefined,
      message: error.message,
    };
  }
  return { name: 'Error', message: String(error) };
}

/**
 * Rebuilds an error from the wire: a `KvbusError` with the same code when it had one.
 * @param wire - the encoded error
 * @returns the error to reject with
 */
export function decodeError(wire: WireError): Error {
  if (wire.code) return new KvbusError(wire.code, wire.message);
  const error = new Error(wire.message);
  error.name = wire.name;
  return error;
}
