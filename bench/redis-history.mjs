// Question: what does keeping history cost a Redis write? Every write script
// also appends its change event to the namespace's Redis Stream (XADD … MAXLEN
// ~ maxEvents, in the same script). A private redis-server on a free loopback
// port (skipped, with a printed line, when there is no redis-server).
//   i. sets (small numbers, 1 000 keys) with 256 calls in flight, on a store
//      with the default history (maxEvents 10 000: the stream is full and
//      trimmed while measured) vs the same store with history: { maxEvents: 0 }.
//      Both stores live in this process, on the same server, in two namespaces.
// Target: cost ≤ 1.3×, i.e. throughput ratio ≥ 0.77.

import { createStore } from '../dist/index.js';
import { redisBackend } from '../dist/redis.js';
import { compare, onPrivateRedis } from './lib.mjs';

const KEYS = Array.from({ length: 1000 }, (_, i) => `key:${i}`);
const INFLIGHT = 256;

/** @returns {Promise<object[]>} the rows of this bench */
export default function run() {
  return onPrivateRedis('i. Redis history bench', measure);
}

async function measure(url) {
  const withHistory = createStore({ backend: redisBackend({ url }), namespace: 'bench-history' });
  const without = createStore({ backend: redisBackend({ url, history: { maxEvents: 0 } }), namespace: 'bench-nohistory' });
  await Promise.all([withHistory.ready(), without.ready()]);
  // Fill the stream past maxEvents, so that trimming is part of what is measured.
  for (let i = 0; i < 12_000; i += INFLIGHT) {
    await Promise.all(Array.from({ length: INFLIGHT }, (_, j) => withHistory.set(KEYS[(i + j) % KEYS.length], i + j)));
  }

  // Written once per side on purpose (see bench/workers/client.mjs): a loop shared by both sides turns polymorphic.
  const historySets = (n) =>
    new Promise((resolve, reject) => {
      let issued = 0;
      let done = 0;
      const settle = () => {
        if (++done === n) resolve();
        else if (issued < n) issue();
      };
      const issue = () => {
        const i = issued++;
        withHistory.set(KEYS[i % KEYS.length], i).then(settle, reject);
      };
      for (let i = 0; i < Math.min(INFLIGHT, n); i++) issue();
    });
  const plainSets = (n) =>
    new Promise((resolve, reject) => {
      let issued = 0;
      let done = 0;
      const settle = () => {
        if (++done === n) resolve();
        else if (issued < n) issue();
      };
      const issue = () => {
        const i = issued++;
        without.set(KEYS[i % KEYS.length], i).then(settle, reject);
      };
      for (let i = 0; i < Math.min(INFLIGHT, n); i++) issue();
    });
  const writes = await compare({ kvbus: historySets, baseline: plainSets });
  await Promise.all([withHistory.close(), without.close()]);
  return [{ question: `i. redis: write with history vs without (set, ${INFLIGHT} in flight)`, unit: 'ops', target: 0.77, ...writes }];
}
