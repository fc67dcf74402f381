import type { ChildProcess } from 'node:child_process';
import type { MessagePort } from 'node:worker_threads';
import { isProtocolMessage } from './protocol/framing.js';

/**
 * A two-way message channel, whatever carries it: a `MessagePort` between
 * threads, kvbus's own pipe to a child process, or a child's IPC channel (as
 * Node's internal messages, see {@link IPC_CMD}). Only kvbus messages come out
 * of it, and the user's listeners never see them.
 */
export interface MessageStream {
  /** Sends one message; throws (a `DataCloneError`) when it cannot be serialized. */
  post(message: unknown): void;
  onMessage(handler: (message: unknown) => void): void;
  /**
   * Called, in order with `onMessage`, for each message the other side sent that
   * could not be read here (a `'messageerror'`: a value nested too deeply for
   * this thread's stack). The message is gone; the stream goes on.
   */
  onUndecodable(handler: () => void): void;
  /** Called once when the other side is gone. */
  onClose(handler: () => void): void;
  close(): void;
  /** Keep this thread or process alive while something waits on the stream. */
  ref(): void;
  unref(): void;
}

/**
 * Wraps a `MessagePort` whose every message is kvbus's.
 * @param port - one end of a `MessageChannel`
 * @returns the stream
 */
export function portStream(port: MessagePort): MessageStream {
  return {
    post: (message) => port.postMessage(message),
    onMessage: (handler) => port.on('message', handler),
    onUndecodable: (handler) => port.on('messageerror', handler),
    onClose: (handler) => port.once('close', handler),
    close: () => port.close(),
    ref: () => port.ref(),
    unref: () => port.unref(),
  };
}

/**
 * The `cmd` of kvbus's messages on a child's IPC channel. Node reserves the
 * `NODE_` prefix for its own messages on that channel and emits them as
 * `'internalMessage'`, never as `'message'` (cluster's `NODE_CLUSTER` travels
 * so): kvbus's traffic then never reaches the user's `'message'` listeners on
 * either side, and Node does not hold it back while nobody listens to
 * `'message'` (it queues plain messages until a listener comes).
 */
export const IPC_CMD = 'NODE_KVBUS';

/**
 * Reads what kvbus sent in one IPC message.
 * @param message - an `'internalMessage'` of a child's IPC channel
 * @returns kvbus's message, or undefined when it is not kvbus's
 */
export function fromIpc(message: unknown): unknown {
  if (message === null || typeof message !== 'object' || (message as { cmd?: unknown }).cmd !== IPC_CMD) return undefined;
  const inner = (message as { m?: unknown }).m;
  return isProtocolMessage(inner) ? inner : undefined;
}

/**
 * Wraps a kvbus message for an IPC channel (see {@link IPC_CMD}).
 * @param message - kvbus's message
 * @returns the IPC message
 */
export function toIpc(message: unknown): { cmd: typeof IPC_CMD; m: unknown } {
  return { cmd: IPC_CMD, m: message };
}

/**
 * Wraps the parent's end of a child's IPC channel.
 * @param child - a child process with an IPC channel
 * @returns the stream
 */
export function childStream(child: ChildProcess): MessageStream {
  const listeners: Array<() => void> = [];
  return {
    post: (message) => {
      // With a callback, a send to a child that just died (EPIPE) is reported
      // here instead of as an 'error' event that would crash the parent.
      if (child.connected) child.send(toIpc(message), ignoreSendError);
    },
    onMessage: (handler) => {
      const listener = (message: unknown) => {
        const inner = fromIpc(message);
        if (inner !== undefined) handler(inner);
      };
      child.on('internalMessage', listener);
      listeners.push(() => child.off('internalMessage', listener));
    },
    // Node's IPC parser throws instead; the pool side guards it and cuts the channel (see pool/ipc-guard.ts).
    onUndecodable: () => {},
    onClose: (handler) => {
      let done = false;
      const once = () => (done ? undefined : ((done = true), handler()));
      child.once('disconnect', once);
      child.once('exit', once);
      listeners.push(() => (child.off('disconnect', once), child.off('exit', once)));
    },
    close: () => {
      for (const remove of listeners.splice(0)) remove();
    },
    // The parent's side never holds its own process open on a child.
    ref: () => {},
    unref: () => {},
  };
}

/**
 * Wraps a child process's own IPC channel to its parent.
 * @returns the stream
 */
export function parentProcessStream(): MessageStream {
  const proc = process as NodeJS.Process & { channel?: { ref(): void; unref(): void } };
  return {
    post: (message) => {
      if (proc.connected) proc.send!(toIpc(message), undefined, undefined, ignoreSendError);
    },
    onMessage: (handler) => {
      proc.on('internalMessage', (message: unknown) => {
        const inner = fromIpc(message);
        if (inner !== undefined) handler(inner);
      });
    },
    onUndecodable: () => {},
    onClose: (handler) => {
      proc.once('disconnect', handler);
    },
    close: () => {},
    ref: () => proc.channel?.ref(),
    unref: () => proc.channel?.unref(),
  };
}

// The channel is going away: its 'disconnect'/'exit' will end the connection.
function ignoreSendError(): void {}
