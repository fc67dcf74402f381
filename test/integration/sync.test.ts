import { createPool, KvbusError } from 'kvbus';
import { afterEach, describe, expect, it } from 'vitest';
import { fixturePath, fixtureUrl } from '../helpers/fixtures.js';
import { blockFor, childExit, flagRaised, messageFrom } from '../helpers/processes.js';
import { Resources } from '../helpers/resources.js';

const TASKS = fixtureUrl('pool-tasks.mjs').href;

const res = new Resources();
afterEach(() => res.cleanup());

describe('store.sync in workers', () => {
  it('blocks and returns the values of get, getEntry, set, delete, has and incr', async () => {
    const store = res.store();
    const pool = res.pool(createPool({ store, filename: TASKS, maxThreads: 1 }));
    const r = (await pool.run(undefined, { name: 'syncBasics' })) as Record<string, unknown>;
    expect(r.setRevision).toEqual(expect.any(Number));
    expect(r.setRevision).toBeGreaterThan(0);
    expect(r.get).toEqual({ x: 1, tags: ['t'] });
    expect(r.getDefault).toBe('fallback');
    expect(r.getAbsent).toBeUndefined();
    expect(r.entry).toEqual({ value: { x: 1, tags: ['t'] }, revision: r.setRevision });
    expect(r.entryAbsent).toBeNull();
    expect(r.has).toBe(true);
    expect(r.hasAbsent).toBe(false);
    expect(r.incr).toBe(1);
    expect(r.incrBy).toBe(42);
    expect(r.deleted).toBe(true);
    expect(r.deletedAgain).toBe(false);
    expect(r.afterDelete).toBeNull();
    expect(r.incrOnString).toMatchObject({ isKvbusError: true, name: 'KvbusError', code: 'ERR_TYPE' });
    // The writes are the store's, not a copy in the worker.
    expect(await store.get('s:n')).toBe(42);
    expect(await store.has('s:a')).toBe(false);
  });

  it('is exact under contention: 4 tasks × 500 sync.incr → 2 000', async () => {
    const store = res.store();
    const pool = res.pool(createPool({ store, filename: TASKS, maxThreads: 2, minThreads: 2 }));
    const lasts = await Promise.all(Array.from({ length: 4 }, () => pool.run({ key: 'sn', times: 500 }, { name: 'syncIncrLoop' })));
    expect(await store.get('sn')).toBe(2000);
    expect(Math.max(...(lasts as number[]))).toBe(2000);
  });

  it("sees the effects of the same worker's earlier, un-awaited async calls", async () => {
    const store = res.store();
    const pool = res.pool(createPool({ store, filename: TASKS, maxThreads: 2, minThreads: 2 }));
    const results = await Promise.all([1, 2, 3, 4].map((i) => pool.run({ prefix: `order${i}` }, { name: 'syncAfterAsync' })));
    for (const r of results) expect(r).toEqual({ value: 'v2', n: 2, hasAfterDelete: false });
  });

  it('throws ERR_TIMEOUT after requestTimeoutMs when the main thread does not answer, instead of hanging', async () => {
    const store = res.store({ requestTimeoutMs: 300 });
    await store.set('tk', 'value');
    const pool = res.pool(createPool({ store, filename: TASKS, maxThreads: 1 }));
    const flags = new Int32Array(new SharedArrayBuffer(12));
    const task = pool.run({ flags: flags.buffer, key: 'tk' }, { name: 'syncWhileMainBlocked' });
    await flagRaised(flags, 2, 'the task to connect');
    // Tell the worker to go, then keep this thread (the one that must answer) busy.
    Atomics.store(flags, 0, 1);
    Atomics.notify(flags, 0);
    blockFor(1500);
    Atomics.store(flags, 1, 1);
    Atomics.notify(flags, 1);
    const r = (await task) as {
      sync: { isKvbusError: boolean; code: string; message: string };
      elapsed: number;
      asyncResult: string;
      mainWasStillBlocked: boolean;
      later: unknown;
      laterSync: unknown;
    };
    expect(r.sync).toMatchObject({ isKvbusError: true, code: 'ERR_TIMEOUT' });
    expect(r.sync.message).toMatch(/300/);
    expect(r.elapsed).toBeGreaterThanOrEqual(250);
    expect(r.elapsed).toBeLessThan(1200);
    // The async API times out too, and both did so while the main thread was still blocked.
    expect(r.asyncResult).toBe('ERR_TIMEOUT');
    expect(r.mainWasStillBlocked).toBe(true);
    // The late answers are not mistaken for later ones.
    expect(r.later).toBe('value');
    expect(r.laterSync).toBe('value');
  });
});

describe('store.sync in a child process', () => {
  it('throws ERR_WOULD_DEADLOCK from every method, saying what to use instead', async () => {
    const store = res.store();
    const child = res.child(store.fork(fixturePath('child.mjs'), ['sync']));
    const { results } = await messageFrom<{
      results: Record<string, { isKvbusError?: boolean; code?: string; message?: string }> & { asyncIncr: number };
    }>(child, (m) => m?.type === 'sync-results', 'the sync results');
    for (const name of ['get', 'getEntry', 'set', 'delete', 'has', 'incr']) {
      expect(results[name], name).toMatchObject({ isKvbusError: true, code: 'ERR_WOULD_DEADLOCK' });
      expect(results[name]!.message, name).toMatch(/async|await/);
    }
    expect(results.asyncIncr).toBe(1);
    expect(await store.has('k')).toBe(false);
    await childExit(child);
  });
});

describe('store.sync in the main thread (memory backend)', () => {
  it('answers directly', async () => {
    const store = res.store();
    const revision = store.sync.set('m', { deep: [1, 2] });
    expect(revision).toBeGreaterThan(0);
    expect(store.sync.get('m')).toEqual({ deep: [1, 2] });
    expect(store.sync.get('absent', 'd')).toBe('d');
    expect(store.sync.getEntry('m')).toEqual({ value: { deep: [1, 2] }, revision });
    expect(store.sync.has('m')).toBe(true);
    expect(store.sync.incr('c', 5)).toBe(5);
    expect(store.sync.incr('c')).toBe(6);
    expect(store.sync.delete('m')).toBe(true);
    expect(store.sync.has('m')).toBe(false);
    // The same store as the async API.
    expect(await store.get('c')).toBe(6);
    await store.set('fromAsync', 'x');
    expect(store.sync.get('fromAsync')).toBe('x');
  });

  it('throws ERR_WOULD_DEADLOCK inside a subscriber callback', async () => {
    const store = res.store();
    await store.set('k', 1);
    const codes: Record<string, unknown> = {};
    const calls: Record<string, () => unknown> = {
      get: () => store.sync.get('k'),
      getEntry: () => store.sync.getEntry('k'),
      set: () => store.sync.set('k', 2),
      delete: () => store.sync.delete('k'),
      has: () => store.sync.has('k'),
      incr: () => store.sync.incr('n'),
    };
    let message = '';
    const sub = store.channel('c').subscribe(() => {
      for (const [name, call] of Object.entries(calls)) {
        try {
          codes[name] = { returned: call() };
        } catch (error) {
          codes[name] = error instanceof KvbusError ? error.code : String(error);
          message = (error as Error).message;
        }
      }
    });
    expect(await store.publish('c', 'go')).toBe(1);
    sub.unsubscribe();
    expect(codes).toEqual({
      get: 'ERR_WOULD_DEADLOCK',
      getEntry: 'ERR_WOULD_DEADLOCK',
      set: 'ERR_WOULD_DEADLOCK',
      delete: 'ERR_WOULD_DEADLOCK',
      has: 'ERR_WOULD_DEADLOCK',
      incr: 'ERR_WOULD_DEADLOCK',
    });
    expect(message).toMatch(/async|await/);
    // Nothing changed.
    expect(await store.get('k')).toBe(1);
    expect(await store.has('n')).toBe(false);
  });
});
