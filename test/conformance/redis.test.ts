// The conformance suite, unchanged, against the Redis backend: a private
// redis-server (or REDIS_URL), a unique namespace per store.
import { expect, it } from 'vitest';
import { createStore } from '../../src/index.js';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { conformance } from './suite.js';

describeRedis('redis backend', () => {
  const redis = useRedisServer({ raw: false });
  const makeStore = ({ namespace, onError }: { namespace: string; onError?: ((error: unknown, context: string) => void) | undefined }) =>
    createStore({ backend: redis.backend(), namespace, ...(onError ? { onError } : {}) });

  it('is what the suite below runs on, connected', async () => {
    const store = makeStore({ namespace: uniqueNamespace('which') });
    expect(() => store.sync.get('which')).toThrow(/on the redis backend/);
    await expect(store.ready()).resolves.toBeUndefined();
    await store.close();
  });

  conformance('redis', makeStore);
});
