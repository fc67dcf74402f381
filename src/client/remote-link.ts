import type { Command, SubEvent, Topic } from '../actors/commands.js';
import { KvbusError } from '../errors.js';
import type { MessageStream } from '../streams/message-stream.js';
import {
  ANSWERS,
  ANSWER_HEADER,
  PROTOCOL,
  REPLY_SLOTS,
  REQUESTS,
  REQUEST_HEADER,
  decodeError,
  nextRequest,
  pushRequest,
  readRequest,
  eventSid,
  nextEvent,
  readEvent,
  type ControlMessage,
  type WireError,
  type WireReply,
} from '../streams/protocol.js';
import type { Link, SubscriptionHandlers } from './link.js';
import { PendingCalls } from './pending-calls.js';

// The timeout scan runs at least 4 times per requestTimeoutMs (and at least once a
// second); a call times out one tick after its time, so within 1.25 × the timeout.
const MIN_TICKS_PER_TIMEOUT = 4;

interface TopicEntry {
  /** Its key in #topics. */
  readonly key: string;
  readonly sid: number;
  readonly topic: Topic;
  readonly handlers: Set<SubscriptionHandlers>;
  /** For watched keys: the latest value seen, so a later local observer starts from it. */
  last?: SubEvent;
}

/** How a blocked request is answered: a port read synchronously and a flag to wait on. */
export interface SyncChannel {
  receive(): WireReply | undefined;
  flag: Int32Array;
}

/**
 * A {@link Link} over a message stream, for workers and child processes.
 * Requests made in one tick leave as one message; each topic is subscribed in
 * the store once, whatever the number of local observers, and released when
 * the last one leaves. The stream holds the thread open only while a request
 * is pending or a subscription is active.
 */
export class RemoteLink implements Link {
  readonly #stream: MessageStream;
  readonly #pending = new PendingCalls();
  readonly #topics = new Map<string, TopicEntry>();
  readonly #bySid = new Map<number, TopicEntry>();
  /** The requests of this tick: [REQUESTS, ack, syncSeq, (seq, type, a, b, c)*]. */
  #batch: unknown[] | undefined;
  readonly #sync: SyncChannel | undefined;
  #tick = 0;
  #ticksPerTimeout = MIN_TICKS_PER_TIMEOUT;
  #seq = 0;
  #nextSid = 0;
  #timeoutMs: number;
  /**
   * Consumed events are acknowledged in chunks of up to a quarter of the store's
   * window (each ack is a message that wakes the store's thread); requests carry
   * the rest when they leave.
   */
  #ackEvery = ackEvery(10_000);
  #unacked = 0;
  #timer: NodeJS.Timeout | undefined;
  #failure: KvbusError | undefined;
  #referenced = false;

  /**
   * @param stream - the channel to the store
   * @param options - the request timeout until the store says otherwise, and the sync channel (workers)
   */
  constructor(stream: MessageStream, options: { requestTimeoutMs: number; sync?: SyncChannel }) {
    this.#stream = stream;
    this.#timeoutMs = options.requestTimeoutMs;
    this.#sync = options.sync;
    stream.onMessage((message) => this.#receive(message));
    stream.onClose(() => this.#fail(new KvbusError('ERR_DISCONNECTED', 'The connection to the kvbus store was lost (the parent closed the channel or exited)')));
    stream.unref();
  }

  request(cmd: Command): Promise<unknown> {
    if (this.#failure) return Promise.reject(this.#failure);
    const seq = ++this.#seq;
    let batch = this.#batch;
    if (!batch) {
      batch = this.#batch = [REQUESTS, 0, 0];
      queueMicrotask(this.#flushTask);
    }
    pushRequest(batch, seq, cmd);
    return new Promise((resolve, reject) => {
      this.#pending.add(seq, resolve, reject, cmd.type, this.#tick);
      this.#hold();
    });
  }

  /**
   * Sends a command and blocks this thread until the store answers.
   * @param cmd - the command
   * @returns the reply's value; throws its error
   */
  requestSync(cmd: Command): unknown {
    if (this.#failure) throw this.#failure;
    const sync = this.#sync;
    if (!sync) throw new KvbusError('ERR_WOULD_DEADLOCK', 'store.sync is not available here: use the async API');
    // Earlier async requests go first (same channel, so in order): the blocked call sees their effects.
    this.#flush();
    const seq = ++this.#seq;
    const message: unknown[] = [REQUESTS, 0, seq];
    pushRequest(message, seq, cmd);
    this.#post(message, cmd);
    const deadline = Date.now() + this.#timeoutMs;
    for (;;) {
      const reply = sync.receive();
      if (reply) {
        if (reply[0] !== seq) continue; // the late answer of a call that already timed out
        Atomics.store(sync.flag, 0, 0);
        if (reply[1]) return reply[2];
        throw decodeError(reply[2] as WireError);
      }
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.wait(sync.flag, 0, 0, left) === 'timed-out') {
        throw new KvbusError('ERR_TIMEOUT', `The store did not answer ${cmd.type} within ${this.#timeoutMs} ms (requestTimeoutMs); is the main thread blocked?`);
      }
      Atomics.store(sync.flag, 0, 0);
    }
  }

  subscribe(topic: Topic, handlers: SubscriptionHandlers): () => void {
    if (this.#failure) {
      handlers.error(this.#failure);
      return () => {};
    }
    const key = `${topic.kind}\u0000${topic.name}`;
    let entry = this.#topics.get(key);
    if (entry) {
      entry.handlers.add(handlers);
      // A later observer of a watched key starts from the value the first one last saw.
      if (entry.last) handlers.next(structuredClone(entry.last));
    } else {
      entry = { key, sid: ++this.#nextSid, topic, handlers: new Set([handlers]) };
      this.#topics.set(key, entry);
      this.#bySid.set(entry.sid, entry);
      this.#hold();
      const added = entry;
      this.request({ type: 'sub.add', sid: added.sid, topic }).catch((error) => {
        if (this.#bySid.get(added.sid) !== added) return;
        this.#drop(added);
        for (const h of added.handlers) h.error(error);
      });
    }
    const owner = entry;
    return () => {
      if (!owner.handlers.delete(handlers) || owner.handlers.size > 0) return;
      if (this.#topics.get(key) !== owner) return;
      this.#drop(owner);
      if (!this.#failure) this.request({ type: 'sub.remove', sid: owner.sid }).catch(() => {});
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
      this.#timeoutMs = control.welcome.requestTimeoutMs;
      this.#ackEvery = ackEvery(control.welcome.window);
      // Re-arm the timeout scan at the store's pace.
      clearInterval(this.#timer);
      this.#timer = undefined;
      if (this.#pending.size > 0) this.#hold();
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
      if (eventFor !== sid) entry = this.#bySid.get((sid = eventFor));
      const start = at;
      at = nextEvent(m, at);
      if (!entry) continue;
      const event = readEvent(m, start, entry.topic.name);
      if (event.type === 'end') {
        // The store ended this subscription (overflow policy 'error'), after its last events.
        sid = 0;
        this.#drop(entry);
        const error = decodeError(event.error as WireError);
        for (const handlers of entry.handlers) handlers.error(error);
        continue;
      }
      if (entry.topic.kind === 'key') entry.last = event;
      for (const handlers of entry.handlers) handlers.next(event);
    }
    this.#unacked += events;
    if (this.#unacked >= this.#ackEvery) {
      this.#stream.post([REQUESTS, this.#unacked, 0]);
      this.#unacked = 0;
    }
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
      for (let at = REQUEST_HEADER; at < batch.length; at = nextRequest(batch, at)) {
        const seq = batch[at] as number;
        const cmd = readRequest(batch, at)!;
        const single: unknown[] = [REQUESTS, 0, 0];
        pushRequest(single, seq, cmd);
        try {
          this.#stream.post(single);
        } catch (cause) {
          this.#pending.settle(seq, false, notCloneable(cmd, cause));
        }
      }
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
    this.#topics.delete(entry.key);
    this.#bySid.delete(entry.sid);
    this.#release();
  }

  /** Keeps the thread alive while a request is pending or a subscription is active, and arms the timeout. */
  #hold(): void {
    if (!this.#referenced) {
      this.#referenced = true;
      this.#stream.ref();
    }
    // One coarse, unreferenced timer for all timeouts, made once: a timer per call
    // would cost more than the call.
    if (!this.#timer) {
      const period = Math.max(5, Math.min(1000, this.#timeoutMs / MIN_TICKS_PER_TIMEOUT));
      this.#ticksPerTimeout = Math.ceil(this.#timeoutMs / period);
      this.#timer = setInterval(() => this.#expire(), period);
      this.#timer.unref();
    }
  }

  #release(): void {
    if (this.#referenced && this.#pending.size === 0 && this.#topics.size === 0) {
      this.#referenced = false;
      this.#stream.unref();
    }
  }

  #expire(): void {
    const tick = ++this.#tick;
    const timeoutMs = this.#timeoutMs;
    this.#pending.expire(tick - this.#ticksPerTimeout - 1, (type) => new KvbusError('ERR_TIMEOUT', `The store did not answer ${type} within ${timeoutMs} ms (requestTimeoutMs)`));
    this.#release();
  }

  #fail(error: KvbusError, complete = false): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#pending.rejectAll(error);
    const entries = [...this.#topics.values()];
    this.#topics.clear();
    this.#bySid.clear();
    for (const entry of entries) {
      for (const handlers of entry.handlers) (complete ? handlers.complete() : handlers.error(error));
    }
    clearInterval(this.#timer);
    this.#timer = undefined;
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
  const what = 'key' in cmd ? `key ${JSON.stringify(cmd.key)}` : 'channel' in cmd ? `channel ${JSON.stringify(cmd.channel)}` : `command ${cmd.type}`;
  return new KvbusError('ERR_NOT_CLONEABLE', `The value for ${what} cannot be structured-cloned (${(cause as Error).message}); send plain data`, { cause });
}
