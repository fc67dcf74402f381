// Worker near caches on a Redis store: writes from this process and from another
// store on the same Redis reach them (the change feed, and with client tracking the
// backend's invalidated() calls). Freshness is Redis's: eventually, not linearizable.
import { createPool, createStore } from 'kvbus';
import { redisBackend } from 'kvbus/redis';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureUrl } from '../helpers/fixtures.js';
import { useRedisServer } from '../helpers/use-redis.js';

const TASKS = fixtureUrl('cache-tasks.mjs').href;

describe('near cache of workers on a Redis store', () => {
  const redis = useRedisServer({ raw: false });
  const closers: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  });

  it('hears of writes made here and by another process, and keeps no stale value', async () => {
    const store = createStore({ backend: redisBackend({ url: redis.url }), namespace: 'nc' });
    const other = createStore({ backend: redisBackend({ url: redis.url }), namespace: 'nc' });
    closers.push(
      () => store.close(),
      () => other.close(),
    );
    await store.set('r:k', 1);
    const pool = createPool({ store, filename: TASKS, minThreads: 1, maxThreads: 1, cache: { keys: 'r:*' } });
    closers.push(() => pool.destroy());
    const read = async () =>
      (await pool.run({ keys: ['r:k'], times: 2 }, { name: 'readKeys' })) as { values: number[]; cache: { hits: number } };
    expect((await read()).values).toEqual([1, 1]);
    const eventually = async (value: number) => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const r = await read();
        if (r.values.every((v) => v === value)) return r;
        if (Date.now() > deadline) throw new Error(`the worker still reads ${r.values} instead of ${value}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await store.set('r:k', 2);
    await eventually(2);
    await other.set('r:k', 3);
    const r = await eventually(3);
    expect(r.cache.hits).toBeGreaterThan(0);
  });
});
