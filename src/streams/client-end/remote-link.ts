import type { SubEvent } from '../../commands/events.js';
import type { Link, SubscriptionHandlers } from '../../commands/link.js';
import type { AnySpec, Command } from '../../commands/table.js';
import { REQUEST_TIMEOUT_MS, SUBSCRIBER_BUFFER_SIZE } from '../../defaults.js';
import { KvbusError } from '../../errors.js';
import { PendingCalls } from '../../pending-calls.js';
import type { Topic } from '../../types.js';
import type { MessageStream } from '../message-stream.js';
import { eventSid, nextEvent, readEvent } from '../protocol/events.js';
import { ANSWER_HEADER, ANSWERS, type ControlMessage, PROTOCOL, REPLY_SLOTS, REQUEST_HEADER, REQUESTS } from '../protocol/framing.js';
import { nextRequest, pushRequest, readRequest } from '../protocol/requests.js';
import { decodeError, type WireError } from '../protocol/wire-error.js';
import { CallTimer } from './call-timer.js';
import { SharedTopics, type TopicEntry } from './shared-topics.js';
import { awaitSyncReply, type SyncChannel } from './sync-call.js';

export type { SyncChannel };

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
  /** The requests of this tick: [REQUESTS, ack, syncSeq, (seq, opcode, ...fields)*]. */
  #batch: unknown[] | undefined;
  #seq = 0;
  /**
   * Consumed events are acknowledged in chunks of up to a quarter of the store's
   * window (each ack is a message that wakes the store's thread); requests carry
   * the rest when they leave.
   */
  #ackEvery = ackEvery(SUBSCRIBER_BUFFER_SIZE);
  #unacked = 0;
  #failure: KvbusError | undefined;
  #referenced = false;

  /**
   * @param stream - the channel to the store
   * @param sync - how blocking calls are answered (workers only)
   */
  constructor(stream: MessageStream, sync?: SyncChannel) {
    this.#stream = stream;
    this.#sync = sync;
    // The store's welcome says the real timeout; until then, the default.
    this.#timer = new CallTimer(REQUEST_TIMEOUT_MS, (late) => this.#expire(late));
    stream.onMessage((message) => this.#receive(message));
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
    let batch = this.#batch;
    if (!batch) {
      batch = this.#batch = [REQUESTS, 0, 0];
      queueMicrotask(this.#flushTask);
    }
    pushRequest(batch, seq, cmd, spec);
    return new Promise((resolve, reject) => {
      this.#pending.add(seq, resolve, reject, cmd.type, this.#timer.tick);
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
    this.#flush();
    const seq = ++this.#seq;
    const message: unknown[] = [REQUESTS, 0, seq];
    pushRequest(message, seq, cmd, spec);
    this.#post(message, cmd);
    return awaitSyncReply(sync, seq, this.#timer.timeoutMs, cmd.type);
  }

  subscribe(topic: Topic, handlers: SubscriptionHandlers): () => void {
    if (this.#failure) {
      handlers.error(this.#failure);
      return () => {};
    }
    const { entry, added } = this.#topics.add(topic, handlers);
    if (added) {
      this.#hold();
      this.request({ type: 'sub.add', sid: entry.sid, kind: topic.kind, name: topic.name }).catch((error) => {
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

  /** Tells the store goodbye; pending and later calls reject with `ERR_CLOSED`. */
  async close(): Promise<void> {
    if (this.#failure) return;
    this.#flush();
    this.#stream.post({ p: PROTOCOL, bye: true } satisfies ControlMessage);
    this.#fail(new KvbusError('ERR_CLOSED', 'This client was closed with store.close()'), true);
    this.#stream.close();
  }

  #receive(message: unknown): void {
    if (Array.isArray(message) && message[0] === ANSWERS) return this.#answers(message);
    const control = message as ControlMessage;
    if (control.welcome) {
      this.#timer.setTimeout(control.welcome.requestTimeoutMs);
      this.#ackEvery = ackEvery(control.welcome.window);
      if (this.#pending.size > 0) this.#timer.start();
    }
    if (control.closed) this.#fail(new KvbusError('ERR_CLOSED', 'The kvbus store was closed'), true);
  }

  #answers(m: unknown[]): void {
    const repliesEnd = ANSWER_HEADER + (m[1] as number) * REPLY_SLOTS;
    for (let at = ANSWER_HEADER; at < repliesEnd; at += REPLY_SLOTS) {
      // An error answers -seq.
      const seq = m[at] as number;
      if (seq > 0) this.#settle(seq, true, m[at + 1]);
      else this.#settle(-seq, false, m[at + 1]);
    }
    if (m.length === repliesEnd) return;
    let events = 0;
    // Events come in runs for one subscription: look it up once per run.
    let sid = 0;
    let entry: TopicEntry | undefined;
    for (let at = repliesEnd; at < m.length; events++) {
      const eventFor = eventSid(m, at);
      if (eventFor !== sid) entry = this.#topics.get((sid = eventFor));
      const start = at;
      at = nextEvent(m, at);
      if (!entry) continue;
      const event = readEvent(m, start, entry.topic.name);
      if (event) this.#dispatch(entry, event);
      if (event?.type === 'end') sid = 0;
    }
    this.#unacked += events;
    if (this.#unacked >= this.#ackEvery) {
      this.#stream.post([REQUESTS, this.#unacked, 0]);
      this.#unacked = 0;
    }
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

  readonly #flushTask = (): void => this.#flush();

  /** Sends the requests of this tick, with the acknowledgement of consumed events. */
  #flush(): void {
    const batch = this.#batch;
    if (!batch) return;
    this.#batch = undefined;
    batch[1] = this.#unacked;
    this.#unacked = 0;
    try {
      this.#stream.post(batch);
    } catch {
      // One value could not be cloned: send one by one, so only its own call fails.
      // The acknowledgement rides on the first that leaves (or alone).
      let ack = batch[1] as number;
      for (let at = REQUEST_HEADER; at < batch.length; ) {
        const next = nextRequest(batch, at);
        try {
          this.#stream.post([REQUESTS, ack, 0, ...batch.slice(at, next)]);
          ack = 0;
        } catch (cause) {
          this.#pending.settle(batch[at] as number, false, notCloneable(readRequest(batch, at)!, cause));
        }
        at = next;
      }
      if (ack > 0) this.#stream.post([REQUESTS, ack, 0]);
      this.#release();
    }
  }

  #post(message: unknown[], cmd: Command): void {
    try {
      this.#stream.post(message);
    } catch (cause) {
      throw notCloneable(cmd, cause);
    }
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

function notCloneable(cmd: Command, cause: unknown): KvbusError {
  const what =
    'key' in cmd ? `key ${JSON.stringify(cmd.key)}` : 'channel' in cmd ? `channel ${JSON.stringify(cmd.channel)}` : `command ${cmd.type}`;
  return new KvbusError(
    'ERR_NOT_CLONEABLE',
    `The value for ${what} cannot be structured-cloned (${(cause as Error).message}); send plain data`,
    {
      cause,
    },
  );
}
