// Locks on Redis, shared by every process of the namespace: leases (PX),
// fencing tokens from one counter, and first-come-first-served waiters in a
// queue per lock. Waiting costs no polling: a waiter tries again when the
// `ns:locks` channel names its lock (a release, a waiter that withdrew) or when
// the lease it waits on runs out (a dead holder publishes nothing); a heartbeat
// keeps this process's waiters alive in Redis. Keys: lock-scripts.ts and
// docs/redis-locks.md.
import { randomBytes } from 'node:crypto';
import { KvbusError } from '../../errors.js';
import type { BackendLocks, LockWaiter } from '../backend.js';
import type { Connection } from './connection.js';
import type { Layout } from './layout.js';
import { withTimeout } from './watchdog.js';

/** How often a process with waiters tells Redis they are alive. */
export const HEARTBEAT_MS = 1_000;
/** How long a waiter stays alive in Redis without a heartbeat: a dead process's waiters are skipped after this. */
export const ALIVE_MS = 3_000;
/** How long a queue outlives its last heartbeat. */
const QUEUE_TTL_MS = 10_000;
/** The longest a waiter sleeps without a wake (a lost message costs at most this). */
const MAX_SLEEP_MS = 10_000;
/** How soon a waiter whose attempt failed (Redis unreachable) tries again. */
const RETRY_MS = 1_000;

/** Runs a command after the earlier ones of the backend (see RedisBackend's #run). */
type Run = <TResult>(fn: () => Promise<TResult>) => Promise<TResult>;

/** One waiter of this process, until it is granted or withdrawn. */
interface Waiting {
  readonly waiter: LockWaiter;
  /** Its id in the lock's queue. */
  readonly id: string;
  done: boolean;
  /** An attempt is on its way to Redis; `again` asks it to go once more. */
  running: boolean;
  again: boolean;
  timer: NodeJS.Timeout | undefined;
}

/** The {@link BackendLocks} of the Redis backend. */
export class RedisLocks implements BackendLocks {
  readonly #connection: Connection;
  readonly #layout: Layout;
  readonly #run: Run;
  /** This process (this backend) in waiter ids. */
  readonly #process = randomBytes(6).toString('hex');
  #seq = 0;
  readonly #waiting = new Map<LockWaiter, Waiting>();
  /** The grants of this backend not released through it, released when it closes: `name\0token`. */
  readonly #held = new Set<string>();
  #highest = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  #subscribed: Promise<void> | undefined;
  #closed = false;

  constructor(connection: Connection, layout: Layout, run: Run) {
    this.#connection = connection;
    this.#layout = layout;
    this.#run = run;
  }

  acquire(waiter: LockWaiter): Promise<void> {
    if (this.#closed) return Promise.reject(new KvbusError('ERR_CLOSED', 'The Redis backend is closed'));
    const w: Waiting = { waiter, id: `${this.#process}.${++this.#seq}`, done: false, running: false, again: false, timer: undefined };
    this.#waiting.set(waiter, w);
    return this.#run(() => this.#attempt(w)).catch((error: unknown) => {
      // Not queued as far as the caller knows: withdraw it in Redis too.
      if (!w.done) void this.cancel(waiter).catch(() => {});
      throw error;
    });
  }

  cancel(waiter: LockWaiter): Promise<void> {
    const w = this.#waiting.get(waiter);
    if (!w) return Promise.resolve();
    this.#forget(w);
    // Sent after any attempt already on its way: a grant it brings back is released (see #granted).
    return this.#run(() => this.#withdraw(w)).then(() => {});
  }

  release(name: string, token: number): Promise<boolean> {
    this.#held.delete(`${name}\0${token}`);
    const layout = this.#layout;
    return this.#run(async () => {
      const keys = [layout.lock(name), layout.lockQueue(name)];
      return Number(await this.#connection.script('LOCK_RELEASE', keys, [String(token), name, layout.lockWake])) === 1;
    });
  }

  extend(name: string, token: number, ttlMs: number): Promise<boolean> {
    const args = [String(token), String(Math.max(1, Math.ceil(ttlMs)))];
    return this.#run(async () => Number(await this.#connection.script('LOCK_EXTEND', [this.#layout.lock(name)], args)) === 1);
  }

  /** Stops the timers, withdraws this backend's waiters and releases its grants (bounded; before the connection closes). */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    const withdrawals = [...this.#waiting.values()].map((w) => {
      this.#forget(w);
      return this.#withdraw(w);
    });
    const releases = [...this.#held].map((held) => {
      const [name, token] = held.split('\0') as [string, string];
      return this.release(name, Number(token));
    });
    await withTimeout(Promise.allSettled([...withdrawals, ...releases]), this.#connection.timeout, () => new Error('timed out')).catch(
      () => {},
    );
  }

  /** Tries to take the lock for `w`; when it cannot, sleeps until a wake or the lease's end. */
  async #attempt(w: Waiting): Promise<void> {
    if (w.running) {
      w.again = true;
      return;
    }
    w.running = true;
    clearTimeout(w.timer);
    w.timer = undefined;
    const { name, ttlMs } = w.waiter;
    const layout = this.#layout;
    const keys = [layout.lock(name), layout.lockQueue(name), layout.lockToken, layout.lockWaiter(w.id)];
    try {
      let sleep = -2;
      do {
        w.again = false;
        if (w.done) return;
        const args = [
          w.id,
          String(Math.max(1, Math.ceil(ttlMs))),
          String(this.#highest),
          String(ALIVE_MS),
          String(QUEUE_TTL_MS),
          layout.lockWaiter(''),
        ];
        const [granted, n] = (await this.#connection.script('LOCK_ACQUIRE', keys, args)) as [number, number];
        if (Number(granted) === 1) {
          this.#granted(w, Number(n));
          return;
        }
        sleep = Number(n);
        // Queued: from now on this process keeps its waiters alive in Redis.
        if (!w.done) this.#heartbeat ??= setInterval(() => this.#beat(), HEARTBEAT_MS).unref();
        if (!this.#subscribed) {
          // Subscribed from now on; a release meanwhile was not heard, so look once more.
          await this.#subscribe();
          w.again = true;
        }
      } while (w.again);
      if (!w.done) w.timer = setTimeout(() => this.#retry(w), sleepMs(sleep)).unref();
    } finally {
      w.running = false;
    }
  }

  #granted(w: Waiting, token: number): void {
    if (token > this.#highest) this.#highest = token;
    if (w.done) {
      // Withdrawn (or closed) while this grant was on its way: hand it on.
      void this.release(w.waiter.name, token).catch(() => {});
      return;
    }
    this.#forget(w);
    this.#held.add(`${w.waiter.name}\0${token}`);
    w.waiter.grant(token);
  }

  /** Another attempt for `w`, now; a failure (Redis unreachable) tries again later. */
  #retry(w: Waiting): void {
    if (w.done) return;
    this.#run(() => this.#attempt(w)).catch(() => {
      if (!w.done && !w.timer) w.timer = setTimeout(() => this.#retry(w), RETRY_MS).unref();
    });
  }

  #forget(w: Waiting): void {
    w.done = true;
    clearTimeout(w.timer);
    w.timer = undefined;
    this.#waiting.delete(w.waiter);
    if (this.#waiting.size === 0) {
      clearInterval(this.#heartbeat);
      this.#heartbeat = undefined;
    }
  }

  #withdraw(w: Waiting): Promise<unknown> {
    const layout = this.#layout;
    const { name } = w.waiter;
    return this.#connection.script('LOCK_CANCEL', [layout.lockQueue(name), layout.lockWaiter(w.id)], [w.id, name, layout.lockWake]);
  }

  /** Subscribes to the wake channel, once; every waiter tries again after a reconnect (a wake may have been lost). */
  #subscribe(): Promise<void> {
    if (!this.#subscribed) {
      const subscriber = this.#connection.subscriber;
      this.#subscribed = subscriber
        .subscribe(this.#layout.lockWake, (name: string) => this.#wake(String(name)))
        .then(() => {
          subscriber.on('ready', () => this.#wake(undefined));
        });
      this.#subscribed.catch(() => {
        this.#subscribed = undefined;
      });
    }
    return this.#subscribed;
  }

  /** The waiters of lock `name` (all without one) try again. */
  #wake(name: string | undefined): void {
    for (const w of this.#waiting.values()) if (name === undefined || w.waiter.name === name) this.#retry(w);
  }

  /** Keeps this process's waiters, and their queues, alive in Redis. */
  #beat(): void {
    if (this.#waiting.size === 0) return;
    const alive: string[] = [];
    const queues = new Set<string>();
    for (const w of this.#waiting.values()) {
      alive.push(this.#layout.lockWaiter(w.id));
      queues.add(this.#layout.lockQueue(w.waiter.name));
    }
    const args = [String(alive.length), String(ALIVE_MS), String(QUEUE_TTL_MS)];
    this.#connection.script('LOCK_HEARTBEAT', [...alive, ...queues], args).catch(() => {});
  }
}

/** How long to sleep on the script's hint: the lease's end or the first waiter's liveness, a little after. */
function sleepMs(hint: number): number {
  if (hint === -2) return 5; // the lock went meanwhile: look again at once
  if (hint < 0) return MAX_SLEEP_MS; // a lock without a lease (not kvbus's): wait for a wake
  return Math.min(MAX_SLEEP_MS, hint + 5);
}
