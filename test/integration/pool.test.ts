import type { Worker } from 'node:worker_threads';
import { createPool, type MainStore, type PeerEvent } from 'kvbus';
import { Piscina } from 'piscina';
import { filter, firstValueFrom, take, timeout, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { fixtureUrl } from '../helpers/fixtures.js';
import { Resources } from '../helpers/resources.js';
import { nextValue, WAIT_MS, waitForStats, waitUntil } from '../helpers/wait.js';

const TASKS = fixtureUrl('pool-tasks.mjs').href;
const CJS_TASK = fixtureUrl('pool-task.cjs').href;

const res = new Resources();
afterEach(() => res.cleanup());

function newPool(options: Parameters<typeof createPool>[0] = {}) {
  const store = (options.store as MainStore | undefined) ?? res.store();
  const pool = res.pool(createPool({ filename: TASKS, maxThreads: 2, minThreads: 1, ...options, store }));
  return { store, pool };
}

/** Every peers() event of `store` from now on, and how many peers they leave connected (joins minus exits). */
function trackPeers(store: MainStore): { events: PeerEvent[]; connected: () => number } {
  const events: PeerEvent[] = [];
  store.peers().subscribe((e) => events.push(e));
  const connected = () => events.filter((e) => e.type === 'join').length - events.filter((e) => e.type === 'exit').length;
  return { events, connected };
}

describe('createPool', () => {
  it('returns a real Piscina whose whole API stays available', async () => {
    const { pool } = newPool({ minThreads: 2 });
    expect(pool).toBeInstanceOf(Piscina);
    expect(await pool.run(undefined)).toBe('pong');
    expect(pool.threads.length).toBeGreaterThanOrEqual(1);
    expect(pool.threads.length).toBeLessThanOrEqual(2);
    expect(pool.options.maxThreads).toBe(2);
    expect(typeof pool.queueSize).toBe('number');
  });

  it('gives every task the same store: 8 tasks on 2 threads incr one key 2 000 times each → exactly 16 000', async () => {
    const { store, pool } = newPool({ minThreads: 2 });
    const lasts = await Promise.all(Array.from({ length: 8 }, () => pool.run({ key: 'hits', times: 2000 }, { name: 'incrLoop' })));
    expect(await store.get('hits')).toBe(16_000);
    // incr is atomic: the last value each task saw is unique, and one of them saw 16 000.
    expect(new Set(lasts).size).toBe(8);
    expect(Math.max(...(lasts as number[]))).toBe(16_000);
    expect((await store.stats()).clients).toBe(pool.threads.length);
  });

  it('loses no update: 4 tasks × 250 read-modify-writes of { n } → exactly 1 000', async () => {
    const { store, pool } = newPool({ minThreads: 2 });
    const results = (await Promise.all(
      Array.from({ length: 4 }, () => pool.run({ key: 'obj', times: 250 }, { name: 'updateLoop' })),
    )) as Array<{ calls: number }>;
    expect(await store.get('obj')).toEqual({ n: 1000 });
    // fn ran at least once per update (more when a conflict made it retry).
    for (const { calls } of results) expect(calls).toBeGreaterThanOrEqual(250);
  });

  it('runs ops registered with defineOp in the main thread for apply from 4 tasks, exactly', async () => {
    const { store, pool } = newPool({ minThreads: 2 });
    store.defineOp('addTo', (old: { n: number } | undefined, by: number) => ({ n: (old?.n ?? 0) + by }));
    const seen = (await Promise.all(
      Array.from({ length: 4 }, () => pool.run({ key: 'applied', op: 'addTo', times: 250 }, { name: 'applyLoop' })),
    )) as number[][];
    expect(await store.get('applied')).toEqual({ n: 1000 });
    // Every apply returned its own new value: 1..1000, each exactly once.
    const all = seen.flat().sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    for (const values of seen) expect(values).toEqual([...values].sort((x, y) => x - y));
  });

  it('delivers progress published from 4 tasks complete and in order per task', async () => {
    const { store, pool } = newPool({ minThreads: 2 });
    const all = firstValueFrom(store.channel<{ task: number; i: number }>('progress').pipe(take(800), toArray(), timeout(WAIT_MS)));
    const receivers = (await Promise.all(
      [1, 2, 3, 4].map((task) => pool.run({ task, count: 200 }, { name: 'publishProgress' })),
    )) as number[][];
    const messages = await all;
    for (const task of [1, 2, 3, 4]) {
      expect(messages.filter((m) => m.task === task).map((m) => m.i)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    }
    // One receiver each time: the main thread's observer.
    expect(receivers.flat().every((n) => n === 1)).toBe(true);
  });

  it('lets a task subscribe (channel, pattern, watch, changes) and see main-thread publishes and key changes', async () => {
    const { store, pool } = newPool();
    await store.set('watched', 0);
    const ready = nextValue(store.watch('ready:observe'), (v) => v === true, 'the task to subscribe');
    const task = pool.run({ readyKey: 'ready:observe' }, { name: 'observeEverything' });
    await ready;
    expect(await store.publish('news', 'first')).toBe(1);
    await store.publish('jobs.1', { id: 1 });
    await store.publish('elsewhere', 'not matching');
    await store.publish('news', 'second');
    await store.publish('jobs.2', { id: 2 });
    await store.set('watched', 1);
    await store.set('cfg:a', 'on');
    await store.set('other', 'not matching');
    await store.delete('watched');
    const setRevision = (await store.getEntry('cfg:a'))!.revision;
    await store.delete('cfg:a');
    const got = (await task) as Record<string, unknown[]>;
    expect(got.channel).toEqual(['first', 'second']);
    expect(got.pattern).toEqual([
      { channel: 'jobs.1', data: { id: 1 } },
      { channel: 'jobs.2', data: { id: 2 } },
    ]);
    expect(got.watch).toEqual([0, 1, undefined]);
    expect(got.changes).toEqual([
      { type: 'set', key: 'cfg:a', value: 'on', revision: setRevision },
      { type: 'delete', key: 'cfg:a', revision: expect.any(Number) },
    ]);
  });

  it('registers interest once for two local observers of one channel in a worker, and unregisters when the last one goes', async () => {
    const { store, pool } = newPool({ maxThreads: 1 });
    const mainBase = (await store.stats()).subscriptions;
    const r = (await pool.run(undefined, { name: 'twoObservers' })) as {
      base: number;
      withTwo: number;
      receivers: number;
      received: { a: unknown[]; b: unknown[] };
      withOne: number;
      withNone: number;
    };
    expect(r.base).toBe(mainBase);
    expect(r.withTwo).toBe(r.base + 1);
    expect(r.receivers).toBe(1);
    expect(r.received).toEqual({ a: ['hello'], b: ['hello'] });
    expect(r.withOne).toBe(r.base + 1);
    expect(r.withNone).toBe(r.base);
    expect((await store.stats()).subscriptions).toBe(mainBase);
  });

  it('works with a CJS task file that does require("kvbus")', async () => {
    const { store, pool } = newPool({ filename: CJS_TASK, minThreads: 2 });
    const results = (await Promise.all(Array.from({ length: 4 }, (_, i) => pool.run({ key: 'cjs', times: 300 + i })))) as Array<{
      last: number;
      error: unknown;
      sameClientFromEsm: boolean;
      syncValue: unknown;
    }>;
    expect(await store.get('cjs')).toBe(300 + 301 + 302 + 303);
    for (const r of results) {
      expect(r.error).toEqual({ instanceOfCjsClass: true, isKvbusError: true, code: 'ERR_TYPE' });
      expect(r.sameClientFromEsm).toBe(true);
      expect(typeof r.syncValue).toBe('number');
    }
    expect((await store.stats()).clients).toBe(pool.threads.length);
  });

  it('serves a task file that calls getStore() at module load (top-level await)', async () => {
    const { store, pool } = newPool({ filename: fixtureUrl('pool-toplevel.mjs').href, minThreads: 2 });
    const same = await Promise.all(Array.from({ length: 4 }, () => pool.run({ key: 'top', times: 250 })));
    expect(same).toEqual([true, true, true, true]);
    expect(await store.get('top')).toBe(1000);
    // Loaded once per worker that ran it.
    expect(await store.get('toplevel:loads')).toBeGreaterThanOrEqual(1);
    expect(await store.get('toplevel:loads')).toBeLessThanOrEqual(2);
  });

  it('keeps working when the pool shrinks to zero threads and grows again', async () => {
    const { store, pool } = newPool({ minThreads: 0, maxThreads: 2, idleTimeout: 50 });
    const joins: PeerEvent[] = [];
    store
      .peers()
      .pipe(filter((e) => e.type === 'join'))
      .subscribe((e) => joins.push(e));
    await Promise.all(Array.from({ length: 4 }, () => pool.run({ key: 'elastic', times: 200 }, { name: 'incrLoop' })));
    expect(await store.get('elastic')).toBe(800);
    const firstJoins = joins.length;
    expect(firstJoins).toBeGreaterThanOrEqual(1);
    await waitUntil(() => pool.threads.length === 0, 'the idle threads to be retired');
    await waitForStats(store, (s) => s.clients === 0, 'the retired workers to leave');
    await Promise.all(Array.from({ length: 4 }, () => pool.run({ key: 'elastic', times: 200 }, { name: 'incrLoop' })));
    expect(await store.get('elastic')).toBe(1600);
    expect(joins.length).toBeGreaterThan(firstJoins);
    expect(new Set(joins.map((j) => j.id)).size).toBe(joins.length);
  });

  it('survives a worker that calls process.exit(1): clients drop, peers() emits exit with the exit code, and the pool keeps working', async () => {
    const { store, pool } = newPool({ minThreads: 2 });
    const { events, connected } = trackPeers(store);
    await Promise.all(Array.from({ length: 4 }, () => pool.run({ key: 'k', times: 100 }, { name: 'incrLoop' })));
    const exit = nextValue(store.peers(), (e) => e.type === 'exit', 'the exit peer event');
    await expect(pool.run({ key: 'died' }, { name: 'exitHard' })).rejects.toThrow();
    const event = await exit;
    expect(event).toMatchObject({ type: 'exit', kind: 'worker', exitCode: 1 });
    expect(events.some((e) => e.type === 'join' && e.id === event.id)).toBe(true);
    // The dead worker had connected (it incremented 'died'); it is not counted any more.
    expect(await store.get('died')).toBe(1);
    await waitForStats(store, (s) => s.clients === connected(), 'clients to equal joins minus exits');
    expect(connected()).toBeLessThanOrEqual(1);
    await Promise.all(Array.from({ length: 4 }, () => pool.run({ key: 'k', times: 100 }, { name: 'incrLoop' })));
    expect(await store.get('k')).toBe(800);
    expect((await store.stats()).clients).toBe(connected());
  });

  it('survives terminate() of its threads (pool.threads): the clients leave, peers() reports it, and tasks still run', async () => {
    const { store, pool } = newPool({ minThreads: 2 });
    const { connected } = trackPeers(store);
    await Promise.all(Array.from({ length: 4 }, () => pool.run({ key: 't', times: 100 }, { name: 'incrLoop' })));
    await waitUntil(() => pool.threads.length === 2, 'both threads');
    const before = await store.stats();
    expect(before.clients).toBe(connected());
    expect(before.clients).toBeGreaterThanOrEqual(1);
    const exit = nextValue(store.peers(), (e) => e.type === 'exit', 'the exit peer event');
    for (const thread of pool.threads as Worker[]) await thread.terminate();
    const event = await exit;
    expect(event).toMatchObject({ type: 'exit', kind: 'worker' });
    expect(typeof event.exitCode).toBe('number');
    await waitForStats(store, (s) => s.clients === connected() && connected() === 0, 'every terminated worker to leave');
    await Promise.all(Array.from({ length: 4 }, () => pool.run({ key: 't', times: 100 }, { name: 'incrLoop' })));
    expect(await store.get('t')).toBe(800);
    expect((await store.stats()).clients).toBe(connected());
    expect(connected()).toBeGreaterThanOrEqual(1);
  });
});
