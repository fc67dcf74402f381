import { redisBackend } from 'kvbus/redis';
import { expect, it } from 'vitest';
import { testContext } from '../helpers/backend-context.js';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { useRedisServer } from '../helpers/use-redis.js';

describeRedis('redis backend: following the change events', () => {
  const redis = useRedisServer();

  it('drops every near-cached value (invalidated(null)) once the subscription is confirmed, and not before', async () => {
    const backend = redisBackend({ url: redis.url });
    const invalidations: Array<readonly string[] | null> = [];
    await backend.open(
      testContext(uniqueNamespace('following'), { watchingKeys: true, invalidated: (keys) => void invalidations.push(keys) }),
    );
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
