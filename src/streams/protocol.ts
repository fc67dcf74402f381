import type { MessagePort } from 'node:worker_threads';
import type { Command, SubEvent, TopicKind } from '../actors/commands.js';
import { ERROR_CODES, KvbusError, type KvbusErrorCode } from '../errors.js';

// One protocol for every transport (MessagePort, IPC).
//
// The hot messages are flat arrays, because a structured clone of nested
// objects costs several times more than one of a flat array (measured: a
// one-get request as `{ p, req: [[seq, { type, key }]] }` costs ~4 µs to send
// and receive, as a flat array ~1.3 µs), and commands travel as small opcodes
// followed by exactly their arguments:
//   requests, client → store:  [REQUESTS, ack, syncSeq, (seq, opcode, ...args)*]
//   answers,  store → client:  [ANSWERS, replyCount, (seq, value | -seq, error)*, (sid, kind, ...fields | -sid, data)*]
// The rare messages (hello, welcome, closed, bye) are objects tagged `p: PROTOCOL`.
// Both kinds carry a kvbus tag, so they can share a channel with the user's
// own messages (a child's IPC channel, a pool's 'message' event).

/** The tag and version of kvbus's control messages. */
export const PROTOCOL = 'kvbus/2';
/** The tag of a batch of requests. */
export const REQUESTS = 'kvbus/2:q';
/** The tag of a batch of replies and events. */
export const ANSWERS = 'kvbus/2:a';
/** Slots before the first request, and before the first reply. */
export const REQUEST_HEADER = 3;
export const ANSWER_HEADER = 2;
/** Slots per reply. */
export const REPLY_SLOTS = 2;

// Opcodes, and how many arguments follow each. A `+` variant carries the options.
const OPS = [
  ['kv.get', 1],
  ['kv.getEntry', 1],
  ['kv.has', 1],
  ['kv.set', 2],
  ['kv.set+', 3],
  ['kv.delete', 1],
  ['kv.delete+', 2],
  ['kv.incr', 2],
  ['kv.apply', 3],
  ['bus.publish', 2],
  ['sub.add', 3],
  ['sub.remove', 1],
  ['kv.keys', 1],
  ['kv.getAll', 1],
  ['kv.clear', 0],
  ['sys.stats', 0],
  ['sys.disconnect', 0],
] as const;
const OPCODE = Object.fromEntries(OPS.map(([name], code) => [name, code])) as Record<(typeof OPS)[number][0], number>;

// Event kinds: an event is (sid, kind, ...). A message on a channel subscription,
// the bulk of the traffic, is only (-sid, data): the client knows its channel.
const EVENT_KINDS = ['message', 'set', 'snapshot', 'delete', 'expire', 'clear', 'end'] as const;
const EVENT_CODE = { message: 0, set: 1, snapshot: 2, delete: 3, expire: 4, clear: 5, end: 6 } as const;

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
    case 'kv.set':
      if (cmd.ttlMs === undefined && cmd.ifRevision === undefined && !cmd.keepTtl) out.push(seq, OPCODE['kv.set'], cmd.key, cmd.value);
      else out.push(seq, OPCODE['kv.set+'], cmd.key, cmd.value, [cmd.ttlMs, cmd.ifRevision, cmd.keepTtl === true]);
      return;
    case 'kv.delete':
      if (cmd.ifRevision === undefined) out.push(seq, OPCODE['kv.delete'], cmd.key);
      else out.push(seq, OPCODE['kv.delete+'], cmd.key, cmd.ifRevision);
      return;
    case 'kv.incr':
      out.push(seq, OPCODE[cmd.type], cmd.key, cmd.by);
      return;
    case 'kv.apply':
      out.push(seq, OPCODE[cmd.type], cmd.key, cmd.op, cmd.arg);
      return;
    case 'bus.publish':
      out.push(seq, OPCODE[cmd.type], cmd.channel, cmd.data);
      return;
    case 'sub.add':
      out.push(seq, OPCODE[cmd.type], cmd.sid, cmd.topic.kind, cmd.topic.name);
      return;
    case 'sub.remove':
      out.push(seq, OPCODE[cmd.type], cmd.sid);
      return;
    case 'kv.keys':
    case 'kv.getAll':
      out.push(seq, OPCODE[cmd.type], cmd.pattern);
      return;
    case 'kv.get':
    case 'kv.getEntry':
    case 'kv.has':
      out.push(seq, OPCODE[cmd.type], cmd.key);
      return;
    case 'kv.clear':
    case 'sys.stats':
    case 'sys.disconnect':
      out.push(seq, OPCODE[cmd.type]);
      return;
    default:
      throw new KvbusError('ERR_BAD_ARGUMENT', `The command ${cmd.type} cannot be sent to a store`);
  }
}

/**
 * Reads the request at `at` (whose slot `at` is its seq). The fields may be
 * anything (the actor validates them); an unknown opcode cannot be framed.
 * @param m - the batch
 * @param at - where the request starts
 * @returns the command, or undefined for an unknown opcode
 */
export function readRequest(m: readonly unknown[], at: number): Command | undefined {
  const code = m[at + 1];
  const op = typeof code === 'number' ? OPS[code] : undefined;
  if (op === undefined) return undefined;
  const name = op[0];
  const a = m[at + 2] as never;
  const b = m[at + 3] as never;
  const c = m[at + 4] as never;
  switch (name) {
    case 'kv.set':
      return { type: name, key: a, value: b };
    case 'kv.set+': {
      const cmd: Command = { type: 'kv.set', key: a, value: b };
      const [ttlMs, ifRevision, keepTtl] = Array.isArray(c) ? (c as [number?, number?, boolean?]) : [];
      if (ttlMs !== undefined) cmd.ttlMs = ttlMs;
      if (ifRevision !== undefined) cmd.ifRevision = ifRevision;
      if (keepTtl === true) cmd.keepTtl = true;
      return cmd;
    }
    case 'kv.delete':
      return { type: name, key: a };
    case 'kv.delete+':
      return { type: 'kv.delete', key: a, ifRevision: b };
    case 'kv.incr':
      return { type: name, key: a, by: b };
    case 'kv.apply':
      return c === undefined ? { type: name, key: a, op: b } : { type: name, key: a, op: b, arg: c };
    case 'bus.publish':
      return { type: name, channel: a, data: b };
    case 'sub.add':
      return { type: name, sid: a, topic: { kind: b as TopicKind, name: c } };
    case 'sub.remove':
      return { type: name, sid: a };
    case 'kv.keys':
    case 'kv.getAll':
      return a === undefined ? { type: name } : { type: name, pattern: a };
    case 'kv.get':
    case 'kv.getEntry':
    case 'kv.has':
      return { type: name, key: a };
    default:
      return { type: name };
  }
}

/**
 * Where the request after the one at `at` starts (its opcode must be known).
 * @param m - the batch
 * @param at - where the request starts
 * @returns the index of the next request
 */
export function nextRequest(m: readonly unknown[], at: number): number {
  return at + 2 + OPS[m[at + 1] as number]![1];
}

/**
 * Appends one subscription event to a batch.
 * @param out - the batch
 * @param sid - the subscription it is for
 * @param event - the event
 * @param channelKnown - the subscription is to one channel, so a message need not repeat its name
 */
export function pushEvent(out: unknown[], sid: number, event: SubEvent, channelKnown: boolean): void {
  switch (event.type) {
    case 'message':
      if (channelKnown) out.push(-sid, event.data);
      else out.push(sid, EVENT_CODE.message, event.channel, event.data);
      return;
    case 'set':
    case 'snapshot':
      out.push(sid, EVENT_CODE[event.type], event.key, event.value, event.revision);
      return;
    case 'delete':
    case 'expire':
      out.push(sid, EVENT_CODE[event.type], event.key, event.revision);
      return;
    case 'clear':
      out.push(sid, EVENT_CODE.clear, event.revision);
      return;
    case 'end':
      out.push(sid, EVENT_CODE.end, event.error);
  }
}

// Slots per event kind (sid and kind included), in the order of EVENT_KINDS.
const EVENT_SIZES = [4, 5, 5, 4, 4, 3, 3];

/**
 * The subscription an event at `at` is for.
 * @param m - the batch
 * @param at - where the event starts
 * @returns its sid
 */
export function eventSid(m: readonly unknown[], at: number): number {
  const sid = m[at] as number;
  return sid < 0 ? -sid : sid;
}

/**
 * Reads the event at `at`.
 * @param m - the batch
 * @param at - where the event starts
 * @param channel - the subscription's channel, for messages that omit it
 * @returns the event
 */
export function readEvent(m: readonly unknown[], at: number, channel: string): SubEvent {
  const a = m[at + 2];
  const b = m[at + 3];
  if ((m[at] as number) < 0) return { type: 'message', channel, data: m[at + 1] };
  switch (EVENT_KINDS[m[at + 1] as number]) {
    case 'message':
      return { type: 'message', channel: a as string, data: b };
    case 'set':
      return { type: 'set', key: a as string, value: b, revision: m[at + 4] as number };
    case 'snapshot':
      return { type: 'snapshot', key: a as string, value: b, revision: m[at + 4] as number };
    case 'delete':
      return { type: 'delete', key: a as string, revision: b as number };
    case 'expire':
      return { type: 'expire', key: a as string, revision: b as number };
    case 'clear':
      return { type: 'clear', key: '*', revision: a as number };
    default:
      return { type: 'end', error: a as WireError };
  }
}

/**
 * Where the event after the one at `at` starts.
 * @param m - the batch
 * @param at - where the event starts
 * @returns the index of the next event
 */
export function nextEvent(m: readonly unknown[], at: number): number {
  return (m[at] as number) < 0 ? at + 2 : at + (EVENT_SIZES[m[at + 1] as number] ?? 3);
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
