// Question: what do locks and transactions cost, next to the plain calls they
// replace? From a worker attached to a memory store, one call at a time:
//   a. an uncontended `withLock(name, () => 1)` round trip (acquire, then
//      release: two messages each way) vs a plain `incr` (one).
//      Target: withLock ≤ 2.5 × the incr time, i.e. rate ratio ≥ 0.40.
//   b. a 3-op transaction (three sets, one round trip) vs 3 separate awaited
//      sets (three round trips), counted per group of three writes.
//      Target: not slower, i.e. rate ratio ≥ 1.00.
// Both sides run in the same worker, in interleaved rounds (lib.mjs).

import { MessageChannel, Worker } from 'node:worker_threads';
import { createStore } from '../dist/index.js';
import { compare, summarize } from './lib.mjs';
import { controlCalls } from './workers/control.mjs';
import { printNotes } from './workers/measure.mjs';

const KEYS = ['coord:a', 'coord:b', 'coord:c'];

/** Starts the bench worker attached to `store`; `call(op, args)` runs one of its ops. */
async function startWorker(store) {
  const control = new MessageChannel();
  const worker = new Worker(new URL('./workers/coord-worker.mjs', import.meta.url), {
    workerData: { control: control.port2 },
    transferList: [control.port2],
  });
  store.attach(worker);
  const call = controlCalls(worker, control.port1, 'coordination bench worker');
  await call('ready');
  return {
    call,
    async close() {
      control.port1.close();
      await worker.terminate();
    },
  };
}

/** @returns {Promise<object[]>} the rows of this bench */
export default async function run() {
  const store = createStore();
  const worker = await startWorker(store);

  // Each side checks its result, so neither measures a no-op.
  const lockSide = async (n) => {
    const ran = await worker.call('withLock', { n, name: 'bench:lock' });
    if (ran !== n) throw new Error(`withLock ran fn ${ran} times, expected ${n}`);
  };
  const incrSide = async (n) => {
    const before = (await store.get('bench:n')) ?? 0;
    const last = await worker.call('incr', { n, key: 'bench:n' });
    if (last !== before + n) throw new Error(`incr reached ${last}, expected ${before + n}`);
  };
  const txSide = async (n) => {
    await worker.call('transaction3', { n, keys: KEYS });
    const values = await store.getMany(KEYS);
    if (values.some((v) => v !== n - 1)) throw new Error(`transaction left ${values}, expected ${n - 1} ×3`);
  };
  const setsSide = async (n) => {
    await worker.call('sets3', { n, keys: KEYS });
    const values = await store.getMany(KEYS);
    if (values.some((v) => v !== n - 1)) throw new Error(`sets left ${values}, expected ${n - 1} ×3`);
  };

  const lock = await compare({ kvbus: lockSide, baseline: incrSide });
  const tx = await compare({ kvbus: txSide, baseline: setsSide });

  const a = summarize(lock.pairs);
  const b = summarize(tx.pairs);
  const us = (perSecond) => `${(1e6 / perSecond).toFixed(1)} µs`;
  printNotes([
    `a. worker: withLock round trip ${us(a.kvbus)} · incr ${us(a.baseline)} · withLock ÷ incr time ${(1 / a.ratio).toFixed(2)}× (target ≤ 2.5×)`,
    `b. worker: 3-op transaction ${us(b.kvbus)} · 3 awaited sets ${us(b.baseline)} · throughput ratio ${b.ratio.toFixed(2)}× (target ≥ 1×)`,
  ]);

  // Nothing left held: the main thread gets the lock at once.
  const free = await store.lock('bench:lock', { waitMs: 1_000 });
  await free.release();
  await worker.close();
  await store.close();
  return [
    { question: 'coord a. worker: uncontended withLock, 1/time (vs incr; ≥ 0.40 = ≤ 2.5× the time)', unit: 'calls', target: 0.4, ...lock },
    { question: 'coord b. worker: 3-op transaction (vs 3 awaited sets)', unit: 'groups', target: 1, ...tx },
  ];
}
