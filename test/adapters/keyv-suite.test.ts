// @keyv/test-suite, the official Keyv compliance suite, unchanged: its API,
// value and namespace tests (keyvTestSuite) and its iterator tests, on a kvbus
// store with the memory backend and with the Redis backend.
import keyvTestSuite, { keyvIteratorTests } from '@keyv/test-suite';
import Keyv from 'keyv';
import { createStore, type MainStore } from 'kvbus';
import { KeyvKvbus } from 'kvbus/keyv';
import { redisBackend } from 'kvbus/redis';
import * as vitest from 'vitest';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { useRedisServer } from '../helpers/use-redis.js';

vitest.describe('@keyv/test-suite on KeyvKvbus, memory backend', () => {
  const store = createStore();
  vitest.afterAll(() => store.close());
  keyvTestSuite(vitest, Keyv, () => new KeyvKvbus(store));
  keyvIteratorTests(vitest, Keyv, () => new KeyvKvbus(store));

  // The suite asserts with its own expects; this checks that what it ran against is the store itself.
  vitest.it('writes through to the kvbus store, under the Keyv namespace', async () => {
    const keyv = new Keyv({ store: new KeyvKvbus(store), namespace: 'suite-check' });
    await keyv.set('k', { a: 1 });
    vitest.expect(await store.has('suite-check:k')).toBe(true);
    vitest.expect(await keyv.get('k')).toEqual({ a: 1 });
  });
});

describeRedis('@keyv/test-suite on KeyvKvbus, Redis backend', () => {
  const redis = useRedisServer({ raw: false });
  let store: MainStore | undefined;
  const adapter = () => {
    store ??= createStore({ backend: redisBackend({ url: redis.url }), namespace: uniqueNamespace('keyv') });
    return new KeyvKvbus(store);
  };
  vitest.afterAll(() => store?.close());
  keyvTestSuite(vitest, Keyv, adapter);
  keyvIteratorTests(vitest, Keyv, adapter);
});
