import type { Clock } from '../../clock.js';
import { lockLostError } from '../../errors.js';
import type { LockRef } from '../../types.js';
import type { BackendLocks, LockWaiter } from '../backend.js';
import { ExpiryQueue } from './expiry-queue.js';

interface Lease {
  readonly token: number;
  expiresAt: number;
}

/**
 * The memory backend's locks: a lease per held name, a FIFO queue of waiters
 * per name, and one token counter for every name (so each name's tokens
 * strictly increase). Leases run out on one timer for all of them (an
 * {@link ExpiryQueue}), whose firing asks the actor for a turn, like a key's
 * TTL: a lease that runs out grants the next waiter in that turn. Nothing
 * polls. Every method runs inside an actor turn.
 */
export class MemoryLocks implements BackendLocks {
  readonly #clock: Clock;
  readonly #leases = new Map<string, Lease>();
  readonly #queues = new Map<string, LockWaiter[]>();
  readonly #expiry: ExpiryQueue;
  #lastToken = 0;

  /**
   * @param clock - the backend's clock (leases are read against it)
   * @param requestTurn - asks the actor for a turn that calls {@link MemoryLocks.expireDue}
   */
  constructor(clock: Clock, requestTurn: () => void) {
    this.#clock = clock;
    this.#expiry = new ExpiryQueue(clock, requestTurn);
  }

  acquire(waiter: LockWaiter): void {
    const name = waiter.name;
    this.#endIfRunOut(name);
    const queue = this.#queues.get(name);
    if (!this.#leases.has(name) && queue === undefined) return this.#grant(waiter);
    if (queue) queue.push(waiter);
    else this.#queues.set(name, [waiter]);
  }

  cancel(waiter: LockWaiter): void {
    const queue = this.#queues.get(waiter.name);
    const at = queue ? queue.indexOf(waiter) : -1;
    if (at === -1) return;
    queue!.splice(at, 1);
    if (queue!.length === 0) this.#queues.delete(waiter.name);
  }

  release(name: string, token: number): boolean {
    const held = this.holds(name, token);
    if (held) this.#leases.delete(name);
    // A lease that ran out (its turn not come yet) ends here too, and the next waiter gets the lock.
    else this.#endIfRunOut(name);
    this.#grantNext(name);
    return held;
  }

  extend(name: string, token: number, ttlMs: number): boolean {
    if (!this.holds(name, token)) return false;
    const lease = this.#leases.get(name)!;
    lease.expiresAt = this.#clock.now() + ttlMs;
    this.#expiry.schedule(name, lease.expiresAt);
    return true;
  }

  /**
   * Tells whether lock `name` is held now with `token`: granted with it, and its lease not run out
   * (even when the timer's turn has not come yet). Fenced writes ask this.
   */
  holds(name: string, token: number): boolean {
    const lease = this.#leases.get(name);
    return lease !== undefined && lease.token === token && lease.expiresAt > this.#clock.now();
  }

  /**
   * Throws `ERR_CONFLICT` unless `fence`'s lock is held with its token now.
   * @param key - the fenced write's key (none: a transaction)
   */
  assertFence(fence: LockRef, key?: string): void {
    if (this.holds(fence.name, fence.token)) return;
    throw lockLostError(fence.name, fence.token, key === undefined ? 'transaction' : `write to key ${JSON.stringify(key)}`);
  }

  /** Ends the leases that ran out, granting each lock to its next waiter. */
  expireDue(): void {
    const isCurrent = (name: string, at: number) => this.#leases.get(name)?.expiresAt === at;
    for (const name of this.#expiry.popDue(isCurrent)) {
      this.#leases.delete(name);
      this.#grantNext(name);
    }
    this.#expiry.compact(this.#leases.size, isCurrent);
  }

  /** Forgets every lease and waiter, and stops the timer. */
  close(): void {
    this.#expiry.clear();
    this.#leases.clear();
    this.#queues.clear();
  }

  #endIfRunOut(name: string): void {
    const lease = this.#leases.get(name);
    if (lease === undefined || lease.expiresAt > this.#clock.now()) return;
    this.#leases.delete(name);
    this.#grantNext(name);
  }

  #grantNext(name: string): void {
    if (this.#leases.has(name)) return;
    const queue = this.#queues.get(name);
    if (queue === undefined) return;
    const next = queue.shift()!;
    if (queue.length === 0) this.#queues.delete(name);
    this.#grant(next);
  }

  /** The lock is free: `waiter` holds it now (its grant may give it back at once, which grants the next). */
  #grant(waiter: LockWaiter): void {
    const token = ++this.#lastToken;
    const expiresAt = this.#clock.now() + waiter.ttlMs;
    this.#leases.set(waiter.name, { token, expiresAt });
    this.#expiry.schedule(waiter.name, expiresAt);
    waiter.grant(token);
  }
}
