import type { SubEvent } from '../../commands/events.js';
import { KvbusError } from '../../errors.js';
import type { MessageStream } from '../message-stream.js';
import { nextEvent, pushEvent } from '../protocol/events.js';
import { ANSWER_HEADER, ANSWERS, REPLY_SLOTS, RESENT_ANSWERS } from '../protocol/framing.js';
import { SentLog } from '../protocol/sent-log.js';
import { encodeError } from '../protocol/wire-error.js';

/**
 * What the store sends one client in one tick, sent as one message at the end
 * of it: the replies, then the events already encoded for the wire. Each
 * message posted is kept (with how many events it carried) until the client
 * acknowledges it, so one the client could not read can be sent again.
 */
export class Outbox {
  readonly #stream: MessageStream;
  readonly #beforeSend: (events: unknown[]) => number;
  readonly #onLost: () => void;
  readonly #sent = new SentLog();
  /** This tick's replies: (seq, value | -seq, error)*. */
  #replies: unknown[] = [];
  /**
   * This tick's answer without its replies: the header, then the events. When
   * the tick has no replies, the usual case for a subscriber, it is posted as it is.
   */
  #events: unknown[] = [ANSWERS, 0];
  /** Events in #events. */
  #eventCount = 0;
  #scheduled = false;
  #closed = false;

  /**
   * @param stream - the channel to the client
   * @param beforeSend - adds what waits to be sent to `events` (the buffered events that now fit the window); returns how many
   * @param onLost - an event was never delivered (it cannot be cloned, or the client could not read it): it will never be acknowledged
   */
  constructor(stream: MessageStream, beforeSend: (events: unknown[]) => number, onLost: () => void) {
    this.#stream = stream;
    this.#beforeSend = beforeSend;
    this.#onLost = onLost;
  }

  /** Answer messages posted so far. */
  get posted(): number {
    return this.#sent.posted;
  }

  /** Encodes an event into this tick's message. */
  event(sid: number, event: SubEvent, channel: boolean): void {
    pushEvent(this.#events, sid, event, channel);
    this.#eventCount++;
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

  /**
   * The client received the messages numbered up to `count`.
   * @param count - the client's acknowledgement
   * @param delivered - called with how many events each message carried
   */
  acknowledge(count: number, delivered: (events: number) => void): void {
    this.#sent.forgetThrough(count, delivered);
  }

  /** Sends what this tick has so far, now. */
  flush(): void {
    if (this.#closed) return;
    const out = this.#events;
    const events = this.#eventCount + this.#beforeSend(out);
    const replies = this.#replies;
    if (replies.length === 0 && out.length === ANSWER_HEADER) return;
    this.#events = [ANSWERS, 0];
    this.#eventCount = 0;
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
      // A value in the batch could not be cloned (a `copy: false` store can hold one):
      // send the rest, and answer the offending requests with an error.
      const problem = (cause as Error).message;
      const error = (seq: number) =>
        new KvbusError(
          'ERR_NOT_CLONEABLE',
          `The reply to request ${seq} cannot be cloned (${problem}); with copy: false, store only cloneable values`,
        );
      return this.#postApart(message, ANSWERS, false, error, events);
    }
    this.#sent.add(message, events);
  }

  /**
   * The client could not read message `number`: send each of its replies and
   * events alone; one that was already alone fails (an error reply, a dropped event).
   * @param number - the lost message
   */
  resend(number: number): void {
    const taken = this.#sent.take(number);
    if (taken === undefined || this.#closed) return;
    const [message, events] = taken;
    const alone = (message[1] as number) + events === 1;
    const error = (seq: number) =>
      new KvbusError(
        'ERR_NOT_CLONEABLE',
        `The client could not read the reply to its request ${seq} (a value nested too deeply for its stack?); store flatter values`,
      );
    this.#postApart(message, RESENT_ANSWERS, alone, error, 0);
  }

  /**
   * Posts a message's content apart: each reply in a message of its own, the
   * events together (when `eventsTogether` says how many) or else one by one.
   * What cannot go fails alone: an error reply from `errorFor`, a lost event.
   * @param alone - the message held one item, which fails without being tried again
   */
  #postApart(message: unknown[], tag: string, alone: boolean, errorFor: (seq: number) => KvbusError, eventsTogether: number): void {
    const replyEnd = ANSWER_HEADER + (message[1] as number) * REPLY_SLOTS;
    for (let at = ANSWER_HEADER; at < replyEnd; at += REPLY_SLOTS) {
      const seq = message[at] as number;
      if (!alone && this.#post([tag, 1, seq, message[at + 1]], 0)) continue;
      this.#post([tag, 1, -Math.abs(seq), encodeError(errorFor(Math.abs(seq)))], 0);
    }
    if (message.length === replyEnd) return;
    if (eventsTogether > 0 && this.#post([tag, 0, ...message.slice(replyEnd)], eventsTogether)) return;
    for (let at = replyEnd; at < message.length; ) {
      const next = nextEvent(message, at);
      if (alone || !this.#post([tag, 0, ...message.slice(at, next)], 1)) this.#onLost();
      at = next;
    }
  }

  /** Posts and keeps one message; false when it cannot be cloned. */
  #post(message: unknown[], events: number): boolean {
    try {
      this.#stream.post(message);
    } catch {
      return false;
    }
    this.#sent.add(message, events);
    return true;
  }
}
