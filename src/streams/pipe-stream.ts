import type { Socket } from 'node:net';
import { encodeFrame, FrameReader, MAX_FRAME_BYTES } from './frames.js';
import type { MessageStream } from './message-stream.js';

/** A {@link MessageStream} over a pipe of frames, which can also be broken by what the other side sent. */
export interface PipeStream extends MessageStream {
  /**
   * Called once if the other side broke the framing (a header that cannot be
   * true): the pipe is destroyed, and `onClose` follows.
   */
  onBroken(handler: (reason: string) => void): void;
}

/**
 * Wraps one end of kvbus's own pipe between a parent and a child process (see
 * frames.ts for what travels on it). Every message on it is kvbus's.
 * Nothing here can throw into the event loop: write errors (EPIPE once the other
 * side is gone) end in 'close', and a frame that cannot be decoded is handed
 * to `onUndecodable`, in order with the messages.
 * @param socket - the pipe
 * @param maxFrameBytes - the largest frame sent or accepted
 * @returns the stream
 */
export function pipeStream(socket: Socket, maxFrameBytes = MAX_FRAME_BYTES): PipeStream {
  const onMessage: Array<(message: unknown) => void> = [];
  const onUndecodable: Array<() => void> = [];
  const onBroken: Array<(reason: string) => void> = [];
  let closed = false;
  // Handlers added while a message is handed out see the next one, not this one
  // (as with an EventEmitter): a connection made by a hello does not read that hello.
  const emit = <T extends unknown[]>(handlers: Array<(...args: T) => void>, ...args: T) => {
    for (let i = 0, n = handlers.length; i < n && !closed; i++) handlers[i]!(...args);
  };
  const reader = new FrameReader(
    {
      message: (message) => emit(onMessage, message),
      undecodable: () => emit(onUndecodable),
      broken: (reason) => {
        emit(onBroken, reason);
        socket.destroy();
      },
    },
    maxFrameBytes,
  );
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  // EPIPE, ECONNRESET: the other side is gone; 'close' follows and ends the connection.
  socket.on('error', () => {});
  return {
    post: (message) => {
      const frame = encodeFrame(message, maxFrameBytes);
      if (!socket.destroyed && socket.writable) socket.write(frame);
    },
    onMessage: (handler) => void onMessage.push(handler),
    onUndecodable: (handler) => void onUndecodable.push(handler),
    onBroken: (handler) => void onBroken.push(handler),
    onClose: (handler) => void socket.once('close', handler),
    close: () => {
      if (closed) return;
      closed = true;
      // What was written still leaves (the store's 'closed' notice, a client's bye).
      socket.end();
      socket.unref();
    },
    ref: () => void socket.ref(),
    unref: () => void socket.unref(),
  };
}
