import { subscribeCommand } from '../../commands/bus.js';
import type { InvalidateEvent, SubEvent } from '../../commands/events.js';
import type { Link, SubscriptionHandlers } from '../../commands/link.js';
import type { AnySpec, Command } from '../../commands/table.js';
import { REQUEST_TIMEOUT_MS, SUBSCRIBER_BUFFER_SIZE } from '../../defaults.js';
import { KvbusError } from '../../errors.js';
import { PendingCalls } from '../../pending-calls.js';
import type { Topic } from '../../types.js';
import type { MessageStream } from '../message-stream.js';
import { Arrivals } from '../protocol/arrivals.js';
import { eventSid, nextEvent, readEvent } from '../protocol/events.js';
import { ANSWER_HEADER, ANSWERS, type ControlMessage, PROTOCOL, REPLY_SLOTS, RESENT_ANSWERS } from '../protocol/framing.js';
import { decodeError, type WireError } from '../protocol/wire-error.js';
import type { CacheListener } from './cache-listener.js';
import { CallTimer } from './call-timer.js';
import { RequestSender } from './request-sender.js';
import { SharedTopics, type TopicEntry } from './shared-topics.js';
import { awaitSyncReply, type SyncChannel } from './sync-call.js';

export type { CacheListener, SyncChannel };

/**
 * A {@link Link} over a message stream, for workers and child processes.
 * Requests made in one tick leave as one message (see protocol/framing.ts);
 * each topic is subscribed in the store once, whatever the number of local
 * observers, and released when the last one leaves. The stream holds the
 * thread open only while a request is pending or a subscription is active.
 */
export class RemoteLink implements Link {
  readonly #stream: MessageStream;
  readonly #pending = new PendingCalls();
  readonly #topics = new SharedTopics();
  readonly #timer: CallTimer;
  readonly #sync: SyncChannel | undefined;
  readonly #sender: RequestSender;
  #seq = 0;
  /**
   * Consumed events are acknowledged in chunks of up to a quarter of the store's
   * window (each ack is a message that wakes the store's thread); requests carry
   * the rest when they leave.
   */
  #ackEvery = ackEvery(SUBSCRIBER_BUFFER_SIZE);
  #unacked = 0;
  /** The answer messages received, in order; holds back those behind one that could not be read. */
  readonly #arrivals = new Arrivals((message) => this.#answers(message));
  /** Answer messages arrived at the last timer tick. */
  #arrivedLastTick = 0;
  #failure: KvbusError | undefined;
  #referenced = false;
  /** A child's near cache: told its settings and the keys to drop, in order with replies and events. */
  #cache: CacheListener | undefined;

  /**
   * @param stream - the channel to the store
   * @param sync - how blocking calls are answered (workers only)
   */
  constructor(stream: MessageStream, sync?: SyncChannel) {
    this.#stream = stream;
    this.#sync = sync;
    // The store's welcome says the real timeout; until then, the default.
    this.#timer = new CallTimer(REQUEST_TIMEOUT_MS, (late) => this.#expire(late));
    this.#sender = new RequestSender(
      stream,
      () => {
        // Every message carries the acknowledgement of what arrived, so no separate one is due yet.
        this.#unacked = 0;
        return this.#arrivals.count;
      },
      (seq, error) => {
        if (this.#pending.settle(seq, false, error)) this.#release();
      },
    );
    stream.onMessage((message) => this.#receive(message));
    stream.onUndecodable(() => {
      // Tell the store, which sends that message's replies and events again one by one.
      if (!this.#failure) this.#stream.post({ p: PROTOCOL, lost: this.#arrivals.lost() } satisfies ControlMessage);
    });
    stream.onClose(() =>
      this.#fail(
        new KvbusError('ERR_DISCONNECTED', 'The connection to the kvbus store was lost (the parent closed the channel or exited)'),
      ),
    );
    stream.unref();
  }

  request(cmd: Command, spec?: AnySpec): Promise<unknown> {
    if (this.#failure) return Promise.reject(this.#failure);
    const seq = ++this.#seq;
    try {
      this.#sender.push(seq, cmd, spec);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      // A command that waits (a lock acquire) bounds its own wait in the store: no requestTimeoutMs.
      if (spec?.waits === true) this.#pending.addUntimed(seq, resolve, reject, cmd.type);
      else this.#pending.add(seq, resolve, reject, cmd.type, this.#timer.tick);
      this.#hold();
    });
  }

  /**
   * Sends a command and blocks this thread until the store answers.
   * @param cmd - the command
   * @returns the reply's value; throws its error
   */
  requestSync(cmd: Command, spec?: AnySpec): unknown {
    if (this.#failure) throw this.#failure;
    const sync = this.#sync;
    if (!sync) throw new KvbusError('ERR_WOULD_DEADLOCK', 'store.sync is not available here: use the async API');
    // Earlier async requests go first (same channel, so in order): the blocked call sees their effects.
    const seq = ++this.#seq;
    const number = this.#sender.postBlocking(seq, cmd, spec);
    const value = awaitSyncReply(sync, seq, this.#timer.timeoutMs, cmd.type, number, (lost) => this.#lost(lost));
    this.#sender.answered(seq);
    return value;
  }

  subscribe(topic: Topic, handlers: SubscriptionHandlers): () => void {
    if (this.#failure) {
      handlers.error(this.#failure);
      return () => {};
    }
    const { entry, added } = this.#topics.add(topic, handlers);
    if (added) {
      this.#hold();
      this.request(subscribeCommand(entry.sid, topic)).catch((error) => {
        if (this.#topics.get(entry.sid) !== entry) return;
        this.#drop(entry);
        for (const h of entry.handlers) h.error(error);
      });
    } else if (entry.last) {
      // A later observer of a watched key starts from the value the first one last saw.
      handlers.next(structuredClone(entry.last));
    }
    return () => {
      if (!this.#topics.remove(entry, handlers)) return;
      this.#release();
      if (!this.#failure) this.request({ type: 'sub.remove', sid: entry.sid }).catch(() => {});
    };
  }

  /** Tells a near cache its settings and invalidations (a child's) and the link's end (any client's). */
  listenForCache(listener: CacheListener): void {
    this.#cache = listener;
  }

  /** Tells the store goodbye; pending and later calls reject with `ERR_CLOSED`. */
  async close(): Promise<void> {
    if (this.#failure) return;
    this.#sender.flush();
    this.#stream.post({ p: PROTOCOL, bye: true } satisfies ControlMessage);
    this.#fail(new KvbusError('ERR_CLOSED', 'This client was closed with store.close()'), true);
    this.#stream.close();
  }

  #receive(message: unknown): void {
    if (Array.isArray(message)) {
      const tag = message[0];
      if (tag === ANSWERS || tag === RESENT_ANSWERS) this.#arrivals.arrive(message, tag === RESENT_ANSWERS);
      return;
    }
    const control = message as ControlMessage;
    if (control.lost !== undefined) this.#lost(control.lost);
    if (control.redone !== undefined) this.#arrivals.redone(control.redone);
    if (control.welcome) {
      this.#timer.setTimeout(control.welcome.requestTimeoutMs);
      this.#ackEvery = ackEvery(control.welcome.window);
      if (this.#pending.size > 0) this.#timer.start();
    }
    if (control.cache !== undefined) this.#cache?.configure(control.cache);
    if (control.closed) this.#fail(new KvbusError('ERR_CLOSED', 'The kvbus store was closed'), true);
    if (typeof control.noStore === 'string') {
      this.#fail(new KvbusError('ERR_NO_STORE', control.noStore));
      this.#stream.close();
    }
  }

  #answers(m: unknown[]): void {
    const repliesEnd = ANSWER_HEADER + (m[1] as number) * REPLY_SLOTS;
    if (repliesEnd > ANSWER_HEADER) {
      let last = 0;
      for (let at = ANSWER_HEADER; at < repliesEnd; at += REPLY_SLOTS) {
        // An error answers -seq.
        const seq = m[at] as number;
        if (seq > 0) this.#settle(seq, true, m[at + 1]);
        else this.#settle(-seq, false, m[at + 1]);
        if (seq > last || -seq > last) last = seq > 0 ? seq : -seq;
      }
      this.#sender.answered(last);
    }
    if (m.length === repliesEnd) return;
    let events = 0;
    // Events come in runs for one subscription: look it up once per run.
    let sid = 0;
    let entry: TopicEntry | undefined;
    for (let at = repliesEnd; at < m.length; events++) {
      const eventFor = eventSid(m, at);
      if (eventFor === 0) {
        // Subscription 0 is the near cache's: an invalidation, applied before any later reply settles.
        this.#cache?.invalidate((readEvent(m, at, '') as unknown as InvalidateEvent).keys);
        at = nextEvent(m, at);
        continue;
      }
      if (eventFor !== sid) entry = this.#topics.get((sid = eventFor));
      const start = at;
      at = nextEvent(m, at);
      if (!entry) continue;
      const event = readEvent(m, start, entry.topic.name);
      if (event) this.#dispatch(entry, event);
      if (event?.type === 'end') sid = 0;
    }
    this.#unacked += events;
    if (this.#unacked >= this.#ackEvery) this.#sender.postAck();
  }

  #dispatch(entry: TopicEntry, event: SubEvent): void {
    if (event.type === 'end') {
      // The store ended this subscription (overflow policy 'error'), after its last events.
      this.#drop(entry);
      const error = decodeError(event.error);
      for (const handlers of entry.handlers) handlers.error(error);
      return;
    }
    if (entry.topic.kind === 'key') entry.last = event;
    for (const handlers of entry.handlers) handlers.next(event);
  }

  #settle(seq: number, ok: boolean, value: unknown): void {
    if (!this.#pending.settle(seq, ok, ok ? value : decodeError(value as WireError))) return;
    if (this.#pending.size === 0) this.#release();
  }

  #lost(number: number): KvbusError | undefined {
    return this.#failure ? undefined : this.#sender.lost(number);
  }

  #drop(entry: TopicEntry): void {
    this.#topics.drop(entry);
    this.#release();
  }

  /** Keeps the thread alive while a request is pending or a subscription is active, and arms the timeout. */
  #hold(): void {
    if (!this.#referenced) {
      this.#referenced = true;
      this.#stream.ref();
    }
    this.#timer.start();
  }

  #release(): void {
    if (this.#referenced && this.#pending.size === 0 && this.#topics.size === 0) {
      this.#referenced = false;
      this.#stream.unref();
    }
  }

  #expire(lateTick: number): void {
    // The store keeps what it sent until we acknowledge it: an idle client does so once a tick.
    const arrived = this.#arrivals.count;
    if (arrived > this.#sender.acked && arrived === this.#arrivedLastTick && !this.#failure) this.#sender.postAck();
    this.#arrivedLastTick = arrived;
    const timeoutMs = this.#timer.timeoutMs;
    this.#pending.expire(
      lateTick,
      (type) => new KvbusError('ERR_TIMEOUT', `The store did not answer ${type} within ${timeoutMs} ms (requestTimeoutMs)`),
    );
    this.#release();
  }

  #fail(error: KvbusError, complete = false): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#cache?.stop();
    this.#pending.rejectAll(error);
    for (const entry of this.#topics.takeAll()) {
      for (const handlers of entry.handlers) complete ? handlers.complete() : handlers.error(error);
    }
    this.#timer.stop();
    this.#release();
    if (this.#referenced) {
      this.#referenced = false;
      this.#stream.unref();
    }
  }
}

function ackEvery(window: number): number {
  return Math.max(1, Math.min(window >> 2, 1024));
}
