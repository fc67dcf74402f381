// The near cache of pool workers (SPEC §7): hits answer with no message, and a
// read from the cache is linearizable (the store's stamp table, see docs/near-cache.md).
import { Worker } from 'node:worker_threads';
import { createPool } from 'kvbus';
import { afterEach, describe, expect, it } from 'vitest';
import { fixtureUrl } from '../helpers/fixtures.js';
import { blockFor } from '../helpers/processes.js';
import { Resources } from '../helpers/resources.js';

const TASKS = fixtureUrl('cache-tasks.mjs').href;
const DETACHED = fixtureUrl('cache-detached-worker.mjs');

const res = new Resources();
afterEach(() => res.cleanup());

function flags(n = 2): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * n));
}

/** Waits (without blocking this thread) until flags[index] ≥ value. */
async function until(shared: Int32Array, index: number, value: number): Promise<void> {
  while (Atomics.load(shared, index) < value) await new Promise((resolve) => setImmediate(resolve));
}

describe('near cache in workers', () => {
  it('answers sync and async get, getEntry and has of a kept key with no message', async () => {
    const store = res.store();
    await store.set('cfg:a', 'A');
    const pool = res.pool(createPool({ store, filename: TASKS, maxThreads: 1, cache: { keys: 'cfg:*' } }));
    const r = await pool.run({ key: 'cfg:a', times: 200 }, { name: 'silentHits' });
    // Only the second stats() call itself reached the store.
    expect(r.commandsBetween).toBe(1);
    expect(r.cache.hits).toBeGreaterThanOrEqual(800);
    expect(r.cache.misses).toBe(1);
  });

  it('answers every read form from the cache as the store would', async () => {
    const store = res.store();
    const revision = await store.set('cfg:obj', { n: 1 });
    const pool = res.pool(createPool({ store, filename: TASKS, maxThreads: 1, cache: { keys: ['cfg:*', 'other'] } }));
    const r = await pool.run({ key: 'cfg:obj' }, { name: 'readForms' });
    expect(r.entry).toEqual({ value: { n: 1 }, revision });
    expect(r.entryAsync).toEqual({ value: { n: 1 }, revision });
    expect(r.has).toBe(true);
    expect(r.hasAsync).toBe(true);
    expect(r.cache).toEqual({ hits: 3, misses: 1, evictions: 0, entries: 1 });
    const absent = await pool.run({ key: 'other' }, { name: 'readForms' });
    expect(absent.entry).toBeUndefined();
    expect(absent.has).toBe(false);
  });

  it('leaves keys that match no glob uncached, and workers without a cache report none', async () => {
    const store = res.store();
    await store.set('x', 1);
    const cached = res.pool(createPool({ store, filename: TASKS, maxThreads: 1, cache: { keys: 'cfg:*' } }));
    const r = await cached.run({ keys: ['x'], times: 3 }, { name: 'readKeys' });
    expect(r.values).toEqual([1, 1, 1]);
    expect(r.cache).toEqual({ hits: 0, misses: 0, evictions: 0, entries: 0 });
    const plain = res.pool(createPool({ store, filename: TASKS, maxThreads: 1 }));
    const p = await plain.run({ keys: ['x'], times: 2 }, { name: 'readKeys' });
    expect(p.values).toEqual([1, 1]);
    expect(p.cache).toBeUndefined();
  });

  it('is linearizable: after a write from the main thread resolves, a reader told by shared memory reads it from its cache', async () => {
    const store = res.store();
    await store.set('lin:k', 0);
    const pool = res.pool(createPool({ store, filename: TASKS, minThreads: 1, maxThreads: 1, cache: { keys: 'lin:*' } }));
    const rounds = 300;
    const shared = flags();
    const reader = pool.run({ key: 'lin:k', rounds, flags: shared }, { name: 'linearReader' });
    for (let i = 1; i <= rounds; i++) {
      await until(shared, 1, i);
      await store.set('lin:k', i);
      Atomics.store(shared, 0, i);
      Atomics.notify(shared, 0);
    }
    const r = await reader;
    expect(r.stale).toBe(0);
    // The reader did read from its cache between writes (so the check above is about cached reads).
    expect(r.cache.hits).toBeGreaterThanOrEqual(rounds);
  });

  it('is linearizable across workers: worker B writes, tells worker A through shared memory, A reads the new value', async () => {
    const store = res.store();
    await store.set('lin:b', 0);
    const pool = res.pool(createPool({ store, filename: TASKS, minThreads: 2, maxThreads: 2, cache: { keys: 'lin:*' } }));
    const rounds = 300;
    const shared = flags();
    const [r] = await Promise.all([
      pool.run({ key: 'lin:b', rounds, flags: shared }, { name: 'linearReader' }),
      pool.run({ key: 'lin:b', rounds, flags: shared }, { name: 'linearWriter' }),
    ]);
    expect(r.stale).toBe(0);
    expect(r.cache.hits).toBeGreaterThanOrEqual(rounds);
  });

  it('never keeps a fill that raced with writes (readers hammered by an incrementing writer)', async () => {
    const store = res.store();
    const pool = res.pool(createPool({ store, filename: TASKS, minThreads: 2, maxThreads: 2, cache: { keys: 'race:*' } }));
    for (const sync of [true, false]) {
      const key = `race:${sync}`;
      const floor = flags(2);
      const until = 3000;
      const [reader] = await Promise.all([
        pool.run({ key, until, floor, sync }, { name: 'floorReader' }),
        pool.run({ key, until, floor }, { name: 'floorWriter' }),
      ]);
      expect(reader.stale).toBe(0);
      expect(reader.reads).toBeGreaterThan(0);
    }
  });

  it('never returns a key with a TTL past its expiry, even while the store is too busy to sweep it', async () => {
    const store = res.store();
    const pool = res.pool(createPool({ store, filename: TASKS, minThreads: 1, maxThreads: 1, cache: { keys: 'ttl:*' } }));
    await pool.run({ keys: ['ttl:warm'] }, { name: 'readKeys' });
    const ttlMs = 150;
    const before = Date.now();
    await store.set('ttl:k', 'v', { ttlMs });
    const deadline = Date.now() + ttlMs;
    const reader = pool.run({ key: 'ttl:k', deadline, stopAt: before + ttlMs + 400 }, { name: 'ttlReader' });
    // Block this thread (the store's) across the deadline: its expiry timer cannot fire meanwhile.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, before + ttlMs - 60 - Date.now())));
    blockFor(150);
    const r = await reader;
    expect(r.late).toBe(0);
    expect(r.reads).toBeGreaterThan(0);
    expect(await store.get('ttl:k')).toBeUndefined();
  });

  it('drops everything on clear', async () => {
    const store = res.store();
    await store.set('c:k', 'v');
    const pool = res.pool(createPool({ store, filename: TASKS, maxThreads: 1, cache: { keys: 'c:*' } }));
    const shared = flags();
    const reader = pool.run({ key: 'c:k', flags: shared }, { name: 'clearReader' });
    await until(shared, 1, 1);
    await store.clear();
    Atomics.store(shared, 0, 1);
    Atomics.notify(shared, 0);
    const r = await reader;
    expect(r.before).toEqual(['v', 'v']);
    expect(r.after).toBeUndefined();
    expect(r.has).toBe(false);
    // The second read before the clear, and `has` after the fill of the (now absent) key.
    expect(r.cache.hits).toBe(2);
  });

  it('keeps at most maxEntries, dropping the least recently used, and counts it', async () => {
    const store = res.store();
    for (const k of ['a', 'b', 'c']) await store.set(`l:${k}`, k);
    const pool = res.pool(createPool({ store, filename: TASKS, maxThreads: 1, cache: { keys: 'l:*', maxEntries: 2 } }));
    // a, b (misses), a (hit: now b is the least recently used), c (miss: evicts b), a (hit), b (miss: evicts c).
    const r = await pool.run({ keys: ['l:a', 'l:b', 'l:a', 'l:c', 'l:a', 'l:b'] }, { name: 'readKeys' });
    expect(r.values).toEqual(['a', 'b', 'a', 'c', 'a', 'b']);
    expect(r.cache).toEqual({ hits: 2, misses: 4, evictions: 2, entries: 2 });
  });

  it('returns copies: changing what a hit returned does not change the next hit', async () => {
    const store = res.store();
    const revision = await store.set('o:k', { a: 'a', list: [1] });
    const pool = res.pool(createPool({ store, filename: TASKS, maxThreads: 1, cache: { keys: 'o:*' } }));
    const r = await pool.run({ key: 'o:k' }, { name: 'mutateHit' });
    expect(r.second).toEqual({ a: 'a', list: [1] });
    expect(r.entry).toEqual({ value: { a: 'a', list: [1] }, revision });
    expect(r.cache.hits).toBe(3);
  });

  it("never answers from the cache a read issued behind the worker's own unanswered write, async or sync", async () => {
    const store = res.store();
    const pool = res.pool(createPool({ store, filename: TASKS, maxThreads: 1, cache: { keys: 'own:*' } }));
    const r = await pool.run({ key: 'own:k' }, { name: 'ownWrites' });
    expect(r).toMatchObject({ get: 'new', getEntry: 'entry', has: false, incr: 11, transaction: 'tx', clear: undefined });
    expect(r).toMatchObject({ syncGet: 'newer', syncGetEntry: 'entry2', syncHas: false, syncTransaction: 'tx2', syncClear: undefined });
    // Each write's key was a hit just before: the reads above would have been hits too.
    expect(r.cache.hits).toBeGreaterThanOrEqual(11);
  });

  it('never serves a kept value in a worker detached since (the last caching client left)', async () => {
    // The detached worker's blocked read gets no answer: it fails at this timeout, instead of the default 30 s.
    const store = res.store({ requestTimeoutMs: 500 });
    await store.set('cfg', 'old');
    const shared = flags();
    const worker = res.worker(new Worker(DETACHED, { workerData: { flags: shared, key: 'cfg' } }));
    const detach = store.attach(worker, { cache: { keys: 'cfg' } });
    await until(shared, 0, 1);
    await detach();
    await store.set('cfg', 'new');
    type Read = { value?: unknown; code?: string };
    const report = new Promise<{ kept: unknown[]; after: Read; later: Read }>((resolve) => worker.once('message', resolve));
    Atomics.store(shared, 1, 1);
    Atomics.notify(shared, 1);
    const r = await report;
    expect(r.kept).toEqual(['old', 'old']);
    // The new value, or the link's error (no answer while its close is not handled, then disconnected): never the kept 'old'.
    for (const read of [r.after, r.later]) {
      if (read.code === undefined) expect(read.value).toBe('new');
      else expect(['ERR_TIMEOUT', 'ERR_DISCONNECTED']).toContain(read.code);
    }
  });
});
