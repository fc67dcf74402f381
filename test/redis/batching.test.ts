// The Redis backend sends the sets of one tick as one script call: each set
// must still behave as if sent alone, and other commands must keep their order.
import { describe, expect, it } from 'vitest';
import { createStore } from '../../src/index.js';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { useStores } from '../helpers/use-stores.js';
import { rejectionOf } from '../helpers/wait.js';

describeRedis('redis: sets of one tick', () => {
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
    const started = Date.now();
    while (changes.length < 3 && Date.now() - started < 2_000) await new Promise((resolve) => setTimeout(resolve, 10));
    subscription.unsubscribe();
    expect(changes).toEqual([['x', 1], ['y', 2], ['x', 3]]);
  });

  it('reject an unserializable value alone, naming its key', async () => {
    const store = newStore();
    const [good, bad] = await Promise.allSettled([store.set('ok', 1), rejectionOf(store.set('fn', { f: () => 1 }))]);
    expect(good.status).toBe('fulfilled');
    expect((bad as PromiseFulfilledResult<{ code?: string; message: string }>).value).toMatchObject({ code: 'ERR_NOT_CLONEABLE' });
    expect(await store.get('ok')).toBe(1);
  });
});
