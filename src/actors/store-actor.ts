import type { Backend, BackendContext, MaybePromise } from '../backends/backend.js';
import { NearCaches } from '../cache/near-caches.js';
import type { Clock } from '../clock.js';
import type { Connection } from '../commands/connection.js';
import type { ActorContext } from '../commands/define.js';
import type { ActorGate, Session } from '../commands/gate.js';
import { type AnySpec, type Command, SPEC_BY_TYPE, specOf } from '../commands/table.js';
import { KvbusError } from '../errors.js';
import type { ClientInfo, KeyChange, StoreOp, StoreStats, Topic } from '../types.js';
import { addSubscription, type SubscribeContext, type Subscription } from './add-subscription.js';
import { CatchUpSink, resumeFrom } from './catch-up.js';
import { CommandSubject } from './command-subject.js';
import { LockGrants } from './lock-grants.js';
import { changesLost } from './lost-changes.js';
import { Mailbox } from './mailbox.js';
import { isThenable, mapMaybe } from './maybe-promise.js';
import { Operations } from './operations.js';
import { reply } from './reply.js';
import { Router } from './router.js';
import { ScanCursors } from './scan-cursors.js';

/** One command in the mailbox, with the client that sent it. */
export interface Envelope {
  readonly conn: Connection;
  readonly seq: number;
  readonly cmd: Command;
  /** The command's descriptor, when the sender knows it (a lookup by `type` costs a busy store ~10 %). */
  readonly spec?: AnySpec | undefined;
}

/** Options of the actor. */
export interface StoreActorOptions {
  namespace: string;
  clock: Clock;
  /** Copy values in and out of user code (`apply` ops see and return copies). */
  copy: boolean;
}

const noop = () => {};
const NO_DETAIL = { buffered: 0, dropped: 0 };

/**
 * The store actor: one `Subject` of commands, applied one at a time to
 * completion against the backend (see {@link Mailbox}). What each command
 * means is its descriptor's (commands/); replies go back to the sending
 * connection, events (messages, key changes) out through the router.
 */
export class StoreActor implements ActorContext, ActorGate {
  /** Every command of every client enters here. */
  readonly backend: Backend;
  readonly #mailbox = new Mailbox<Envelope>(
    (envelope) => this.#run(envelope),
    (error, envelope) => this.#failed(error, envelope),
  );
  readonly commands$ = new CommandSubject<Envelope>(this.#mailbox);
  readonly #router = new Router();
  readonly #counters = { commands: 0, dropped: 0, malformed: 0 };
  readonly #ops = new Operations();
  readonly #subs = new Map<Connection, Map<number, Subscription>>();
  readonly #options: StoreActorOptions;
  readonly #scans: ScanCursors;
  readonly #self: Connection;
  readonly locks: LockGrants;
  /** What subscribing needs of this actor. */
  readonly #feeds: SubscribeContext;
  /** Workers' and children's near caches (stamped or told before a write is answered); on Redis they follow the change feed. */
  readonly nearCaches = new NearCaches((on) => this.backend.interest({ kind: 'changes', name: '*' }, on));
  #closed = false;
  #expiryQueued = false;

  /**
   * @param backend - where the state lives
   * @param options - namespace, clock and copy mode
   */
  constructor(backend: Backend, options: StoreActorOptions) {
    this.backend = backend;
    this.#options = options;
    this.#feeds = { backend, router: this.#router, unsubscribe: (conn, sid) => this.unsubscribe(conn, sid) };
    this.#scans = new ScanCursors(options.clock);
    this.locks = new LockGrants(backend, options.clock, (fn) => this.#mailbox.turn(fn));
    // Internal commands (TTL expiries) come from the actor itself; their replies go nowhere.
    this.#self = { id: 0, kind: 'local', trusted: true, reply: noop, deliver: noop, end: noop };
  }

  /** Opens the backend; the store is usable once this settles. */
  start(): MaybePromise<void> {
    const router = this.#router;
    const mailbox = this.#mailbox;
    const context: Omit<BackendContext, 'invalidated'> = {
      namespace: this.#options.namespace,
      clock: this.#options.clock,
      // Inside a command (the memory backend) the delivery runs at once, with no closure to make.
      emitChange: (c: KeyChange) => router.watchesKeys && (mailbox.running ? router.change(c) : mailbox.turn(() => router.change(c))),
      emitMessage: (channel, data) => (mailbox.running ? router.publish(channel, data) : mailbox.turn(() => router.publish(channel, data))),
      emitChannelMessage: (channel, data) => mailbox.turn(() => router.publishExact(channel, data)),
      emitPatternMessage: (pattern, channel, data) => mailbox.turn(() => router.publishToPattern(pattern, channel, data)),
      get watchingKeys() {
        return router.watchesKeys;
      },
      changesLost: (after, oldest) =>
        mailbox.turn(() => {
          this.nearCaches.changed(null);
          changesLost(this.#subs, this.backend, after, oldest, (conn, sid) => this.unsubscribe(conn, sid));
        }),
      requestExpiry: () => {
        if (this.#expiryQueued || this.#closed) return;
        this.#expiryQueued = true;
        this.commands$.next({ conn: this.#self, seq: 0, cmd: { type: 'sys.expire' } });
      },
    };
    return this.backend.open(this.nearCaches.around(context));
  }

  /** True while a command runs (or waits on an I/O answer): a command sent now would wait in the mailbox. */
  get busy(): boolean {
    return this.#mailbox.busy;
  }

  /** True once {@link StoreActor.close} has run. */
  get closed(): boolean {
    return this.#closed;
  }

  open(conn: Connection): Session {
    if (!this.#subs.has(conn)) this.#subs.set(conn, new Map());
    const counters = this.#counters;
    return {
      send: (seq, cmd, spec) => this.commands$.next({ conn, seq, cmd, spec }),
      malformed: () => void counters.malformed++,
      dropped: () => void counters.dropped++,
      close: () => this.commands$.next({ conn, seq: 0, cmd: { type: 'sys.disconnect' } }),
    };
  }

  /**
   * Registers an operation that `apply` runs atomically inside the actor.
   * @param name - the name clients pass to `apply`
   * @param op - the next value from the old one and the argument
   */
  defineOp(name: string, op: StoreOp): void {
    this.#ops.define(name, op);
  }

  /** Stops accepting commands, ends every connection and closes the backend. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const envelope of this.#mailbox.takeAll()) this.#reject(envelope);
    this.#scans.clear();
    const released = this.locks.close();
    for (const conn of this.#subs.keys()) conn.end();
    this.#subs.clear();
    await released;
    // commands$ stays open: a command sent after this gets ERR_CLOSED rather than silence.
    await this.backend.close();
  }

  #reject(envelope: Envelope): void {
    reply(envelope.conn, envelope.seq, false, new KvbusError('ERR_CLOSED', 'The store is closed: create a new one with createStore()'));
  }

  /** Applies one command and sends its reply; never throws. */
  #run(envelope: Envelope): void {
    if (this.#closed) return this.#reject(envelope);
    const { conn, seq, cmd } = envelope;
    this.#counters.commands++;
    let spec = envelope.spec;
    if (conn.trusted) {
      // The main thread's own client validated in the caller's stack already.
      spec ??= SPEC_BY_TYPE[cmd.type];
    } else {
      try {
        // A descriptor from a wire decoder is the one its opcode names; the fields are still anything.
        spec ??= specOf(cmd);
        spec.validate(cmd);
        spec.untrusted?.(cmd);
      } catch (error) {
        this.#counters.malformed++;
        return reply(conn, seq, false, error, 'a malformed command');
      }
    }
    let result: unknown;
    try {
      result = spec.apply(this, cmd, conn);
    } catch (error) {
      return reply(conn, seq, false, error, cmd.type);
    }
    const answer = spec.answer as ((result: unknown) => unknown) | undefined;
    // Only an I/O backend, or a command that waits (a lock), answers later; else a value that merely looks like a promise is a value.
    if ((!this.backend.isAsync && spec.waits !== true) || !isThenable(result))
      return reply(conn, seq, true, answer ? answer(result) : result);
    const barrier = spec.barrier === true;
    if (barrier) this.#mailbox.pause();
    // Shaped in the step that replies: a `.then(answer)` would cost every async read a promise.
    result.then(
      (value) => this.#settle(conn, seq, true, answer ? answer(value) : value, barrier),
      (error) => this.#settle(conn, seq, false, error, barrier, cmd.type),
    );
  }

  /** A command threw past #run (a kvbus bug): report it, answer its caller, and go on. */
  #failed(error: unknown, envelope: Envelope): void {
    console.error('kvbus: the store actor failed on a command (a kvbus bug; the store goes on):', error);
    try {
      reply(envelope.conn, envelope.seq, false, error);
    } catch {
      // The reply is what failed: the caller's own timeout answers it.
    }
  }

  #settle(conn: Connection, seq: number, ok: boolean, value: unknown, barrier: boolean, type?: string): void {
    reply(conn, seq, ok, value, type);
    if (barrier) this.#mailbox.resume();
  }

  // What the commands' descriptors call (ActorContext).

  applyOp(key: string, name: string, arg: unknown): unknown {
    return this.backend.apply(key, this.#ops.bind(key, name, arg, this.#options.copy && this.backend.sharesValues));
  }

  subscribe(conn: Connection, sid: number, topic: Topic, since?: number): unknown {
    let subs = this.#subs.get(conn);
    if (!subs) this.#subs.set(conn, (subs = new Map()));
    return addSubscription(this.#feeds, subs, conn, sid, topic, since);
  }

  resume(conn: Connection, sid: number, since: number, limit: number): unknown {
    const sub = this.#subs.get(conn)?.get(sid);
    // Unsubscribed meanwhile: the connection forgets the pause.
    if (!(sub?.sink instanceof CatchUpSink)) return void conn.resumed?.(sid, [], false);
    const resumed = resumeFrom(this.backend, sub.topic.name, since, limit, sub.sink, conn, sid);
    return mapMaybe(resumed, (result) => result && this.unsubscribe(conn, sid));
  }

  unsubscribe(conn: Connection, sid: number): unknown {
    const subs = this.#subs.get(conn);
    const sub = subs?.get(sid);
    if (!sub) return false;
    subs!.delete(sid);
    const last = this.#router.remove(sub.topic, sub.sink);
    return mapMaybe(last ? this.backend.interest(sub.topic, false) : undefined, () => true);
  }

  disconnect(conn: Connection): unknown {
    this.#scans.release(conn);
    this.nearCaches.close(conn);
    const subs = this.#subs.get(conn);
    this.#subs.delete(conn);
    // Its locks go to the next waiters now, not when their leases run out.
    const released: Array<MaybePromise<void>> = [this.locks.disconnect(conn)];
    if (!subs) return released[0];
    for (const { topic, sink } of subs.values()) {
      if (this.#router.remove(topic, sink)) released.push(this.backend.interest(topic, false));
    }
    return released.some(isThenable) ? Promise.all(released).then(noop) : undefined;
  }

  stats(): MaybePromise<StoreStats> {
    let clients = 0;
    for (const conn of this.#subs.keys()) if (conn.kind !== 'local') clients++;
    return mapMaybe(this.backend.size(), (keys) => ({
      keys,
      clients,
      subscriptions: this.#router.size,
      commands: this.#counters.commands,
      queueDepth: this.#mailbox.size,
      dropped: this.#counters.dropped,
      malformed: this.#counters.malformed,
    }));
  }

  clients(): ClientInfo[] {
    const out: ClientInfo[] = [];
    for (const [conn, subs] of this.#subs) {
      if (conn.kind !== 'local') out.push({ id: conn.id, kind: conn.kind, subscriptions: subs.size, ...(conn.describe?.() ?? NO_DETAIL) });
    }
    return out;
  }

  scan(conn: Connection, cursor: number, pattern: string | undefined, count: number): unknown {
    return this.#scans.read(conn, cursor, count, () => this.backend.scan(pattern));
  }

  closeScan(conn: Connection, cursor: number): unknown {
    return this.#scans.close(conn, cursor);
  }

  expireDue(): unknown {
    this.#expiryQueued = false;
    return this.backend.expireDue?.();
  }
}
