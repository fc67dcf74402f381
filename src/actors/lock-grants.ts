import type { BackendLocks, LockWaiter, MaybePromise } from '../backends/backend.js';
import type { Clock } from '../clock.js';
import type { Connection } from '../commands/connection.js';
import type { ActorLocks } from '../commands/define.js';
import { KvbusError, lockLostError } from '../errors.js';
import { isThenable, mapMaybe } from './maybe-promise.js';

/** One `lock.acquire` of one client, as the backend sees it ({@link LockWaiter}) and as the actor tracks it. */
class Waiter implements LockWaiter {
  state: 'waiting' | 'granted' | 'withdrawn' = 'waiting';
  token = 0;
  timer: unknown = undefined;
  resolve: ((token: number) => void) | undefined;
  reject: ((error: unknown) => void) | undefined;

  constructor(
    readonly name: string,
    readonly ttlMs: number,
    readonly client: ClientLocks,
    readonly ticket: number,
    readonly onGrant: (waiter: Waiter, token: number) => void,
  ) {}

  grant(token: number): void {
    this.onGrant(this, token);
  }
}

/** What one client holds and waits for. */
interface ClientLocks {
  /** Pending acquires, by the client's ticket. */
  readonly waiters: Map<number, Waiter>;
  /** Lock name → the token of this client's latest grant of it (a later grant of a name ends every earlier one). */
  readonly held: Map<string, number>;
}

const noop = (): void => {};

/**
 * The actor's side of locks: which client waits for and holds what, so that a
 * client that goes away (a worker exits, a child dies) gives its locks back at
 * once and its waiters leave the queue; `waitMs` timers; cancels (an aborted
 * `signal`); and grants that arrive for a waiter already gone, which are
 * released on the spot. The queue, leases and tokens are the backend's
 * ({@link BackendLocks}).
 */
export class LockGrants implements ActorLocks {
  readonly #backend: { readonly locks: BackendLocks };
  readonly #clock: Clock;
  readonly #turn: (fn: () => void) => void;
  readonly #clients = new Map<Connection, ClientLocks>();
  readonly #onGrant = (waiter: Waiter, token: number): void => this.#granted(waiter, token);
  #closed = false;
  /** Waiters not yet granted nor withdrawn, and the handle that keeps the process alive meanwhile. */
  #waiting = 0;
  #keepAlive: ReturnType<typeof setInterval> | undefined;

  /**
   * @param backend - whose locks these are
   * @param clock - for `waitMs` timers
   * @param turn - runs a timer's work as an actor turn (never inside another command)
   */
  constructor(backend: { readonly locks: BackendLocks }, clock: Clock, turn: (fn: () => void) => void) {
    this.#backend = backend;
    this.#clock = clock;
    this.#turn = turn;
  }

  /**
   * Queues `conn` for lock `name`.
   * @returns the fencing token at once when the lock was free, else a promise of it
   */
  acquire(conn: Connection, name: string, ttlMs: number, waitMs: number | undefined, ticket: number): MaybePromise<number> {
    if (this.#closed) throw closedError();
    const client = this.#client(conn);
    if (client.waiters.has(ticket)) {
      throw new KvbusError(
        'ERR_BAD_ARGUMENT',
        `Lock request ticket ${ticket} is already waiting on this client: use a new ticket per request`,
      );
    }
    const waiter = new Waiter(name, ttlMs, client, ticket, this.#onGrant);
    client.waiters.set(ticket, waiter);
    let queued: MaybePromise<void>;
    try {
      queued = this.#backend.locks.acquire(waiter);
    } catch (error) {
      waiter.state = 'withdrawn';
      client.waiters.delete(ticket);
      throw error;
    }
    // The memory backend grants a free lock inside acquire: the answer is at once.
    if (waiter.state === 'granted') return waiter.token;
    // A caller awaiting a lock must hear how the wait ends: the lease timers that end it
    // (like a key's TTL) do not hold the process open, so the wait itself does.
    if (this.#waiting++ === 0) this.#keepAlive = setInterval(noop, 2 ** 30);
    return new Promise<number>((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.reject = reject;
      // The wait is timed from when the backend has queued the waiter (on Redis, a round trip later):
      // a `waitMs` of 0 then means "only if free now" on every backend.
      if (isThenable(queued)) {
        queued.then(
          () => this.#arm(waiter, waitMs),
          (error: unknown) => this.#withdraw(waiter, error),
        );
      } else {
        this.#arm(waiter, waitMs);
      }
    });
  }

  /** Withdraws the pending acquire `ticket` of `conn`, which rejects with `ERR_ABORTED`; false when none was pending. */
  cancel(conn: Connection, ticket: number): boolean {
    const waiter = this.#clients.get(conn)?.waiters.get(ticket);
    if (!waiter) return false;
    this.#withdraw(waiter, new KvbusError('ERR_ABORTED', `The wait for lock ${JSON.stringify(waiter.name)} was aborted`));
    return true;
  }

  /** Releases lock `name` if `token` holds it; true when this call released it. */
  release(conn: Connection, name: string, token: number): MaybePromise<boolean> {
    const held = this.#clients.get(conn)?.held;
    if (held?.get(name) === token) held.delete(name);
    return this.#backend.locks.release(name, token);
  }

  /** Renews the lease of `name` held with `token`; throws `ERR_CONFLICT` when it is no longer held. */
  extend(conn: Connection, name: string, token: number, ttlMs: number): MaybePromise<void> {
    return mapMaybe(this.#backend.locks.extend(name, token, ttlMs), (extended) => {
      if (extended) return;
      const held = this.#clients.get(conn)?.held;
      if (held?.get(name) === token) held.delete(name);
      throw lockLostError(name, token, 'extend');
    });
  }

  /**
   * A client went away: its waiters leave the queues and its locks are released
   * now, so the next waiter need not wait for a lease to run out.
   */
  disconnect(conn: Connection): MaybePromise<void> {
    const client = this.#clients.get(conn);
    if (!client) return undefined;
    this.#clients.delete(conn);
    return this.#letGo(client, () => new KvbusError('ERR_DISCONNECTED', 'The client went away while waiting for a lock'));
  }

  /** The store closes: every pending acquire rejects with `ERR_CLOSED`, and the locks clients held are released. */
  close(): MaybePromise<void> {
    if (this.#closed) return undefined;
    this.#closed = true;
    const done: Array<MaybePromise<void>> = [];
    for (const client of this.#clients.values()) done.push(this.#letGo(client, closedError));
    this.#clients.clear();
    return done.some(isThenable) ? Promise.all(done).then(noop) : undefined;
  }

  #client(conn: Connection): ClientLocks {
    let client = this.#clients.get(conn);
    if (!client) this.#clients.set(conn, (client = { waiters: new Map(), held: new Map() }));
    return client;
  }

  #letGo(client: ClientLocks, error: () => KvbusError): MaybePromise<void> {
    for (const waiter of [...client.waiters.values()]) this.#withdraw(waiter, error());
    const released: Array<MaybePromise<unknown>> = [];
    for (const [name, token] of client.held) released.push(this.#quietly(() => this.#backend.locks.release(name, token)));
    client.held.clear();
    return released.some(isThenable) ? Promise.all(released).then(noop) : undefined;
  }

  #arm(waiter: Waiter, waitMs: number | undefined): void {
    if (waiter.state !== 'waiting' || waitMs === undefined) return;
    waiter.timer = this.#clock.setTimeout(() => {
      waiter.timer = undefined;
      this.#turn(() =>
        this.#withdraw(
          waiter,
          new KvbusError('ERR_TIMEOUT', `Lock ${JSON.stringify(waiter.name)} was not granted within waitMs (${waitMs} ms)`),
        ),
      );
    }, waitMs);
    // The clock's timers do not hold the process open (a key's TTL must not), but a caller awaiting
    // this wait must hear how it ends, as with a timer of its own.
    (waiter.timer as { ref?: () => void } | undefined)?.ref?.();
  }

  #granted(waiter: Waiter, token: number): void {
    if (waiter.state !== 'waiting') {
      // Withdrawn (timed out, aborted, its client gone) while the grant was on its way: give it back now.
      if (waiter.state === 'withdrawn') this.#quietly(() => this.#backend.locks.release(waiter.name, token));
      return;
    }
    waiter.state = 'granted';
    waiter.token = token;
    this.#stopWaiting(waiter);
    waiter.client.waiters.delete(waiter.ticket);
    waiter.client.held.set(waiter.name, token);
    waiter.resolve?.(token);
  }

  #withdraw(waiter: Waiter, error: unknown): void {
    if (waiter.state !== 'waiting') return;
    waiter.state = 'withdrawn';
    this.#stopWaiting(waiter);
    waiter.client.waiters.delete(waiter.ticket);
    this.#quietly(() => this.#backend.locks.cancel(waiter));
    waiter.reject?.(error);
  }

  /** A waiter stops waiting (granted or withdrawn): its `waitMs` timer, and the keep-alive with the last one. */
  #stopWaiting(waiter: Waiter): void {
    if (waiter.timer !== undefined) this.#clock.clearTimeout(waiter.timer);
    waiter.timer = undefined;
    // Only a waiter that was answered later counted (one granted inside `acquire` never waited).
    if (waiter.resolve !== undefined && --this.#waiting === 0) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = undefined;
    }
  }

  /** Runs a clean-up whose failure has no caller to tell (a backend gone): reported, never thrown. */
  #quietly(fn: () => MaybePromise<unknown>): MaybePromise<unknown> {
    const report = (error: unknown) => {
      if (!this.#closed) console.error('kvbus: giving back a lock failed (its lease will end it):', error);
    };
    try {
      const result = fn();
      return isThenable(result) ? Promise.resolve(result).catch(report) : result;
    } catch (error) {
      report(error);
      return undefined;
    }
  }
}

function closedError(): KvbusError {
  return new KvbusError('ERR_CLOSED', 'The store was closed while waiting for a lock');
}
