// The actor's lock layer against a backend whose locks answer later (as Redis's
// do): grants that cross a withdrawal are given back, a client that goes away
// gives back what it holds and leaves the queues, waitMs and close end waits.
import { describe, expect, it } from 'vitest';
import { LockGrants } from '../../src/actors/lock-grants.js';
import type { BackendLocks, LockWaiter } from '../../src/backends/backend.js';
import type { Connection } from '../../src/commands/connection.js';
import { KvbusError } from '../../src/errors.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** Locks that queue every waiter and grant only when the test says, recording what the actor asks. */
class ScriptedLocks implements BackendLocks {
  readonly queued: LockWaiter[] = [];
  readonly cancelled: LockWaiter[] = [];
  readonly released: Array<[string, number]> = [];
  held = true;

  acquire(waiter: LockWaiter): Promise<void> {
    this.queued.push(waiter);
    return Promise.resolve();
  }
  cancel(waiter: LockWaiter): Promise<void> {
    this.cancelled.push(waiter);
    return Promise.resolve();
  }
  release(name: string, token: number): Promise<boolean> {
    this.released.push([name, token]);
    return Promise.resolve(this.held);
  }
  extend(): Promise<boolean> {
    return Promise.resolve(this.held);
  }
}

function connection(id: number): Connection {
  return { id, kind: 'worker', reply: () => {}, deliver: () => {}, end: () => {} };
}

function setup() {
  const locks = new ScriptedLocks();
  const clock = new FakeClock();
  const grants = new LockGrants({ locks }, clock, (fn) => fn());
  return { locks, clock, grants };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function codeOf(promise: unknown): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as KvbusError).code;
  }
}

describe('lock grants', () => {
  it('answers the token when the backend grants it later', async () => {
    const { locks, grants } = setup();
    const token = grants.acquire(connection(1), 'a', 1000, undefined, 1);
    await tick();
    locks.queued[0]!.grant(7);
    expect(await token).toBe(7);
  });

  it('gives back at once a grant that arrives after the wait timed out', async () => {
    const { locks, clock, grants } = setup();
    const outcome = codeOf(grants.acquire(connection(1), 'a', 1000, 50, 1));
    await tick(); // the backend has queued it: the wait starts
    clock.advance(50);
    expect(await outcome).toBe('ERR_TIMEOUT');
    expect(locks.cancelled).toEqual([locks.queued[0]]);
    // The grant was already on its way when the cancel went out.
    locks.queued[0]!.grant(9);
    expect(locks.released).toEqual([['a', 9]]);
  });

  it('rejects a cancelled acquire with ERR_ABORTED and gives back a grant that crossed the cancel', async () => {
    const { locks, grants } = setup();
    const conn = connection(1);
    const outcome = codeOf(grants.acquire(conn, 'a', 1000, undefined, 5));
    await tick();
    expect(grants.cancel(conn, 5)).toBe(true);
    expect(grants.cancel(conn, 5)).toBe(false);
    expect(await outcome).toBe('ERR_ABORTED');
    locks.queued[0]!.grant(3);
    expect(locks.released).toEqual([['a', 3]]);
  });

  it('refuses a ticket already waiting on the same client, not on another', async () => {
    const { grants } = setup();
    void grants.acquire(connection(1), 'a', 1000, undefined, 1);
    expect(() => grants.acquire(connection(1), 'b', 1000, undefined, 2)).not.toThrow();
    const conn = connection(3);
    void grants.acquire(conn, 'a', 1000, undefined, 1);
    expect(() => grants.acquire(conn, 'b', 1000, undefined, 1)).toThrow(/ticket 1/);
  });

  it('releases what a client held and withdraws its waiters when it goes away', async () => {
    const { locks, grants } = setup();
    const conn = connection(1);
    const held = grants.acquire(conn, 'held', 1000, undefined, 1);
    await tick();
    locks.queued[0]!.grant(11);
    await held;
    const waiting = codeOf(grants.acquire(conn, 'other', 1000, undefined, 2));
    await tick();
    await grants.disconnect(conn);
    expect(locks.released).toEqual([['held', 11]]);
    expect(locks.cancelled).toEqual([locks.queued[1]]);
    expect(await waiting).toBe('ERR_DISCONNECTED');
  });

  it('forgets a lock its client released: going away releases nothing more', async () => {
    const { locks, grants } = setup();
    const conn = connection(1);
    const held = grants.acquire(conn, 'x', 1000, undefined, 1);
    await tick();
    locks.queued[0]!.grant(4);
    await held;
    expect(await grants.release(conn, 'x', 4)).toBe(true);
    await grants.disconnect(conn);
    expect(locks.released).toEqual([['x', 4]]);
  });

  it('turns a failed extend into ERR_CONFLICT naming the lock', async () => {
    const { locks, grants } = setup();
    locks.held = false;
    const error = await Promise.resolve(grants.extend(connection(1), 'gone', 2, 1000)).catch((e: KvbusError) => e);
    expect(error).toBeInstanceOf(KvbusError);
    expect((error as KvbusError).code).toBe('ERR_CONFLICT');
    expect((error as KvbusError).message).toMatch(/"gone".*token 2/);
  });

  it('rejects pending acquires with ERR_CLOSED on close, and refuses new ones', async () => {
    const { grants } = setup();
    const waiting = codeOf(grants.acquire(connection(1), 'a', 1000, undefined, 1));
    await tick();
    await grants.close();
    expect(await waiting).toBe('ERR_CLOSED');
    expect(() => grants.acquire(connection(1), 'a', 1000, undefined, 2)).toThrow(/closed/);
  });
});
