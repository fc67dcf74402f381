import type { MessagePort } from 'node:worker_threads';
import type { Command, SubEvent } from '../actors/commands.js';
import type { Connection } from '../actors/connection.js';
import type { StoreActor } from '../actors/store-actor.js';
import { KvbusError } from '../errors.js';
import type { SubscriberBufferOptions } from '../types.js';
import { EventBuffer } from './event-buffer.js';
import type { MessageStream } from './message-stream.js';
import { Outbox } from './outbox.js';
import { PROTOCOL, encodeError, isProtocolMessage, type ClientMessage, type StoreMessage, type WireEvent, type WireReply } from './protocol.js';

/** What a remote connection needs to know. */
export interface RemoteConnectionOptions {
  id: number;
  kind: 'worker' | 'process';
  buffer: SubscriberBufferOptions;
  requestTimeoutMs: number;
  /** For workers: where synchronous replies go, and the flag to wake the blocked thread with. */
  sync?: { port: MessagePort; flag: Int32Array } | undefined;
  /** Called once when the connection is gone (the other side closed, or the store did). */
  onGone: () => void;
}

/**
 * The store's side of one remote client. Replies and events produced in one
 * tick leave as one message. Events are flow-controlled: at most `buffer.size`
 * of them may be unacknowledged by the client plus waiting here; past that the
 * overflow policy drops (or ends the subscription), so a slow reader never
 * blocks a publisher and never grows the store's memory without bound.
 */
export class RemoteConnection implements Connection {
  readonly id: number;
  readonly kind: 'worker' | 'process';
  readonly #actor: StoreActor;
  readonly #stream: MessageStream;
  readonly #options: RemoteConnectionOptions;
  readonly #replies: Outbox<WireReply>;
  readonly #events = new EventBuffer<WireEvent>();
  readonly #syncSeqs = new Set<number>();
  #inflight = 0;
  #gone = false;
  /** Subscriptions ended by the 'error' policy, until the actor has removed them. */
  readonly #ended = new Set<number>();
  /**
   * How many events may be posted and not yet acknowledged: half the buffer, so
   * that the other half always waits here, where the overflow policy can still
   * choose what to drop (what is posted cannot be recalled).
   */
  readonly #window: number;

  /**
   * @param actor - the store actor
   * @param stream - the channel to the client
   * @param options - identity, buffer policy, sync channel
   */
  constructor(actor: StoreActor, stream: MessageStream, options: RemoteConnectionOptions) {
    this.id = options.id;
    this.kind = options.kind;
    this.#actor = actor;
    this.#stream = stream;
    this.#options = options;
    this.#replies = new Outbox((replies) => this.#flush(replies));
    this.#window = Math.max(1, Math.floor(options.buffer.size / 2));
    actor.connect(this);
    stream.onMessage((message) => this.#receive(message));
    stream.onClose(() => this.disconnect());
    this.#post({ p: PROTOCOL, welcome: { id: this.id, requestTimeoutMs: options.requestTimeoutMs, window: this.#window } });
  }

  reply(seq: number, ok: boolean, value: unknown): void {
    if (seq === 0 || this.#gone) return; // seq 0: the connection's own housekeeping
    const reply: WireReply = [seq, ok, ok ? value : encodeError(value)];
    if (this.#syncSeqs.delete(seq)) return this.#replySync(reply);
    this.#replies.push(reply);
  }

  deliver(sid: number, event: SubEvent): void {
    if (this.#gone || this.#ended.has(sid)) return;
    const { size, overflow } = this.#options.buffer;
    if (this.#inflight + this.#events.length >= size) {
      this.#actor.counters.dropped++;
      if (overflow === 'drop-newest') return;
      if (overflow === 'error') return this.#endSubscription(sid, size);
      // drop-oldest: the oldest that is still here (the window keeps half the buffer here)
      if (this.#events.shift() === undefined) return;
    }
    this.#events.push([sid, event]);
    this.#replies.schedule();
  }

  /** The store closed: tell the client, then let go of the channel. */
  end(): void {
    if (this.#gone) return;
    this.#flush(this.#replies.take());
    this.#post({ p: PROTOCOL, closed: true });
    this.#release();
    this.#stream.close();
  }

  /** The client is gone (exit, crash, detach): drop its subscriptions and pending work at once. */
  disconnect(): void {
    if (this.#gone) return;
    this.#release();
    this.#stream.close();
    this.#send({ type: 'sys.disconnect' });
  }

  #release(): void {
    this.#gone = true;
    this.#options.onGone();
  }

  #receive(raw: unknown): void {
    if (this.#gone) return;
    if (!isProtocolMessage(raw)) return this.#malformed();
    const message = raw as ClientMessage;
    if (typeof message.ack === 'number' && message.ack > 0) {
      this.#inflight = Math.max(0, this.#inflight - message.ack);
      if (this.#events.length > 0) this.#replies.schedule();
    }
    if (message.req !== undefined) {
      if (!Array.isArray(message.req)) return this.#malformed();
      for (const request of message.req) {
        if (!Array.isArray(request) || typeof request[0] !== 'number' || !(request[0] > 0)) {
          this.#malformed();
          continue;
        }
        const [seq, cmd] = request;
        if (seq === message.sync) this.#syncSeqs.add(seq);
        // A command that is not an object gets its error reply from the actor.
        this.#actor.commands$.next({ conn: this, seq, cmd: cmd as Command });
      }
    }
    if (message.bye) this.disconnect();
  }

  #malformed(): void {
    // Nothing to answer: no sequence number to answer to.
    this.#actor.counters.malformed++;
  }

  #send(cmd: Command): void {
    this.#actor.commands$.next({ conn: this, seq: 0, cmd });
  }

  #endSubscription(sid: number, size: number): void {
    const error = new KvbusError(
      'ERR_DISCONNECTED',
      `This subscriber fell ${size} messages behind and was ended (subscriberBuffer.overflow: 'error'); consume faster or choose 'drop-oldest'`,
    );
    // The end travels behind the events already accepted, so they are delivered first.
    this.#ended.add(sid);
    this.#events.push([sid, { type: 'end', error: encodeError(error) }]);
    this.#replies.schedule();
    this.#send({ type: 'sub.remove', sid });
  }

  #flush(replies: WireReply[]): void {
    if (this.#gone) return;
    const room = this.#window - this.#inflight;
    const events = room > 0 && this.#events.length > 0 ? this.#events.take(room) : undefined;
    if (replies.length === 0 && !events) return;
    const message: StoreMessage = { p: PROTOCOL };
    if (replies.length > 0) message.res = replies;
    if (events) {
      message.ev = events;
      this.#inflight += events.length;
    }
    this.#post(message, replies);
  }

  /** Posts; when a value cannot be cloned, answers that request with an error instead of losing the batch. */
  #post(message: StoreMessage, replies?: WireReply[]): void {
    try {
      this.#stream.post(message);
    } catch (error) {
      if (!replies || replies.length === 0) throw error;
      // Retry one by one so that only the offending replies turn into errors.
      const events = message.ev;
      for (const reply of replies) {
        try {
          this.#stream.post({ p: PROTOCOL, res: [reply] });
        } catch (cause) {
          const notCloneable = new KvbusError('ERR_NOT_CLONEABLE', `The reply to request ${reply[0]} cannot be cloned (${(cause as Error).message}); with copy: false, store only cloneable values`);
          this.#stream.post({ p: PROTOCOL, res: [[reply[0], false, encodeError(notCloneable)]] });
        }
      }
      if (events) this.#stream.post({ p: PROTOCOL, ev: events });
    }
  }

  #replySync(reply: WireReply): void {
    const sync = this.#options.sync;
    if (!sync) return this.#replies.push(reply);
    // Replies sent before this one must arrive first: flush them, then wake the blocked thread.
    this.#flush(this.#replies.take());
    try {
      sync.port.postMessage(reply);
    } catch (cause) {
      sync.port.postMessage([reply[0], false, encodeError(new KvbusError('ERR_NOT_CLONEABLE', `The reply cannot be cloned (${(cause as Error).message})`))]);
    }
    Atomics.store(sync.flag, 0, 1);
    Atomics.notify(sync.flag, 0);
  }
}
