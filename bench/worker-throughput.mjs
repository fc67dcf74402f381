// Question: with many calls in flight, does kvbus's per-tick batching keep up
// with a hand-written batched request/reply loop? A worker keeps 256
// `store.get(k)` calls outstanding (small numbers, 1 000 keys); the baseline
// worker keeps 256 raw requests outstanding, batching the requests of one tick
// into one postMessage ([{ seq, key }, …]), which the main thread answers with
// one postMessage ([{ seq, value }, …]) from a plain Map. Then the same from
// two workers at once (256 in flight each), all served by the one main thread.
// Targets: kvbus ≥ 0.9 × the raw loop, with one worker and with two.

import { createStore } from '../dist/index.js';
import { compare } from './lib.mjs';
import { startWorker } from './workers/threads.mjs';

const KEYS = Array.from({ length: 1000 }, (_, i) => `key:${i}`);
const INFLIGHT = 256;
// Every get of a round returns its key's index: the sum checks that each side read the values.
const expectedSum = (n) => {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += i % KEYS.length;
  return sum;
};

/** @returns {Promise<object[]>} the rows of this bench */
export default async function run() {
  const store = createStore();
  const map = new Map();
  for (const [i, key] of KEYS.entries()) {
    map.set(key, i);
    await store.set(key, i);
  }
  const workers = [await startWorker(store, map), await startWorker(store, map)];

  // One operation = one get; with several workers, each does its share at the same time.
  const loop = (op, count) => async (n) => {
    const share = Math.ceil(n / count);
    const sums = await Promise.all(workers.slice(0, count).map((w) => w.call(op, { n: share, inflight: INFLIGHT, keys: KEYS })));
    for (const sum of sums)
      if (sum !== expectedSum(share)) throw new Error(`${op} read wrong values (sum ${sum}, expected ${expectedSum(share)})`);
  };

  const one = await compare({ kvbus: loop('kvbusThroughput', 1), baseline: loop('rawThroughput', 1) });
  const two = await compare({ kvbus: loop('kvbusThroughput', 2), baseline: loop('rawThroughput', 2) });

  await Promise.all(workers.map((w) => w.close()));
  await store.close();
  return [
    { question: `b. worker: get, ${INFLIGHT} in flight, 1 worker (vs raw batched loop)`, unit: 'ops', target: 0.9, ...one },
    { question: `b. worker: get, ${INFLIGHT} in flight each, 2 workers (vs raw batched loop)`, unit: 'ops', target: 0.9, ...two },
  ];
}
