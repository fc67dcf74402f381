// Once the change events are subscribed to (following confirmed), a Redis
// backend tells the actor that every key may have changed: a worker's near
// cache may have filled while following was set up (near-caches.ts opens it
// before), with values whose changes were published before SUBSCRIBE took
// effect (review finding 6).
import type { Backend, KeyChange } from 'kvbus';
import { redisBackend } from 'kvbus/redis';
import { expect, it } from 'vitest';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { useRedisServer } from '../helpers/use-redis.js';

describeRedis('redis backend: following the change events', () => {
  const redis = useRedisServer();

  it('drops every near-cached value (invalidated(null)) once the subscription is confirmed, and not before', async () => {
    const backend = redisBackend({ url: redis.url });
    const invalidations: Array<readonly string[] | null> = [];
    const context = {
      namespace: uniqueNamespace('following'),
      clock: { now: () => Date.now() },
      emitChange: (_change: KeyChange) => {},
      emitMessage: () => 0,
      emitChannelMessage: () => {},
      emitPatternMessage: () => {},
      watchingKeys: true,
      invalidated: (keys: readonly string[] | null) => invalidations.push(keys),
      requestExpiry: () => {},
    };
    await backend.open(context as unknown as Parameters<Backend['open']>[0]);
    try {
      expect(invalidations).toEqual([]);
      await backend.interest({ kind: 'changes', name: '*' }, true);
      expect(invalidations).toEqual([null]);
      // A second watcher shares the subscription: nothing new to confirm.
      await backend.interest({ kind: 'key', name: 'k' }, true);
      expect(invalidations).toEqual([null]);
    } finally {
      await backend.close();
    }
  });
});
