// TTL marks (`<ns>:t:<key>`, see src/backends/redis/scripts.ts and docs/redis.md):
// a mark lets exactly one connected process announce its key's expiry, and
// must not outlive that key for long, even when no process was connected
// while the key expired.
import { expect, it } from 'vitest';
import { createStore } from '../../src/index.js';
import { rawScan } from '../helpers/redis-client.js';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { useStores } from '../helpers/use-stores.js';
import { sleep, waitUntil } from '../helpers/wait.js';

/** A mark lives its key's TTL plus a grace of the TTL, kept within these bounds (scripts.ts, BATCH). */
const GRACE_MIN_MS = 5_000;
const GRACE_MAX_MS = 60_000;
const SHORT_TTL_MS = 100;

describeRedis('redis: TTL marks', () => {
  const redis = useRedisServer();
  const { newStore, stores, rec } = useStores((namespace = uniqueNamespace('ttlm')) =>
    createStore({ backend: redis.backend(), namespace }),
  );
  const pttl = async (key: string) => Number(await redis.raw.sendCommand(['PTTL', key]));

  it('a mark expires a grace after its key: its TTL is the key’s plus the key’s TTL, within 5 s to 60 s', async () => {
    const store = newStore();
    const ns = store.namespace;
    await store.set('short', 1, { ttlMs: SHORT_TTL_MS });
    await store.set('minute', 1, { ttlMs: 60_000 });
    await store.set('day', 1, { ttlMs: 86_400_000 });
    const short = await pttl(`${ns}:t:short`);
    expect(short).toBeGreaterThan(GRACE_MIN_MS);
    expect(short).toBeLessThanOrEqual(SHORT_TTL_MS + GRACE_MIN_MS);
    const minute = await pttl(`${ns}:t:minute`);
    expect(minute).toBeGreaterThan(60_000 + 50_000);
    expect(minute).toBeLessThanOrEqual(60_000 + GRACE_MAX_MS);
    const day = await pttl(`${ns}:t:day`);
    expect(day).toBeGreaterThan(86_400_000 + 50_000);
    expect(day).toBeLessThanOrEqual(86_400_000 + GRACE_MAX_MS);
  });

  it('a transaction’s set with a TTL, and a fenced one, give the mark the same grace', async () => {
    const store = newStore();
    const ns = store.namespace;
    await store.transaction([{ op: 'set', key: 'tx', value: 1, ttlMs: 60_000 }]);
    const lock = await store.lock('fence');
    await store.set('fenced', 1, { ttlMs: 60_000, fence: lock });
    for (const key of ['tx', 'fenced']) {
      const mark = await pttl(`${ns}:t:${key}`);
      expect(mark).toBeGreaterThan(60_000 + 50_000);
      expect(mark).toBeLessThanOrEqual(60_000 + GRACE_MAX_MS);
    }
    await lock.release();
  });

  it('a write that keeps the key’s TTL (incr, update, apply) keeps a mark that outlives the key', async () => {
    const store = newStore();
    const ns = store.namespace;
    store.defineOp('double', (old) => (typeof old === 'number' ? old * 2 : 1));
    await store.set('n', 1, { ttlMs: 30_000 });
    await store.incr('n');
    await store.update('n', (n) => (n as number) + 1);
    await store.apply('n', 'double');
    expect(await store.get('n')).toBe(6);
    const keyTtl = await pttl(`${ns}:k:n`);
    const markTtl = await pttl(`${ns}:t:n`);
    expect(keyTtl).toBeGreaterThan(0);
    expect(keyTtl).toBeLessThanOrEqual(30_000);
    expect(markTtl).toBeGreaterThan(keyTtl + 25_000);
  });

  it('leaves no mark behind once its key expired while no process was connected', { timeout: 40_000 }, async () => {
    const store = newStore();
    const ns = store.namespace;
    await store.set('a', 'soon', { ttlMs: SHORT_TTL_MS });
    await store.set('b', 'soon', { ttlMs: SHORT_TTL_MS * 2 });
    await store.set('c', 0, { ttlMs: SHORT_TTL_MS });
    await store.incr('c'); // keeps the TTL and the mark
    await store.set('kept', 'forever');
    expect(await rawScan(redis.raw, `${ns}:t:*`)).toEqual([`${ns}:t:a`, `${ns}:t:b`, `${ns}:t:c`]);
    stores.splice(stores.indexOf(store), 1);
    await store.close();

    // Nobody listens: Redis expires the keys, nobody removes their marks...
    await waitUntil(async () => (await rawScan(redis.raw, `${ns}:k:*`)).length === 1, 'the keys to expire', 5_000);
    expect(await rawScan(redis.raw, `${ns}:k:*`)).toEqual([`${ns}:k:kept`]);
    expect((await rawScan(redis.raw, `${ns}:t:*`)).length).toBeGreaterThan(0);
    // ...so the marks go by themselves, a grace later.
    await waitUntil(
      async () => (await rawScan(redis.raw, `${ns}:t:*`)).length === 0,
      'the TTL marks to expire',
      GRACE_MIN_MS + 20_000,
      200,
    );
    expect(await rawScan(redis.raw, `${ns}*`)).toEqual([`${ns}:history`, `${ns}:k:kept`, `${ns}:rev`]);
  });

  it('connected stores still announce each expiry exactly once, and remove its mark at once', { timeout: 20_000 }, async () => {
    const namespace = uniqueNamespace('ttlm');
    const one = newStore(namespace);
    const two = newStore(namespace);
    const seenByOne = rec(one.changes());
    const seenByTwo = rec(two.changes());
    await one.stats(); // both subscriptions are live
    await two.stats();
    await one.set('x', 1, { ttlMs: SHORT_TTL_MS });
    await two.set('y', 1, { ttlMs: SHORT_TTL_MS });
    const expiries = (values: { type: string; key: string }[]) =>
      values
        .filter((e) => e.type === 'expire')
        .map((e) => e.key)
        .sort();
    await waitUntil(
      () => expiries(seenByOne.values).length === 2 && expiries(seenByTwo.values).length === 2,
      'both expiries on both stores',
    );
    // Well within the marks' grace: they were removed by the announcement, not by their own TTL.
    expect(await rawScan(redis.raw, `${namespace}:t:*`)).toEqual([]);
    await sleep(500);
    expect(expiries(seenByOne.values)).toEqual(['x', 'y']);
    expect(expiries(seenByTwo.values)).toEqual(['x', 'y']);
  });
});
