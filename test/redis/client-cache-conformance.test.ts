// The conformance suites, unchanged, against the Redis backend on an explicit
// RESP3 connection (node-redis's `RESP: 3`: replies of scripts and commands
// come as RESP3 types), and with the client-side cache on, whose reads must
// answer exactly as the uncached backend's do.

import { coordConformance } from '../conformance/coord-suite.js';
import { scanConformance } from '../conformance/scan-suite.js';
import { conformance, storesOn } from '../conformance/suite.js';
import { describeRedis } from '../helpers/redis-server.js';
import { useRedisServer } from '../helpers/use-redis.js';

describeRedis('redis backend over RESP3, with the client-side cache', () => {
  const redis = useRedisServer({ raw: false });
  const makeStore = storesOn(() => redis.backend({ RESP: 3, clientCache: true }));

  conformance('redis RESP3 clientCache', makeStore);
  scanConformance('redis RESP3 clientCache', makeStore);
  coordConformance('redis RESP3 clientCache', makeStore);
});
