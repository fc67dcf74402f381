import type { Connection, ConnectionDetail } from '../../commands/connection.js';
import type { SubEvent } from '../../commands/events.js';
import type { ActorGate, Session } from '../../commands/gate.js';
import { overflowError } from '../../errors.js';
import type { KeyChange, TopicKind } from '../../types.js';
import type { MessageStream } from '../message-stream.js';
import { Arrivals } from '../protocol/arrivals.js';
import { type ControlMessage, PROTOCOL, REQUESTS, RESENT_REQUESTS } from '../protocol/framing.js';
import { encodeError } from '../protocol/wire-error.js';
import { EventBuffer } from './event-buffer.js';
import { Outbox } from './outbox.js';
import { PausedFeeds } from './paused-feeds.js';
import { MAX_HELD, MAX_UNACKED, type RemoteConnectionOptions } from './remote-connection-options.js';
import { RequestIntake } from './request-intake.js';

export type { RemoteConnectionOptions };

import { SyncPort } from './sync-reply.js';

/**
 * The store's side of one remote client. Replies and events produced in one
 * tick leave as one message. Events are flow-controlled: at most `buffer.size`
 * of them may be unacknowledged by the client plus waiting here; past that the
 * overflow policy drops (or ends the subscription), so a slow reader never
 * blocks a publisher and never grows the store's memory without bound. A
 * watch is never dropped that way: it keeps only its latest waiting event.
 * A message either side could not read is sent again item by item, in order
 * (see protocol/framing.ts).
 */
export class RemoteConnection implements Connection {
  readonly id: number;
  readonly kind: 'worker' | 'process';
  readonly #session: Session;
  readonly #stream: MessageStream;
  readonly #options: RemoteConnectionOptions;
  readonly #outbox: Outbox;
  /** Events past the window, waiting here (where the overflow policy can still choose). */
  readonly #events = new EventBuffer();
  /** For a worker: where its blocking calls are answered. */
  readonly #sync: SyncPort | undefined;
  /** Subscriptions ended by the 'error' policy, until the actor has removed them. */
  readonly #ended = new Set<number>();
  /** `changes` subscriptions paused instead of overflowing (they lose nothing: they resume from history). */
  readonly #feeds: PausedFeeds;
  /**
   * How many events may be posted and not yet acknowledged: half the buffer, so
   * that the other half always waits here, where the overflow policy can still
   * choose what to drop (what is posted cannot be recalled).
   */
  readonly #window: number;
  #inflight = 0;
  /** Answer messages the client has acknowledged (received, read or not). */
  #acked = 0;
  /** The request messages received, in order; holds back those behind one that could not be read. */
  readonly #arrivals: Arrivals;
  #gone = false;
  #dropped = 0;
  /** Why the store cut this client off, when it did. */
  #cutOff: string | undefined;
  /** Runs while messages are held behind a lost one: a client that never sends it again is cut off. */
  #holdTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param gate - the actor
   * @param stream - the channel to the client
   * @param options - identity, buffer policy, sync channel
   */
  constructor(gate: ActorGate, stream: MessageStream, options: RemoteConnectionOptions) {
    this.id = options.id;
    this.kind = options.kind;
    this.#stream = stream;
    this.#options = options;
    this.#sync = options.sync && new SyncPort(options.sync);
    this.#window = Math.max(1, Math.floor(options.buffer.size / 2));
    this.#outbox = new Outbox(
      stream,
      (out) => {
        const room = this.#window - this.#inflight;
        if (room <= 0 || this.#events.length === 0) return 0;
        const moved = this.#events.drainInto(out, room);
        this.#inflight += moved;
        return moved;
      },
      () => {
        // An event that could not be delivered is dropped, and gives its place in the window back.
        this.#inflight--;
        this.#drop();
      },
    );
    this.#session = gate.open(this);
    this.#feeds = new PausedFeeds(this.#session);
    this.#arrivals = new Arrivals(new RequestIntake(this.#session, this.#sync, (seq, ok, value) => this.reply(seq, ok, value)).take);
    stream.onMessage((message) => this.#receive(message));
    stream.onUndecodable(() => this.#undecodable());
    stream.onClose(() => this.disconnect());
    this.#control({ p: PROTOCOL, welcome: { id: this.id, requestTimeoutMs: options.requestTimeoutMs, window: this.#window } });
  }

  /** A child's near cache drops `keys` (null: all), behind what was sent; never dropped, it holds a place in the window. */
  invalidate(keys: string[] | null): void {
    if (this.#gone) return;
    this.#inflight++;
    this.#outbox.event(0, { type: 'invalidate', keys } as unknown as SubEvent, false);
    this.#outbox.schedule();
  }

  reply(seq: number, ok: boolean, value: unknown): void {
    if (this.#gone) return;
    if (this.#sync?.take(seq)) {
      // Replies sent before this one must arrive first: flush them, then wake the blocked thread.
      this.#outbox.flush();
      return this.#sync.wake([seq, ok, ok ? value : encodeError(value)]);
    }
    this.#outbox.reply(seq, ok, value);
  }

  deliver(sid: number, event: SubEvent, kind: TopicKind): void {
    if (this.#gone || (this.#ended.size > 0 && this.#ended.has(sid)) || (this.#feeds.size > 0 && this.#feeds.has(sid))) return;
    let waiting = this.#events.length;
    if (kind === 'key' && (this.#inflight >= this.#window || waiting > 0)) {
      // A watch needs only the key's latest value: it replaces the one still waiting, whatever the policy.
      if (this.#events.putLatest(sid, event)) this.#drop();
      return this.#outbox.schedule();
    }
    const channel = kind === 'channel';
    if (this.#inflight + waiting >= this.#options.buffer.size) {
      if (kind === 'changes') return this.#feeds.pause(sid, event as KeyChange);
      const { size, overflow } = this.#options.buffer;
      this.#drop();
      if (overflow === 'drop-newest') return;
      if (overflow === 'error') return this.endSubscription(sid, overflowError(size));
      // drop-oldest: the oldest that is still here (the window keeps half the buffer here)
      if (!this.#events.shift()) return;
      waiting--;
    }
    if (this.#inflight < this.#window && waiting === 0) {
      // Within the window, and nothing waits before it: encode it for the wire now.
      this.#outbox.event(sid, event, channel);
      this.#inflight++;
    } else {
      this.#events.push(sid, event, channel);
    }
    this.#outbox.schedule();
  }

  resumed(sid: number, changes: readonly SubEvent[], more: boolean, error?: unknown): void {
    if (this.#gone || !this.#feeds.resumed(sid, changes as KeyChange[], more, error !== undefined)) return;
    // Behind whatever waits, in order; what fits the window leaves with this tick.
    for (const change of changes) this.#events.push(sid, change, false);
    if (error !== undefined) this.endSubscription(sid, error);
    this.#outbox.schedule();
  }

  describe(): ConnectionDetail {
    const { threadId, pid } = this.#options;
    const detail: ConnectionDetail = { buffered: this.#inflight + this.#events.length, dropped: this.#dropped };
    if (threadId !== undefined) detail.threadId = threadId;
    if (pid !== undefined) detail.pid = pid;
    return detail;
  }

  #drop(): void {
    this.#dropped++;
    this.#session.dropped();
  }

  /** The store closed: tell the client, then let go of the channel. */
  end(): void {
    if (this.#gone) return;
    this.#outbox.flush();
    this.#control({ p: PROTOCOL, closed: true });
    this.#release();
    this.#stream.close();
  }

  /** The client is gone (exit, crash, detach): drop its subscriptions and pending work at once. */
  disconnect(): void {
    if (this.#gone) return;
    this.#release();
    this.#stream.close();
    this.#session.close();
  }

  #release(): void {
    this.#gone = true;
    this.#outbox.close();
    if (this.#holdTimer !== undefined) clearTimeout(this.#holdTimer);
    this.#options.onGone(this.#cutOff);
  }

  /**
   * Cuts off a client that broke the protocol in a way that would cost the store
   * without bound: counted as malformed, dropped like a client that exited, and
   * `peers()` says why.
   */
  #cut(reason: string): void {
    if (this.#gone) return;
    this.#session.malformed();
    this.#cutOff = reason;
    this.disconnect();
  }

  #receive(raw: unknown): void {
    if (this.#gone) return;
    const tag = Array.isArray(raw) ? raw[0] : undefined;
    if (tag !== REQUESTS && tag !== RESENT_REQUESTS) return this.#receiveControl(raw as ControlMessage | null);
    const ack = (raw as unknown[])[1];
    // An ack past what was posted cannot be true (and would make every later, true one look old): ignored.
    if (typeof ack === 'number' && ack > this.#acked && Number.isInteger(ack) && ack <= this.#outbox.posted) {
      this.#acked = ack;
      this.#outbox.acknowledge(ack, this.#delivered);
      if (this.#events.length > 0) this.#outbox.schedule();
      if (this.#feeds.size > 0) this.#feeds.resume(this.#options.buffer.size - this.#inflight - this.#events.length, this.#window);
    }
    // Answers are kept until acknowledged (to send them again if lost): a client that
    // asks and never acknowledges would make the store keep every answer.
    if (this.#outbox.posted - this.#acked > this.#window + MAX_UNACKED) {
      return this.#cut(
        `did not acknowledge ${this.#outbox.posted - this.#acked} answers (every request carries the count of answers received)`,
      );
    }
    this.#arrivals.arrive(raw as unknown[], tag === RESENT_REQUESTS);
    if (this.#arrivals.held > MAX_HELD) {
      this.#cut(`sent ${MAX_HELD} messages after one it lost, without sending that one again (the protocol's 'redone')`);
    }
  }

  /** Events of an acknowledged message left the window. */
  readonly #delivered = (events: number): void => {
    this.#inflight -= events;
  };

  #receiveControl(control: ControlMessage | null): void {
    if (control?.p === PROTOCOL) {
      if (control.bye) return this.disconnect();
      if (typeof control.lost === 'number') {
        // The client could not read one of our messages: send its content again, then say so.
        this.#outbox.resend(control.lost);
        return this.#control({ p: PROTOCOL, redone: control.lost });
      }
      if (typeof control.redone === 'number' && this.#arrivals.redone(control.redone)) {
        if (!this.#arrivals.holding) this.#stopHoldTimer();
        return;
      }
    }
    // Nothing to answer: no sequence number to answer to.
    this.#session.malformed();
  }

  /**
   * A message from the client could not be read here (a value nested too deeply
   * for this thread's stack): count it, and tell the client, which sends its
   * requests again one by one. A blocked client hears it on the sync port.
   */
  #undecodable(): void {
    if (this.#gone) return;
    this.#session.malformed();
    const number = this.#arrivals.lost();
    this.#holdTimer ??= setTimeout(() => {
      this.#cut(`did not send again, within requestTimeoutMs (${this.#options.requestTimeoutMs} ms), a message it lost`);
    }, this.#options.requestTimeoutMs).unref();
    this.#control({ p: PROTOCOL, lost: number });
    this.#sync?.wake([0, false, number]);
  }

  #stopHoldTimer(): void {
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
  }

  endSubscription(sid: number, error: unknown): void {
    // The end travels behind the events already accepted, so they are delivered first.
    this.#ended.add(sid);
    this.#events.push(sid, { type: 'end', error: encodeError(error) }, false);
    this.#outbox.schedule();
    this.#session.send(0, { type: 'sub.remove', sid });
  }

  #control(message: ControlMessage): void {
    this.#stream.post(message);
  }
}
