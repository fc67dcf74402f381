// The conformance suites, unchanged, against the Redis backend on an explicit
// RESP3 connection (node-redis's `RESP: 3`: replies of scripts and commands
// come as RESP3 types), and with the client-side cache on, whose reads must
// answer exactly as the uncached backend's do.

import { afterEach, expect, it } from 'vitest';
import { coordConformance } from '../conformance/coord-suite.js';
import { scanConformance } from '../conformance/scan-suite.js';
import { conformance, storesOn } from '../conformance/suite.js';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { useRedisServer } from '../helpers/use-redis.js';

describeRedis('redis backend over RESP3, with the client-side cache', () => {
  const redis = useRedisServer();
  const makeStore = storesOn(() => redis.backend({ RESP: 3, clientCache: true }));
  const opened: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((store) => store.close()));
  });

  // What makes the suites below mean something: their stores really read from the cache.
  it('the suites run on stores whose repeated reads send Redis no command', async () => {
    const store = makeStore({ namespace: uniqueNamespace('resp3-cache') });
    opened.push(store);
    await store.set('k', { n: 1 });
    expect(await store.get('k')).toEqual({ n: 1 }); // fills the cache
    const gets = async () => /cmdstat_get:calls=(\d+)/.exec(String(await redis.raw.sendCommand(['INFO', 'commandstats'])))?.[1];
    const before = await gets();
    for (let i = 0; i < 5; i++) expect(await store.get('k')).toEqual({ n: 1 });
    expect(await gets()).toBe(before);
  });

  conformance('redis RESP3 clientCache', makeStore);
  scanConformance('redis RESP3 clientCache', makeStore);
  coordConformance('redis RESP3 clientCache', makeStore);
});
