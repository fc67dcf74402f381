import type { Backend, BackendContext, Clock, MaybePromise } from '../backends/backend.js';
import { KvbusError, describe } from '../errors.js';
import { Router, type Sink } from '../streams/router.js';
import type { Entry, StoreStats, StoreOp } from '../types.js';
import { cloneValue, isPrimitive } from '../validate.js';
import { CommandSubject } from './command-subject.js';
import type { Command, CommandType, KeyChange, Topic } from './commands.js';
import type { Connection } from './connection.js';
import { validateCommand } from './validate-command.js';

/** One command in the mailbox, with the client that sent it. */
export interface Envelope {
  readonly conn: Connection;
  readonly seq: number;
  readonly cmd: Command;
}

/** Options of the actor. */
export interface StoreActorOptions {
  namespace: string;
  clock: Clock;
  /** Copy values in and out of user code (`apply` ops see and return copies). */
  copy: boolean;
}

interface Subscription {
  readonly topic: Topic;
  readonly sink: Sink;
}

// Commands after which nothing may run until the backend has answered: a
// subscription must be active before the same client's next command runs.
const BARRIERS = new Set<Command['type']>(['sub.add', 'sub.remove', 'sys.disconnect']);
const noop = () => {};

/**
 * The store actor: one `Subject` of commands, applied one at a time to
 * completion against the backend. Replies go back to the sending connection;
 * events (messages, key changes) go out through the router.
 *
 * A command sent while another is running (from a subscriber callback, say)
 * waits in the mailbox: nothing ever runs re-entrantly inside a command.
 */
export class StoreActor {
  /** Every command of every client enters here. */
  readonly commands$ = new CommandSubject<Envelope>((envelope) => this.#receive(envelope));
  /** Counters that transports add to. */
  readonly counters = { commands: 0, dropped: 0, malformed: 0 };
  readonly router = new Router();
  readonly backend: Backend;
  readonly #ops = new Map<string, StoreOp>();
  readonly #subs = new Map<Connection, Map<number, Subscription>>();
  readonly #options: StoreActorOptions;
  readonly #self: Connection;
  #mailbox: Array<Envelope | undefined> = [];
  #head = 0;
  #busy = false;
  #barrier = false;
  #closed = false;
  #sweepQueued = false;

  /**
   * @param backend - where the state lives
   * @param options - namespace, clock and copy mode
   */
  constructor(backend: Backend, options: StoreActorOptions) {
    this.backend = backend;
    this.#options = options;
    // Internal commands (TTL sweeps) come from the actor itself; their replies go nowhere.
    this.#self = { id: 0, kind: 'local', trusted: true, reply: noop, deliver: noop, end: noop };
  }

  /** Opens the backend; the store is usable once this settles. */
  open(): MaybePromise<void> {
    const router = this.router;
    const context: BackendContext = {
      namespace: this.#options.namespace,
      clock: this.#options.clock,
      // Inside a command (the memory backend) the delivery runs at once, with no closure to make.
      emitChange: (change: KeyChange) => (this.#busy ? router.change(change) : this.#turn(() => router.change(change))),
      emitMessage: (channel, data) => (this.#busy ? router.publish(channel, data) : this.#turn(() => router.publish(channel, data))),
      emitChannelMessage: (channel, data) => this.#turn(() => router.publishExact(channel, data)),
      emitPatternMessage: (pattern, channel, data) => this.#turn(() => router.publishToPattern(pattern, channel, data)),
      get watchingKeys() {
        return router.watchesKeys;
      },
      requestSweep: () => {
        if (this.#sweepQueued || this.#closed) return;
        this.#sweepQueued = true;
        this.commands$.next({ conn: this.#self, seq: 0, cmd: { type: 'sys.sweep' } });
      },
    };
    return this.backend.open(context);
  }

  /** Remote clients currently connected. */
  get clients(): number {
    let n = 0;
    for (const conn of this.#subs.keys()) if (conn.kind !== 'local') n++;
    return n;
  }

  /** Commands waiting in the mailbox. */
  get queueDepth(): number {
    return this.#mailbox.length - this.#head;
  }

  /** True while a command runs (or waits on a barrier): a command sent now would wait in the mailbox. */
  get busy(): boolean {
    return this.#busy || this.#barrier;
  }

  /** True once {@link StoreActor.close} has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Registers a client, so its subscriptions can be dropped when it goes.
   * @param conn - the client's connection
   */
  connect(conn: Connection): void {
    if (!this.#subs.has(conn)) this.#subs.set(conn, new Map());
  }

  /**
   * Registers an operation that `apply` runs atomically inside the actor.
   * @param name - the name clients pass to `apply`
   * @param op - the next value from the old one and the argument
   */
  defineOp(name: string, op: StoreOp): void {
    this.#ops.set(name, op);
  }

  /** Stops accepting commands, ends every connection and closes the backend. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const envelope of this.#mailbox.splice(this.#head)) if (envelope) this.#reject(envelope, closedError());
    this.#head = 0;
    for (const conn of this.#subs.keys()) conn.end();
    this.#subs.clear();
    // commands$ stays open: a command sent after this gets ERR_CLOSED rather than silence.
    await this.backend.close();
  }

  #receive(envelope: Envelope): void {
    if (this.#closed) return this.#reject(envelope, closedError());
    if (this.#busy || this.#barrier) {
      this.#mailbox.push(envelope);
      return;
    }
    this.#busy = true;
    try {
      this.#run(envelope);
      this.#drain();
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Runs `deliver` as a turn of the actor. A backend emits inside a command
   * (memory) or on its own (Redis pub/sub): either way, a command sent by a
   * subscriber callback waits until the delivery is over.
   */
  #turn<TResult>(deliver: () => TResult): TResult {
    if (this.#busy) return deliver();
    this.#busy = true;
    try {
      return deliver();
    } finally {
      this.#drain();
      this.#busy = false;
    }
  }

  #drain(): void {
    const mailbox = this.#mailbox;
    while (!this.#barrier && this.#head < mailbox.length) {
      const envelope = mailbox[this.#head]!;
      mailbox[this.#head++] = undefined;
      this.#run(envelope);
    }
    if (this.#head === 0) return; // the usual case: nothing was queued
    if (this.#head === mailbox.length) {
      mailbox.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > mailbox.length) {
      this.#mailbox = mailbox.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Applies one command and sends its reply; never throws. */
  #run(envelope: Envelope): void {
    this.counters.commands++;
    const { conn, seq } = envelope;
    let result: unknown;
    // The main thread's own client validated in the caller's stack already.
    if (!conn.trusted) {
      try {
        validateCommand(envelope.cmd);
      } catch (error) {
        this.counters.malformed++;
        return conn.reply(seq, false, error);
      }
    }
    try {
      result = this.#apply(conn, envelope.cmd);
    } catch (error) {
      return conn.reply(seq, false, error);
    }
    const shape = shapeOf(envelope.cmd.type);
    // Only an I/O backend answers later; a value that merely looks like a promise is a value.
    if (!this.backend.isAsync || !isThenable(result)) return conn.reply(seq, true, shape ? shape(result) : result);
    const barrier = BARRIERS.has(envelope.cmd.type);
    if (barrier) this.#barrier = true;
    // Shaped in the step that replies: a `.then(shape)` would cost every async read a promise.
    result.then(
      (value) => this.#settle(conn, seq, true, shape ? shape(value) : value, barrier),
      (error) => this.#settle(conn, seq, false, error, barrier),
    );
  }

  #settle(conn: Connection, seq: number, ok: boolean, value: unknown, barrier: boolean): void {
    conn.reply(seq, ok, value);
    if (!barrier) return;
    this.#barrier = false;
    if (this.#busy || this.#closed) return;
    this.#busy = true;
    try {
      this.#drain();
    } finally {
      this.#busy = false;
    }
  }

  #reject(envelope: Envelope, error: KvbusError): void {
    envelope.conn.reply(envelope.seq, false, error);
  }

  /** The meaning of each command (already validated); #run shapes the answers of reads (see shapeOf). */
  #apply(conn: Connection, cmd: Command): unknown {
    const backend = this.backend;
    switch (cmd.type) {
      case 'kv.get':
      case 'kv.getEntry':
        return backend.get(cmd.key);
      case 'kv.set':
        return backend.set(cmd.key, cmd.value, { ttlMs: cmd.ttlMs, ifRevision: cmd.ifRevision, keepTtl: cmd.keepTtl === true });
      case 'kv.delete':
        return backend.delete(cmd.key, cmd.ifRevision);
      case 'kv.has':
        return backend.has(cmd.key);
      case 'kv.keys':
        return backend.keys(cmd.pattern);
      case 'kv.getAll':
        return backend.entries(cmd.pattern);
      case 'kv.clear':
        return backend.clear();
      case 'kv.incr':
        return backend.incr(cmd.key, cmd.by);
      case 'kv.apply':
        return this.#applyOp(cmd.key, cmd.op, cmd.arg);
      case 'bus.publish':
        return backend.publish(cmd.channel, cmd.data);
      case 'sub.add':
        return this.#subscribe(conn, cmd.sid, cmd.topic);
      case 'sub.remove':
        return this.#unsubscribe(conn, cmd.sid);
      case 'sys.stats':
        return this.#stats();
      case 'sys.sweep':
        this.#sweepQueued = false;
        return backend.sweep?.();
      case 'sys.disconnect':
        return this.#disconnect(conn);
    }
  }

  #applyOp(key: string, name: string, arg: unknown): unknown {
    const op = this.#ops.get(name);
    if (!op) {
      throw new KvbusError('ERR_BAD_ARGUMENT', `No operation named ${JSON.stringify(name)}: register it in the main thread with store.defineOp(${JSON.stringify(name)}, fn)`);
    }
    // In copy mode the op sees a copy and what it returns is copied, so neither
    // a throw half-way through a mutation nor a reference it keeps can reach the store.
    const copy = this.#options.copy && this.backend.sharesValues;
    return this.backend.apply(key, (old) => {
      const next = op(copy && !isPrimitive(old) ? cloneValue(old, 'key', key) : old, arg);
      return copy ? cloneValue(next, `the result of op ${JSON.stringify(name)} on key`, key) : next;
    });
  }

  #subscribe(conn: Connection, sid: number, topic: Topic): unknown {
    let subs = this.#subs.get(conn);
    if (!subs) this.#subs.set(conn, (subs = new Map()));
    if (subs.has(sid)) throw new KvbusError('ERR_BAD_ARGUMENT', `Subscription id ${sid} is already in use by this client`);

    const sink: Sink = { deliver: (event) => conn.deliver(sid, event) };
    const owned: Topic = { kind: topic.kind, name: topic.name };
    subs.set(sid, { topic: owned, sink });
    const first = this.router.add(owned, sink);
    let interest = first ? this.backend.interest(owned, true) : undefined;
    if (isThenable(interest)) {
      // The backend could not subscribe (Redis unreachable): undo, so nothing half-exists.
      interest = Promise.resolve(interest).catch((error: unknown) => {
        if (subs.get(sid)?.sink === sink) subs.delete(sid);
        this.router.remove(owned, sink);
        throw error;
      });
    }
    if (topic.kind !== 'key') return interest;
    // A watch starts with the current value, delivered before any later change.
    const snapshot = () =>
      then(this.backend.get(topic.name), (entry) => {
        sink.deliver({ type: 'snapshot', key: topic.name, value: entry?.value, revision: entry?.revision ?? 0 });
      });
    return isThenable(interest) ? interest.then(snapshot) : snapshot();
  }

  #unsubscribe(conn: Connection, sid: number): unknown {
    const sub = this.#subs.get(conn)?.get(sid);
    if (!sub) return false;
    this.#subs.get(conn)!.delete(sid);
    const last = this.router.remove(sub.topic, sub.sink);
    return then(last ? this.backend.interest(sub.topic, false) : undefined, () => true);
  }

  #disconnect(conn: Connection): unknown {
    const subs = this.#subs.get(conn);
    this.#subs.delete(conn);
    if (!subs) return undefined;
    const released: Array<MaybePromise<void>> = [];
    for (const { topic, sink } of subs.values()) {
      if (this.router.remove(topic, sink)) released.push(this.backend.interest(topic, false));
    }
    return released.some(isThenable) ? Promise.all(released).then(noop) : undefined;
  }

  #stats(): MaybePromise<StoreStats> {
    return then(this.backend.size(), (keys) => ({
      keys,
      clients: this.clients,
      subscriptions: this.router.size,
      commands: this.counters.commands,
      queueDepth: this.queueDepth,
      dropped: this.counters.dropped,
      malformed: this.counters.malformed,
    }));
  }
}

// Hoisted: a closure made per command costs more than the lookup it maps.
const valueOf = (entry: Entry | undefined): unknown => entry?.value;
const entryOf = (entry: Entry | undefined): Entry | undefined => entry && { value: entry.value, revision: entry.revision };
const mapOf = (entries: Array<[string, unknown]>): Map<string, unknown> => new Map(entries);

/** How a command's reply is made from the backend's answer, when it is not the answer itself. */
function shapeOf(type: CommandType): ((answer: any) => unknown) | undefined {
  switch (type) {
    case 'kv.get':
      return valueOf;
    case 'kv.getEntry':
      return entryOf;
    case 'kv.getAll':
      return mapOf;
    default:
      return undefined;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

/** Maps a result that may or may not be a promise, without adding a tick when it is not. */
function then<TIn, TOut>(value: MaybePromise<TIn>, fn: (value: TIn) => TOut): MaybePromise<TOut> {
  return isThenable(value) ? (value as Promise<TIn>).then(fn) : fn(value as TIn);
}

function closedError(): KvbusError {
  return new KvbusError('ERR_CLOSED', 'The store is closed: create a new one with createStore()');
}
