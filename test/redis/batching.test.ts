// The Redis backend sends the gets and sets of one tick as one command (GET,
// MGET or the BATCH script, at most 128 at a time): each must still behave as
// if sent alone, in its order, and other commands must keep their order too.
import { expect, it } from 'vitest';
import { createStore } from '../../src/index.js';
import { rejectionOf } from '../helpers/errors.js';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { useStores } from '../helpers/use-stores.js';
import { waitUntil } from '../helpers/wait.js';

describeRedis('redis: gets and sets of one tick', () => {
  const redis = useRedisServer();
  const { newStore } = useStores(() => createStore({ backend: redis.backend(), namespace: uniqueNamespace('batch') }));

  it('apply each set on its own: revisions in order, a failed compare-and-set fails alone', async () => {
    const store = newStore();
    const first = await store.set('cas', 'v1');
    const results = await Promise.allSettled([
      store.set('a', 1),
      store.set('cas', 'stale', { ifRevision: first + 1000 }),
      store.set('b', { nested: [1, 2] }, { ttlMs: 60_000 }),
      store.set('cas', 'fresh', { ifRevision: first }),
      store.set('new', 'x', { ifRevision: 0 }),
      store.set('new', 'again', { ifRevision: 0 }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_CONFLICT' });
    expect((results[5] as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_CONFLICT' });
    const revisions = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value as number] : []));
    expect(revisions).toEqual([...revisions].sort((x, y) => x - y));
    expect(new Set(revisions).size).toBe(revisions.length);
    expect(await store.get('cas')).toBe('fresh');
    expect(await store.get('new')).toBe('x');
    expect(await store.get('b')).toEqual({ nested: [1, 2] });
    expect(Number(await redis.raw.sendCommand(['PTTL', `${store.namespace}:k:b`]))).toBeGreaterThan(0);
  });

  it('keep the order of the commands around them', async () => {
    const store = newStore();
    // Not awaited one by one: all in one tick.
    const [, seen, , incremented, , afterDelete] = await Promise.all([
      store.set('k', 1),
      store.get('k'),
      store.set('n', 10),
      store.incr('n', 5),
      store.delete('k'),
      store.get('k'),
    ]);
    expect(seen).toBe(1);
    expect(incremented).toBe(15);
    expect(afterDelete).toBeUndefined();
  });

  it('emit one change event per set, in order', async () => {
    const store = newStore();
    const changes: Array<[string, unknown]> = [];
    const subscription = store.changes('*').subscribe((change) => changes.push([change.key, change.value]));
    await store.stats();
    await Promise.all([store.set('x', 1), store.set('y', 2), store.set('x', 3)]);
    await waitUntil(() => changes.length >= 3, 'three change events', 2_000);
    subscription.unsubscribe();
    expect(changes).toEqual([
      ['x', 1],
      ['y', 2],
      ['x', 3],
    ]);
  });

  it('reject an unserializable value alone, naming its key', async () => {
    const store = newStore();
    const [good, bad] = await Promise.allSettled([store.set('ok', 1), rejectionOf(store.set('fn', { f: () => 1 }))]);
    expect(good.status).toBe('fulfilled');
    expect((bad as PromiseFulfilledResult<{ code?: string; message: string }>).value).toMatchObject({ code: 'ERR_NOT_CLONEABLE' });
    expect(await store.get('ok')).toBe(1);
  });

  it('answer each get with what the commands before it left, across more ops than one command carries', async () => {
    const store = newStore();
    await store.set('k', -1);
    // 600 ops in one tick, alternating on one key: each get sees the set just before it.
    const ops: Array<Promise<unknown>> = [store.get('k')];
    for (let i = 0; i < 300; i++) ops.push(store.set('k', i), store.get('k'), store.get(`missing-${i % 3}`));
    const results = await Promise.all(ops);
    expect(results[0]).toBe(-1);
    for (let i = 0; i < 300; i++) {
      expect(results[1 + i * 3 + 1]).toBe(i);
      expect(results[1 + i * 3 + 2]).toBeUndefined();
    }
    const revisions = results.filter((_, index) => index % 3 === 1) as number[];
    expect(revisions.every((revision, index) => index === 0 || revision === revisions[index - 1]! + 1)).toBe(true);
    expect(await store.getEntry('k')).toEqual({ value: 299, revision: revisions.at(-1) });
  });

  it('keep a TTL through update and clear it with a plain set, in one tick', async () => {
    const store = newStore();
    await store.set('t', 1, { ttlMs: 60_000 });
    const pttl = async () => Number(await redis.raw.sendCommand(['PTTL', `${store.namespace}:k:t`]));
    await Promise.all([store.update('t', (n) => (n as number) + 1), store.get('t')]);
    expect(await pttl()).toBeGreaterThan(0);
    await Promise.all([store.get('t'), store.set('t', 3)]);
    expect(await pttl()).toBe(-1);
    expect(await store.get('t')).toBe(3);
  });

  it('announce batched sets to a store that only listens, and to none when nobody does', async () => {
    const writer = newStore();
    const listener = createStore({ backend: redis.backend(), namespace: writer.namespace });
    try {
      const seen: unknown[] = [];
      const subscription = listener.watch('w').subscribe((value) => seen.push(value));
      await listener.stats();
      await Promise.all([writer.get('w'), writer.set('w', 'a'), writer.get('w'), writer.set('w', 'b')]);
      await waitUntil(() => seen.length >= 3, 'three watched values', 2_000);
      expect(seen).toEqual([undefined, 'a', 'b']);
      subscription.unsubscribe();
      await listener.stats();
      // Nobody listens now: the writes stay exact, and no events are built.
      const before = await publishedCount();
      await Promise.all([writer.set('w', 'c'), writer.set('w', 'd')]);
      expect(await publishedCount()).toBe(before);
      expect(await writer.get('w')).toBe('d');
    } finally {
      await listener.close();
    }
  });

  /** How many PUBLISH commands Redis has run, from scripts included. */
  async function publishedCount(): Promise<number> {
    const stats = String(await redis.raw.sendCommand(['INFO', 'commandstats']));
    return Number(/cmdstat_publish:calls=(\d+)/.exec(stats)?.[1] ?? 0);
  }
});
