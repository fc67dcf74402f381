// A message stream in memory, for the unit tests of both ends of the wire.
import type { MessageStream } from '../../src/streams/message-stream.js';

/**
 * A message stream in memory. `post` structured-clones what it is given, as a
 * real port does, so an uncloneable value throws a real DataCloneError.
 */
export class FakeStream implements MessageStream {
  readonly posted: unknown[] = [];
  closed = 0;
  referenced = true;
  refCalls = 0;
  #onMessage: ((message: unknown) => void) | undefined;
  #onClose: (() => void) | undefined;
  #onUndecodable: (() => void) | undefined;

  post(message: unknown): void {
    this.posted.push(structuredClone(message));
  }
  onMessage(handler: (message: unknown) => void): void {
    this.#onMessage = handler;
  }
  onClose(handler: () => void): void {
    this.#onClose = handler;
  }
  onUndecodable(handler: () => void): void {
    this.#onUndecodable = handler;
  }
  close(): void {
    this.closed++;
  }
  ref(): void {
    this.referenced = true;
    this.refCalls++;
  }
  unref(): void {
    this.referenced = false;
  }

  /** A message from the other end. */
  receive(message: unknown): void {
    this.#onMessage!(message);
  }
  /** A message from the other end that could not be read (a 'messageerror'). */
  receiveUndecodable(): void {
    this.#onUndecodable?.();
  }
  /** The other end went away. */
  hangUp(): void {
    this.#onClose!();
  }
  /** Removes and returns what was posted so far. */
  take(): unknown[] {
    return this.posted.splice(0);
  }
}
