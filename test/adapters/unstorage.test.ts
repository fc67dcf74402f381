// kvbusDriver: unstorage's own driver checks (ported, see unstorage-driver-suite.ts)
// on the memory backend (with a base, and on a whole store) and on Redis, plus
// the checks unstorage runs for drivers with a backing store and a watcher:
// stored keys, the instance, watch / unwatch, TTL, input checks, and a write
// from a pool worker seen by a watcher in the main thread.
import { createPool, createStore, type MainStore, type Store } from 'kvbus';
import { redisBackend } from 'kvbus/redis';
import { kvbusDriver } from 'kvbus/unstorage';
import { createStorage, type WatchEvent } from 'unstorage';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { Resources } from '../helpers/resources.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { waitUntil } from '../helpers/wait.js';
import { type TestContext, testDriver } from './unstorage-driver-suite.js';

const TASKS = new URL('./fixtures/keyv-tasks.mjs', import.meta.url);

/** Checks of a driver with base 'test' on `store()`, after the ported suite's own. */
function backedTests(store: () => Store) {
  return (ctx: TestContext) => {
    it('verify stored keys (under the base, other keys untouched by clear)', async () => {
      await store().set('__external_key__', 'unrelated_data');
      await ctx.storage.setItem('s1:a', 'test_data');
      await ctx.storage.setItem('s2:a', 'test_data');
      await ctx.storage.setItem('s3:a?q=1', 'test_data');
      expect((await store().keys('test:*')).sort()).toEqual(['test:s1:a', 'test:s2:a', 'test:s3:a']);
      await ctx.driver.clear?.('', {});
      expect(await store().keys()).toEqual(['__external_key__']);
      await store().delete('__external_key__');
    });

    it('exposes instance', () => {
      expect(ctx.driver.getInstance?.()).toBe(store());
    });

    it('watch: sees writes made by anyone, as update and remove of its own keys', async () => {
      const events: [WatchEvent, string][] = [];
      const unwatch = await ctx.storage.watch((event, key) => events.push([event, key]));
      // Another client of the store, not through this storage (as localstorage's "storage" event).
      await store().set('test:s1:random_file', 'random');
      await store().delete('test:s1:random_file');
      await store().set('elsewhere', 'not under the base');
      await waitUntil(() => events.length >= 2, 'two watch events');
      await unwatch();
      expect(events).toEqual([
        ['update', 's1:random_file'],
        ['remove', 's1:random_file'],
      ]);
      await store().delete('elsewhere');
    });

    it('unwatch: no event after it', async () => {
      const events: string[] = [];
      const unwatch = await ctx.storage.watch((_event, key) => events.push(key));
      await store().set('test:s1:random_file', 'random');
      await waitUntil(() => events.length === 1, 'the first watch event');
      await unwatch();
      await store().set('test:s1:random_file2', 'random');
      // A later write's event would have come before this round trip's answer.
      await ctx.storage.setItem('s1:after', 'x');
      await store().stats();
      expect(events).toEqual(['s1:random_file']);
    });

    it('ttl: setItem(key, value, { ttl }) in seconds, kept by the store; the expiry is a remove in watch', async () => {
      const events: [WatchEvent, string][] = [];
      const unwatch = await ctx.storage.watch((event, key) => events.push([event, key]));
      await ctx.storage.setItem('short', 'v', { ttl: 0.05 });
      await ctx.storage.setItem('kept', 'v');
      expect(await ctx.storage.hasItem('short')).toBe(true);
      await waitUntil(() => events.some(([event, key]) => event === 'remove' && key === 'short'), 'the expiry of short');
      await unwatch();
      expect(await store().has('test:short')).toBe(false);
      expect(await ctx.storage.getItem('kept')).toBe('v');
    });
  };
}

const res = new Resources();
afterEach(() => res.cleanup());

describe('kvbusDriver: unstorage driver checks, memory backend, base "test"', () => {
  const store = createStore();
  afterAll(() => store.close());
  testDriver({ driver: () => kvbusDriver({ store, base: 'test' }), additionalTests: backedTests(() => store) });
});

describe('kvbusDriver: unstorage driver checks, memory backend, the whole store', () => {
  const store = createStore();
  afterAll(() => store.close());
  testDriver({ driver: () => kvbusDriver({ store }) });
});

describeRedis('kvbusDriver: unstorage driver checks, Redis backend, base "test"', () => {
  const redis = useRedisServer({ raw: false });
  let store: MainStore | undefined;
  const storeOnRedis = () =>
    (store ??= createStore({ backend: redisBackend({ url: redis.url }), namespace: uniqueNamespace('unstorage') }));
  afterAll(() => store?.close());
  testDriver({ driver: () => kvbusDriver({ store: storeOnRedis(), base: 'test' }), additionalTests: backedTests(storeOnRedis) });
});

describe('kvbusDriver', () => {
  it('default ttl option, in seconds', async () => {
    const store = res.store();
    const storage = createStorage({ driver: kvbusDriver({ store, ttl: 0.05 }) });
    await storage.setItem('a', 1);
    await storage.setItem('b', 2, { ttl: 5 });
    await waitUntil(async () => !(await store.has('a')), 'the default TTL to expire a');
    // Seconds, not milliseconds: b (5 s) outlives a (50 ms) by far.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await storage.getItem('b')).toBe(2);
  });

  it('a watcher in the main thread sees a write a pool worker made through its own storage (getStore())', async () => {
    const store = res.store();
    const storage = createStorage({ driver: kvbusDriver({ store, base: 'pages' }) });
    const events: [WatchEvent, string][] = [];
    const unwatch = await storage.watch((event, key) => events.push([event, key]));
    const pool = res.pool(createPool({ store, filename: TASKS.href, maxThreads: 1 }));
    await pool.run({ key: 'home', value: '<h1>hi</h1>' }, { name: 'unstorageSet' });
    await waitUntil(() => events.length === 1, 'the watch event of the worker write');
    await unwatch();
    expect(events).toEqual([['update', 'home']]);
    expect(await storage.getItem('home')).toBe('<h1>hi</h1>');
  });

  it('a whole-store clear() is one remove of the empty key', async () => {
    const store = res.store();
    const storage = createStorage({ driver: kvbusDriver({ store, base: 'b' }) });
    await storage.setItem('k', 1);
    const events: [WatchEvent, string][] = [];
    const unwatch = await storage.watch((event, key) => events.push([event, key]));
    await store.clear();
    await waitUntil(() => events.length === 1, 'the clear event');
    await unwatch();
    expect(events).toEqual([['remove', '']]);
  });

  it('checks its options', () => {
    const store = res.store();
    const bad = (f: () => unknown, pattern: RegExp) =>
      expect(f).toThrow(expect.objectContaining({ code: 'ERR_BAD_ARGUMENT', message: expect.stringMatching(pattern) }));
    bad(() => kvbusDriver({ store, ttl: -1 }), /kvbusDriver: expected `ttl` to be a positive finite number, got number -1/);
    bad(() => kvbusDriver({ store, base: 42 as never }), /expected `base` to be a string, got number 42/);
    bad(() => kvbusDriver({ store: {} as never }), /expected `store` to be a kvbus Store .* without a get\(\) method/);
    bad(() => kvbusDriver({ store, scanCount: 1.5 }), /expected `scanCount` to be a positive integer/);
  });

  it('rejects a bad per-item ttl with the same error', async () => {
    const storage = createStorage({ driver: kvbusDriver({ store: res.store() }) });
    await expect(storage.setItem('k', 'v', { ttl: 'soon' })).rejects.toMatchObject({
      code: 'ERR_BAD_ARGUMENT',
      message: expect.stringMatching(/expected `ttl` to be a positive finite number, got "soon"/),
    });
  });
});
