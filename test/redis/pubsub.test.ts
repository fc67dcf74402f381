// Pub/sub on Redis: one Redis subscription per channel or pattern per store
// however many observers, released with the last one; Redis's own receiver
// count; and messages between two stores (two "processes") on one Redis.
import { expect, it } from 'vitest';
import { createStore } from '../../src/index.js';
import { numPat, numSub } from '../helpers/redis-client.js';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { useStores } from '../helpers/use-stores.js';

describeRedis('redis: pub/sub', () => {
  const redis = useRedisServer();
  const { newStore, rec } = useStores((namespace = uniqueNamespace('ps')) => createStore({ backend: redis.backend(), namespace }));

  it('one Redis subscription per channel however many observers; released when the last goes', async () => {
    const store = newStore();
    const channel = `${store.namespace}:c:news`;
    expect(await numSub(redis.raw, channel)).toBe(0);
    const observers = [rec(store.channel('news')), rec(store.channel('news')), rec(store.channel('news'))];
    const off = store.onSubscriberReceive('news', () => {});
    await store.stats();
    expect(await numSub(redis.raw, channel)).toBe(1);
    expect((await store.stats()).subscriptions).toBe(4);
    expect(await store.publish('news', 'hi')).toBe(1);
    for (const observer of observers) await observer.count(1);
    off();
    observers[0]!.unsubscribe();
    observers[1]!.unsubscribe();
    await store.stats();
    expect(await numSub(redis.raw, channel)).toBe(1);
    observers[2]!.unsubscribe();
    await store.stats();
    expect(await numSub(redis.raw, channel)).toBe(0);
    expect(await store.publish('news', 'nobody')).toBe(0);
    // And again from zero.
    const again = rec(store.channel('news'));
    await store.stats();
    expect(await numSub(redis.raw, channel)).toBe(1);
    again.unsubscribe();
    await store.stats();
    expect(await numSub(redis.raw, channel)).toBe(0);
  });

  it('one Redis pattern subscription per pattern however many observers (PUBSUB NUMPAT)', async () => {
    const store = newStore();
    const base = await numPat(redis.raw);
    const observers = [rec(store.pattern('room:*')), rec(store.pattern('room:*')), rec(store.pattern('room:*'))];
    await store.stats();
    expect(await numPat(redis.raw)).toBe(base + 1);
    const other = rec(store.pattern('hall:?'));
    await store.stats();
    expect(await numPat(redis.raw)).toBe(base + 2);
    other.unsubscribe();
    observers[0]!.unsubscribe();
    observers[1]!.unsubscribe();
    await store.stats();
    expect(await numPat(redis.raw)).toBe(base + 1);
    observers[2]!.unsubscribe();
    await store.stats();
    expect(await numPat(redis.raw)).toBe(base);
  });

  it('watch and changes share one subscription to the change events, released with the last', async () => {
    const store = newStore();
    const channel = `${store.namespace}:changes`;
    const watchers = [
      rec(store.watch('a')),
      rec(store.watch('a')),
      rec(store.watch('b')),
      rec(store.changes('*')),
      rec(store.changes('x:*')),
    ];
    await store.stats();
    expect(await numSub(redis.raw, channel)).toBe(1);
    for (const watcher of watchers.slice(0, 4)) watcher.unsubscribe();
    await store.stats();
    expect(await numSub(redis.raw, channel)).toBe(1);
    watchers[4]!.unsubscribe();
    await store.stats();
    expect(await numSub(redis.raw, channel)).toBe(0);
  });

  it("publish resolves to Redis's own count: subscribed connections, not observers", async () => {
    const a = newStore();
    const b = newStore(a.namespace);
    const c = newStore();
    rec(a.channel('x'));
    rec(a.channel('x'));
    rec(a.channel('x'));
    rec(b.channel('x'));
    rec(c.channel('x')); // another namespace: never counted
    await Promise.all([a.stats(), b.stats(), c.stats()]);
    expect(await a.publish('x', 1)).toBe(2);
    expect(await c.publish('x', 1)).toBe(1);
    rec(b.pattern('x*'));
    await b.stats();
    expect(await a.publish('x', 2)).toBe(3);
  });

  it('two stores on one Redis hear each other; every observer of each gets each message once, in order', async () => {
    const a = newStore();
    const b = newStore(a.namespace);
    const aHears = rec(a.channel<string>('chat'));
    const bHears = rec(b.channel<string>('chat'));
    const bHearsToo = rec(b.channel<string>('chat'));
    const bPattern = rec(b.pattern<string>('ch*'));
    await Promise.all([a.stats(), b.stats()]);
    for (let i = 0; i < 20; i++) await a.publish('chat', `a${i}`);
    await b.publish('chat', 'b0');
    const expected = [...Array.from({ length: 20 }, (_, i) => `a${i}`), 'b0'];
    for (const recorder of [aHears, bHears, bHearsToo]) expect(await recorder.count(21)).toEqual(expected);
    expect((await bPattern.count(21)).map((m) => m.data)).toEqual(expected);
    expect(bPattern.values[0]).toEqual({ channel: 'chat', data: 'a0' });
  });

  it("a store sees another store's key changes through watch and changes", async () => {
    const a = newStore();
    const b = newStore(a.namespace);
    const watch = rec(b.watch<number>('counter'));
    const changes = rec(b.changes('counter'));
    await watch.count(1);
    await a.incr('counter');
    await a.incr('counter');
    await a.delete('counter');
    await watch.count(4);
    expect(watch.values).toEqual([undefined, 1, 2, undefined]);
    await changes.count(3);
    expect(changes.values.map((e) => e.type)).toEqual(['set', 'set', 'delete']);
  });
});
