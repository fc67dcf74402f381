// The conformance suite, unchanged, against the Redis backend: a private
// redis-server (or REDIS_URL), a unique namespace per store.
import { afterAll, beforeAll } from 'vitest';
import { createStore } from '../../src/index.js';
import { redisBackend } from '../../src/redis.js';
import { describeRedis, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { conformance } from './suite.js';

describeRedis('redis backend', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis();
    await server.flushAll();
  });
  afterAll(async () => {
    await server?.stop();
  });

  conformance('redis', ({ namespace, onError }) =>
    createStore({ backend: redisBackend({ url: server.url }), namespace, ...(onError ? { onError } : {}) }),
  );
});
