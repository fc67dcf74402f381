import { KvbusError } from '../../errors.js';
import type { MessageStream } from '../message-stream.js';
import { nextEvent } from '../protocol/events.js';
import { ANSWER_HEADER, ANSWERS, REPLY_SLOTS } from '../protocol/framing.js';
import { encodeError } from '../protocol/wire-error.js';

/**
 * What the store sends one client in one tick, sent as one message at the end
 * of it: the replies, then the events already encoded for the wire.
 */
export class Outbox {
  readonly #stream: MessageStream;
  readonly #beforeSend: (events: unknown[]) => void;
  readonly #onLost: () => void;
  /** This tick's replies: (seq, value | -seq, error)*. */
  #replies: unknown[] = [];
  /**
   * This tick's answer without its replies: the header, then the events. When
   * the tick has no replies, the usual case for a subscriber, it is posted as it is.
   */
  #events: unknown[] = [ANSWERS, 0];
  #scheduled = false;
  #closed = false;

  /**
   * @param stream - the channel to the client
   * @param beforeSend - adds what waits to be sent to `events` (the buffered events that now fit the window)
   * @param onLost - an event could not be sent (it cannot be cloned): it will never be acknowledged
   */
  constructor(stream: MessageStream, beforeSend: (events: unknown[]) => void, onLost: () => void) {
    this.#stream = stream;
    this.#beforeSend = beforeSend;
    this.#onLost = onLost;
  }

  /** Where this tick's events are encoded (see pushEvent). */
  get events(): unknown[] {
    return this.#events;
  }

  /** Adds a reply to this tick's message. */
  reply(seq: number, ok: boolean, value: unknown): void {
    if (ok) this.#replies.push(seq, value);
    else this.#replies.push(-seq, encodeError(value));
    this.schedule();
  }

  /** Sends this tick's message at the end of the tick. */
  schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(this.#flushTask);
  }

  readonly #flushTask = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  /** Sends nothing more: the channel is gone. */
  close(): void {
    this.#closed = true;
  }

  /** Sends what this tick has so far, now. */
  flush(): void {
    if (this.#closed) return;
    const out = this.#events;
    this.#beforeSend(out);
    const replies = this.#replies;
    if (replies.length === 0 && out.length === ANSWER_HEADER) return;
    this.#events = [ANSWERS, 0];
    let message = out;
    if (replies.length > 0) {
      // Replies go first: [ANSWERS, replyCount, replies…, events…].
      this.#replies = [];
      message = [ANSWERS, replies.length / REPLY_SLOTS];
      for (let i = 0; i < replies.length; i++) message.push(replies[i]);
      for (let i = ANSWER_HEADER; i < out.length; i++) message.push(out[i]);
    }
    try {
      this.#stream.post(message);
    } catch (cause) {
      this.#salvage(message, cause);
    }
  }

  /**
   * A value in the batch could not be cloned (a `copy: false` store can hold
   * one): send the rest, and answer the offending requests with an error.
   */
  #salvage(message: unknown[], cause: unknown): void {
    const replyEnd = ANSWER_HEADER + (message[1] as number) * REPLY_SLOTS;
    for (let at = ANSWER_HEADER; at < replyEnd; at += REPLY_SLOTS) {
      const reply = message.slice(at, at + REPLY_SLOTS);
      try {
        this.#stream.post([ANSWERS, 1, ...reply]);
      } catch {
        const error = new KvbusError(
          'ERR_NOT_CLONEABLE',
          `The reply to request ${String(reply[0])} cannot be cloned (${(cause as Error).message}); with copy: false, store only cloneable values`,
        );
        this.#stream.post([ANSWERS, 1, -(reply[0] as number), encodeError(error)]);
      }
    }
    if (message.length > replyEnd) {
      try {
        this.#stream.post([ANSWERS, 0, ...message.slice(replyEnd)]);
      } catch {
        // One by one, so that only the events that cannot be cloned are lost.
        for (let at = replyEnd; at < message.length; ) {
          const next = nextEvent(message, at);
          try {
            this.#stream.post([ANSWERS, 0, ...message.slice(at, next)]);
          } catch {
            this.#onLost();
          }
          at = next;
        }
      }
    }
  }
}
