// Locks across threads: real piscina workers of the built package (coord-core's tests; renamed from locks-workers.test.ts in the merge with coord-tests, which owns that name).
import { createPool, type MainStore } from 'kvbus';
import { afterEach, describe, expect, it } from 'vitest';
import { fixturePath, fixtureUrl } from '../helpers/fixtures.js';
import { Resources } from '../helpers/resources.js';
import { sleep, waitUntil } from '../helpers/wait.js';

const TASKS = fixtureUrl('lock-core-tasks.mjs').href;

const res = new Resources();
afterEach(() => res.cleanup());

function newPool(store: MainStore, maxThreads = 2) {
  return res.pool(createPool({ store, filename: TASKS, minThreads: 1, maxThreads }));
}

describe('locks across workers', () => {
  it('gives the lock of a worker that exits to the next waiter in main at once, not at the end of its lease', async () => {
    const store = res.store();
    const pool = newPool(store, 1);
    const task = pool.run({ name: 'leader', heldKey: 'held', dieChannel: 'die' }, { name: 'holdThenExit' }).catch(() => 'exited');
    await waitUntil(async () => (await store.get('held')) !== undefined, 'the worker to hold the lock');
    const holderToken = (await store.get('held')) as number;
    let grantedAt = 0;
    const next = store.lock('leader', { ttlMs: 5000 }).then((lock) => {
      grantedAt = Date.now();
      return lock;
    });
    await sleep(50);
    expect(grantedAt).toBe(0);
    const killedAt = Date.now();
    expect(await store.publish('die', 1)).toBe(1);
    const lock = await next;
    // The holder's lease was 60 s: only its exit could have freed the lock. Generous bound for a loaded machine.
    expect(grantedAt - killedAt).toBeLessThan(1000);
    expect(lock.token).toBeGreaterThan(holderToken);
    // And its token no longer fences anything.
    await expect(store.set('k', 1, { fence: { name: 'leader', token: holderToken } })).rejects.toMatchObject({ code: 'ERR_CONFLICT' });
    expect(await task).toBe('exited');
  });

  it('gives the lock of a child process killed with SIGKILL to the next waiter at once', async () => {
    const store = res.store();
    const child = res.child(store.fork(fixturePath('lock-core-child.mjs'), ['proc-lock', 'proc-held']));
    await waitUntil(async () => (await store.get('proc-held')) !== undefined, 'the child to hold the lock');
    const next = store.lock('proc-lock', { ttlMs: 5000 });
    await sleep(50);
    const killedAt = Date.now();
    child.kill('SIGKILL');
    const lock = await next;
    expect(Date.now() - killedAt).toBeLessThan(1000);
    expect(lock.token).toBeGreaterThan((await store.get('proc-held')) as number);
  });

  it('lets a worker wait for a lock longer than requestTimeoutMs', async () => {
    const store = res.store({ requestTimeoutMs: 200 });
    const pool = newPool(store, 1);
    const held = await store.lock('slow');
    const waiting = pool.run({ name: 'slow', askingKey: 'asking' }, { name: 'waitForLock' }) as Promise<{
      token: number;
      waited: number;
      released: boolean;
    }>;
    await waitUntil(async () => (await store.get('asking')) === true, 'the worker to ask for the lock');
    // Well past the timeout (a call times out within 1.25 × requestTimeoutMs).
    await sleep(700);
    await held.release();
    const result = await waiting;
    expect(result.token).toBeGreaterThan(held.token);
    expect(result.waited).toBeGreaterThanOrEqual(500);
    expect(result.released).toBe(true);
  });

  it('keeps read-modify-writes under withLock from 4 tasks on 2 threads exact', async () => {
    const store = res.store();
    const pool = newPool(store, 2);
    await Promise.all([1, 2, 3, 4].map(() => pool.run({ name: 'count', key: 'total', times: 50 }, { name: 'countUnderLock' })));
    expect(await store.get('total')).toBe(200);
  });
});
