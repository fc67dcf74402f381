import type { MessagePort } from 'node:worker_threads';
import type { Command, SubEvent } from '../actors/commands.js';
import { ERROR_CODES, KvbusError, type KvbusErrorCode } from '../errors.js';

// One protocol for every transport (MessagePort, IPC). Every message is a plain
// object tagged with PROTOCOL so it can share a channel with the user's own
// messages (a child's IPC channel, a pool's 'message' event) without confusion.

/** The tag and version of kvbus messages. */
export const PROTOCOL = 'kvbus/1';

/** An error as it crosses a boundary: classes and `code` do not survive a structured clone. */
export interface WireError {
  name: string;
  code?: KvbusErrorCode | undefined;
  message: string;
}

/** A request: the client's sequence number and the command. */
export type WireRequest = [seq: number, cmd: Command];
/** A reply: the sequence number it answers, success, and the value or a {@link WireError}. */
export type WireReply = [seq: number, ok: boolean, value: unknown];
/** An event for the client's subscription `sid`. */
export type WireEvent = [sid: number, event: SubEvent];

/** Client → store. */
export interface ClientMessage {
  p: typeof PROTOCOL;
  /** Requests made in one tick, in order. */
  req?: WireRequest[];
  /** How many events the client has processed since its last ack (flow control). */
  ack?: number;
  /** The seq of a request the client waits for synchronously: answer it on the sync port and notify. */
  sync?: number;
  /** The client is going away. */
  bye?: true;
}

/** Store → client. */
export interface StoreMessage {
  p: typeof PROTOCOL;
  /** Sent first: the connection's id and settings. */
  welcome?: { id: number; requestTimeoutMs: number; window: number };
  res?: WireReply[];
  ev?: WireEvent[];
  /** The store closed: reject everything, complete every subscription. */
  closed?: true;
}

/** A worker's first message (through `parentPort`): the port to talk on and what `sync` needs. */
export interface HelloMessage {
  p: typeof PROTOCOL;
  hello: { threadId: number; port: MessagePort; syncPort: MessagePort; syncFlag: Int32Array };
}

/**
 * Tells whether a message is one of kvbus's.
 * @param message - anything received
 * @returns true when it carries the kvbus protocol tag
 */
export function isProtocolMessage(message: unknown): message is { p: typeof PROTOCOL } {
  return message !== null && typeof message === 'object' && (message as { p?: unknown }).p === PROTOCOL;
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
