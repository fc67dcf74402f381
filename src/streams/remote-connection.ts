import type { MessagePort } from 'node:worker_threads';
import type { SubEvent } from '../actors/commands.js';
import type { Connection } from '../actors/connection.js';
import type { StoreActor } from '../actors/store-actor.js';
import { KvbusError } from '../errors.js';
import type { SubscriberBufferOptions } from '../types.js';
import { EventBuffer } from './event-buffer.js';
import type { MessageStream } from './message-stream.js';
import {
  ANSWERS,
  ANSWER_HEADER,
  PROTOCOL,
  REPLY_SLOTS,
  REQUESTS,
  REQUEST_HEADER,
  encodeError,
  pushEvent,
  nextRequest,
  readRequest,
  type ControlMessage,
  type WireReply,
} from './protocol.js';

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
  /** This tick's replies: (seq, value | -seq, error)*. */
  #replies: unknown[] = [];
  /**
   * This tick's answer without its replies: the header, then the events
   * already encoded for the wire (those within the window). When the tick has
   * no replies, the usual case for a subscriber, it is posted as it is.
   */
  #out: unknown[] = [ANSWERS, 0];
  /** Subscriptions to one channel: their messages need not carry the channel's name. */
  readonly #channelSids = new Set<number>();
  /** Whether `sid` is a channel subscription, remembered for the last one asked about: events come in runs. */
  readonly #channelKnown = (sid: number): boolean => {
    if (sid !== this.#knownSid) this.#known = this.#channelSids.has((this.#knownSid = sid));
    return this.#known;
  };
  #knownSid = 0;
  #known = false;
  /** Events past the window, waiting here (where the overflow policy can still choose). */
  readonly #events = new EventBuffer();
  readonly #syncSeqs = new Set<number>();
  /** Subscriptions ended by the 'error' policy, until the actor has removed them. */
  readonly #ended = new Set<number>();
  /**
   * How many events may be posted and not yet acknowledged: half the buffer, so
   * that the other half always waits here, where the overflow policy can still
   * choose what to drop (what is posted cannot be recalled).
   */
  readonly #window: number;
  #inflight = 0;
  #scheduled = false;
  #gone = false;

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
    this.#window = Math.max(1, Math.floor(options.buffer.size / 2));
    actor.connect(this);
    stream.onMessage((message) => this.#receive(message));
    stream.onClose(() => this.disconnect());
    this.#control({ p: PROTOCOL, welcome: { id: this.id, requestTimeoutMs: options.requestTimeoutMs, window: this.#window } });
  }

  reply(seq: number, ok: boolean, value: unknown): void {
    if (seq === 0 || this.#gone) return; // seq 0: the connection's own housekeeping
    if (this.#syncSeqs.delete(seq) && this.#options.sync) return this.#replySync(this.#options.sync, [seq, ok, ok ? value : encodeError(value)]);
    if (ok) this.#replies.push(seq, value);
    else this.#replies.push(-seq, encodeError(value));
    this.#schedule();
  }

  deliver(sid: number, event: SubEvent): void {
    if (this.#gone || (this.#ended.size > 0 && this.#ended.has(sid))) return;
    if (this.#inflight + this.#events.length >= this.#options.buffer.size) {
      const { size, overflow } = this.#options.buffer;
      this.#actor.counters.dropped++;
      if (overflow === 'drop-newest') return;
      if (overflow === 'error') return this.#endSubscription(sid, size);
      // drop-oldest: the oldest that is still here (the window keeps half the buffer here)
      if (!this.#events.shift()) return;
    }
    if (this.#inflight < this.#window && this.#events.length === 0) {
      // Within the window, and nothing waits before it: encode it for the wire now.
      pushEvent(this.#out, sid, event, this.#channelKnown(sid));
      this.#inflight++;
    } else {
      this.#events.push(sid, event);
    }
    this.#schedule();
  }

  /** The store closed: tell the client, then let go of the channel. */
  end(): void {
    if (this.#gone) return;
    this.#flush();
    this.#control({ p: PROTOCOL, closed: true });
    this.#release();
    this.#stream.close();
  }

  /** The client is gone (exit, crash, detach): drop its subscriptions and pending work at once. */
  disconnect(): void {
    if (this.#gone) return;
    this.#release();
    this.#stream.close();
    this.#actor.commands$.next({ conn: this, seq: 0, cmd: { type: 'sys.disconnect' } });
  }

  #release(): void {
    this.#gone = true;
    this.#options.onGone();
  }

  #receive(raw: unknown): void {
    if (this.#gone) return;
    if (!Array.isArray(raw) || raw[0] !== REQUESTS) {
      if ((raw as ControlMessage | null)?.p === PROTOCOL && (raw as ControlMessage).bye) return this.disconnect();
      return this.#malformed();
    }
    const ack = raw[1];
    if (typeof ack === 'number' && ack > 0) {
      this.#inflight = Math.max(0, this.#inflight - ack);
      if (this.#events.length > 0) this.#schedule();
    }
    const sync = raw[2];
    for (let at = REQUEST_HEADER; at < raw.length; ) {
      const seq = raw[at];
      const cmd = readRequest(raw, at);
      if (typeof seq !== 'number' || !(seq > 0) || !Number.isInteger(seq) || !cmd) {
        // The rest of the batch cannot be framed: answer this one if it can be, and stop.
        this.#malformed();
        if (typeof seq === 'number' && seq > 0 && Number.isInteger(seq)) {
          this.reply(seq, false, new KvbusError('ERR_BAD_ARGUMENT', `Unknown opcode ${String(raw[at + 1])}: this client speaks another kvbus protocol`));
        }
        return;
      }
      at = nextRequest(raw, at);
      if (cmd.type === 'sub.add' || cmd.type === 'sub.remove') {
        if (cmd.type === 'sub.remove') this.#channelSids.delete(cmd.sid);
        else if (cmd.topic.kind === 'channel') this.#channelSids.add(cmd.sid);
        this.#knownSid = 0; // forget the remembered answer
      }
      if (seq === sync) this.#syncSeqs.add(seq);
      // A command with fields of the wrong shape gets its error reply from the actor.
      this.#actor.commands$.next({ conn: this, seq, cmd });
    }
  }

  #malformed(): void {
    // Nothing to answer: no sequence number to answer to.
    this.#actor.counters.malformed++;
  }

  #endSubscription(sid: number, size: number): void {
    const error = new KvbusError(
      'ERR_DISCONNECTED',
      `This subscriber fell ${size} messages behind and was ended (subscriberBuffer.overflow: 'error'); consume faster or choose 'drop-oldest'`,
    );
    // The end travels behind the events already accepted, so they are delivered first.
    this.#ended.add(sid);
    this.#events.push(sid, { type: 'end', error: encodeError(error) });
    this.#schedule();
    this.#actor.commands$.next({ conn: this, seq: 0, cmd: { type: 'sub.remove', sid } });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(this.#flushTask);
  }

  readonly #flushTask = (): void => {
    this.#scheduled = false;
    this.#flush();
  };

  #flush(): void {
    if (this.#gone) return;
    const out = this.#out;
    const room = this.#window - this.#inflight;
    if (room > 0 && this.#events.length > 0) this.#inflight += this.#events.drainInto(out, room, this.#channelKnown);
    const replies = this.#replies;
    if (replies.length === 0 && out.length === ANSWER_HEADER) return;
    this.#out = [ANSWERS, 0];
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
        const error = new KvbusError('ERR_NOT_CLONEABLE', `The reply to request ${String(reply[0])} cannot be cloned (${(cause as Error).message}); with copy: false, store only cloneable values`);
        this.#stream.post([ANSWERS, 1, -(reply[0] as number), encodeError(error)]);
      }
    }
    if (message.length > replyEnd) {
      try {
        this.#stream.post([ANSWERS, 0, ...message.slice(replyEnd)]);
      } catch {
        this.#actor.counters.dropped++; // a batch of events that could not be sent
      }
    }
  }

  #control(message: ControlMessage): void {
    this.#stream.post(message);
  }

  #replySync(sync: { port: MessagePort; flag: Int32Array }, reply: WireReply): void {
    // Replies sent before this one must arrive first: flush them, then wake the blocked thread.
    this.#flush();
    try {
      sync.port.postMessage(reply);
    } catch (cause) {
      sync.port.postMessage([reply[0], false, encodeError(new KvbusError('ERR_NOT_CLONEABLE', `The reply cannot be cloned (${(cause as Error).message})`))]);
    }
    Atomics.store(sync.flag, 0, 1);
    Atomics.notify(sync.flag, 0);
  }
}
