import * as coord from '../commands/coord.js';
import type { Link } from '../commands/link.js';

/** What locks need of a client: a way to send a command (traced, as every call of the client is). */
type Requester = Pick<Link, 'request'>;

import { debug } from '../debug.js';
import { describe, KvbusError } from '../errors.js';
import type { Lock, LockOptions } from '../types.js';
import { assertName, assertOptions } from '../validate.js';
import { abortError, assertSignal } from './abortable.js';

/** The lease of a lock when `ttlMs` is not given. */
export const DEFAULT_LOCK_TTL_MS = 30_000;

// One counter for the whole thread: two clients over one link must not share a ticket.
let lastTicket = 0;

/**
 * A granted lock, as {@link StoreClient.lock} gives it. Its own fields are
 * `name` and `token` only, so it travels to another thread or process as the
 * `{ name, token }` a fenced write there needs.
 */
class ClientLock implements Lock {
  readonly name: string;
  readonly token: number;
  readonly #link: Requester;
  readonly #ttlMs: number;
  #released = false;

  constructor(link: Requester, name: string, token: number, ttlMs: number) {
    this.name = name;
    this.token = token;
    this.#link = link;
    this.#ttlMs = ttlMs;
  }

  /** True once `release()` was called on this object. */
  get released(): boolean {
    return this.#released;
  }

  release(): Promise<boolean> {
    if (this.#released) return Promise.resolve(false);
    this.#released = true;
    const released = this.#link.request({ type: 'lock.release', name: this.name, token: this.token }, coord.release) as Promise<boolean>;
    // A release that failed (the store unreachable for a moment) may be tried again.
    return released.catch((error: unknown) => {
      this.#released = false;
      throw error;
    });
  }

  extend(ttlMs: number = this.#ttlMs): Promise<void> {
    try {
      coord.assertLease('ttlMs', ttlMs);
    } catch (error) {
      return Promise.reject(error);
    }
    const cmd = { type: 'lock.extend', name: this.name, token: this.token, ttlMs } as const;
    return this.#link.request(cmd, coord.extend).then(() => undefined);
  }

  /** `await using lock = await store.lock(name)` releases it at the end of the scope (a lock already lost is no error). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}

/**
 * Acquires lock `name` through `link` (see {@link Store.lock}). Arguments are
 * checked in the caller's stack; an already aborted `signal` rejects at once.
 * An abort while waiting withdraws the request in the store (`lock.cancel`) and
 * rejects with `ERR_ABORTED` at once; should the grant have crossed the cancel
 * on its way, the lock is released.
 * @param link - the way to the actor
 * @param name - the lock
 * @param options - lease, wait, signal
 * @returns the lock, once granted
 */
export function acquireLock(link: Requester, name: string, options: LockOptions | undefined): Promise<Lock> {
  let cmd: { type: 'lock.acquire'; name: string; ttlMs: number; ticket: number; waitMs?: number };
  let signal: AbortSignal | undefined;
  try {
    assertName('name', name);
    assertOptions('lock options', options);
    signal = options?.signal;
    assertSignal(signal);
    cmd = { type: 'lock.acquire', name, ttlMs: options?.ttlMs ?? DEFAULT_LOCK_TTL_MS, ticket: ++lastTicket };
    if (options?.waitMs !== undefined) cmd.waitMs = options.waitMs;
    coord.acquire.validate(cmd);
  } catch (error) {
    return Promise.reject(error);
  }
  if (signal?.aborted) return Promise.reject(abortedError(name, signal));
  const ttlMs = cmd.ttlMs;
  const granted = link.request(cmd, coord.acquire) as Promise<number>;
  if (signal === undefined) return granted.then((token) => new ClientLock(link, name, token, ttlMs));
  const aborting = signal;
  return new Promise<Lock>((resolve, reject) => {
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      link.request({ type: 'lock.cancel', ticket: cmd.ticket }, coord.cancel).catch(() => {});
      reject(abortedError(name, aborting));
    };
    aborting.addEventListener('abort', onAbort, { once: true });
    granted.then(
      (token) => {
        aborting.removeEventListener('abort', onAbort);
        const lock = new ClientLock(link, name, token, ttlMs);
        // Granted before the cancel reached the store: give it back.
        if (aborted) lock.release().catch(() => {});
        else resolve(lock);
      },
      (error: unknown) => {
        aborting.removeEventListener('abort', onAbort);
        if (!aborted) reject(error);
      },
    );
  });
}

/**
 * Runs `fn` holding lock `name` (see {@link Store.withLock}), releases the lock
 * however `fn` ends, and resolves to what `fn` resolved to. A lease that ran out
 * while `fn` ran is no error here (`fn`'s work is done and cannot be undone):
 * what protects the data is the fence, `{ fence: lock }` on `fn`'s writes, which
 * the store refuses once the lock is no longer held. With `NODE_DEBUG=kvbus` the
 * lost lease is logged.
 * @returns what `fn` resolved to
 */
export async function withLock<TResult>(
  link: Requester,
  name: string,
  fn: (lock: Lock) => TResult | Promise<TResult>,
  options: LockOptions | undefined,
): Promise<TResult> {
  if (typeof fn !== 'function') throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`fn\` to be a function, got ${describe(fn)}`);
  const lock = (await acquireLock(link, name, options)) as ClientLock;
  let result: TResult;
  try {
    result = await fn(lock);
  } catch (error) {
    await lock.release().catch(() => {});
    throw error;
  }
  // fn may have released the lock itself: nothing to release then.
  if (!lock.released && !(await lock.release()) && debug.enabled) {
    debug(
      `withLock(${JSON.stringify(name)}): the lease of token ${lock.token} ran out before fn finished (raise ttlMs, or extend during long work)`,
    );
  }
  return result;
}

function abortedError(name: string, signal: AbortSignal): KvbusError {
  return abortError(signal, `The wait for lock ${JSON.stringify(name)}`);
}
