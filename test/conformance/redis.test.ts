// The conformance suite, unchanged, against the Redis backend: a private
// redis-server (or REDIS_URL), a unique namespace per store.
import { createStore } from '../../src/index.js';
import { describeRedis } from '../helpers/redis-server.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { conformance } from './suite.js';

describeRedis('redis backend', () => {
  const redis = useRedisServer({ raw: false });

  conformance('redis', ({ namespace, onError }) =>
    createStore({ backend: redis.backend(), namespace, ...(onError ? { onError } : {}) }),
  );
});
