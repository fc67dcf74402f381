// Question: what does the Redis client-side cache (`redisBackend({ clientCache })`,
// node-redis's RESP3 `clientSideCache` with CLIENT TRACKING underneath) buy a
// main-thread `get`, and how does it compare with node-redis's own cache? A
// private redis-server on a free loopback port (never 6379; skipped, with a
// printed line, when there is no redis-server). 1 000 keys of small numbers,
// every one read once before timing, so that each timed read is a hit.
//   i. kvbus awaited `get`, one at a time: clientCache on vs off (the same store
//      code; off, every get is a round trip to Redis).
//   j. the reference, node-redis alone: awaited GET on a client with
//      `clientSideCache` vs a plain client (both RESP3, no per-command timer).
//   k. kvbus's cached get vs node-redis's cached GET: what the store (its actor,
//      copies, revisions) costs on top of a hit.
// Targets: i ≥ 10 (a hit is no round trip), j is the reference (no target of
// ours: reported with the target 1), k ≥ 0.3.

import { createClient } from 'redis';
import { createStore } from '../dist/index.js';
import { redisBackend } from '../dist/redis.js';
import { compare, onPrivateRedis } from './lib.mjs';
import { printNotes } from './workers/measure.mjs';

const KEYS = Array.from({ length: 1000 }, (_, i) => `key:${i}`);

/** @returns {Promise<object[]>} the rows of this bench */
export default function run() {
  return onPrivateRedis('i–k. Redis client-side cache benches', measure);
}

async function measure(url) {
  const cached = createStore({ backend: redisBackend({ url, clientCache: { maxEntries: 10_000 } }), namespace: 'bench' });
  const plain = createStore({ backend: redisBackend({ url }), namespace: 'bench' });
  await Promise.all([cached.ready(), plain.ready()]);
  // As in redis-backend.mjs: node-redis's per-command AbortSignal.timeout off on the baselines too.
  const commandOptions = { timeout: 0 };
  const client = createClient({ url, RESP: 3, commandOptions });
  const cachingClient = createClient({ url, RESP: 3, commandOptions, clientSideCache: { maxEntries: 10_000 } });
  for (const c of [client, cachingClient]) c.on('error', () => {});
  await Promise.all([client.connect(), cachingClient.connect()]);
  for (const [i, key] of KEYS.entries()) {
    await cached.set(key, i);
    await client.set(`raw:${key}`, String(i));
  }
  for (const key of KEYS) {
    await cached.get(key);
    await cachingClient.get(`raw:${key}`);
  }

  // Written once per side on purpose (see bench/workers/client.mjs): a loop shared by both sides turns polymorphic.
  const cachedGets = async (n) => {
    for (let i = 0; i < n; i++) await cached.get(KEYS[i % KEYS.length]);
  };
  const plainGets = async (n) => {
    for (let i = 0; i < n; i++) await plain.get(KEYS[i % KEYS.length]);
  };
  const cachingClientGets = async (n) => {
    for (let i = 0; i < n; i++) await cachingClient.get(`raw:${KEYS[i % KEYS.length]}`);
  };
  const clientGets = async (n) => {
    for (let i = 0; i < n; i++) await client.get(`raw:${KEYS[i % KEYS.length]}`);
  };

  const kvbus = await compare({ kvbus: cachedGets, baseline: plainGets });
  const nodeRedis = await compare({ kvbus: cachingClientGets, baseline: clientGets });
  const versus = await compare({ kvbus: cachedGets, baseline: cachingClientGets });
  if ((await cached.get(KEYS[7])) !== 7 || (await cachingClient.get(`raw:${KEYS[7]}`)) !== '7') throw new Error('a side lost its values');
  const stats = cachingClient.clientSideCache?.stats();
  printNotes([
    `j. node-redis clientSideCache: ${stats?.hitCount ?? '?'} hits, ${stats?.missCount ?? '?'} misses during the bench (every timed read should hit)`,
  ]);

  await Promise.all([cached.close(), plain.close(), client.close(), cachingClient.close()]);
  return [
    { question: 'i. redis: awaited get, clientCache on (vs off)', unit: 'calls', target: 10, ...kvbus },
    { question: 'j. node-redis: awaited GET with clientSideCache (vs plain GET), reference', unit: 'calls', target: 1, ...nodeRedis },
    { question: 'k. redis: awaited get, clientCache (vs node-redis clientSideCache GET)', unit: 'calls', target: 0.3, ...versus },
  ];
}
