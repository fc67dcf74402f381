// Question: what does kvbus add to a blocking call from a worker? A worker
// attached with store.attach() does `store.sync.get(k)` in a loop (a small
// number): it posts the request and blocks in Atomics.wait until the main
// thread, which is not blocked, answers. The baseline is the least that can do
// the same between the same two threads: the worker posts { seq, key } on a
// port and Atomics.wait's on a SharedArrayBuffer; the main thread answers
// { seq, value } from a plain Map on a second port and Atomics.notify's; the
// worker reads the answer with receiveMessageOnPort. Latencies are timed in
// the worker, call by call; the figure is the p50 (the table shows 1/p50 as
// calls/s, so "ratio ≥ 0.80" means "kvbus p50 ≤ 1.25 × raw p50"); p50 and p99
// of both sides are printed as notes.
// Target: sync.get p50 ≤ 1.25 × the raw Atomics.wait request/reply.

import { createStore } from '../dist/index.js';
import { compareReported, describeLatency, latencySide, p50Ratio, printNotes } from './workers/measure.mjs';
import { startWorker } from './workers/threads.mjs';

const KEY = 'bench:value';
const VALUE = 42;

/** @returns {Promise<object[]>} the rows of this bench */
export default async function run() {
  const store = createStore();
  await store.set(KEY, VALUE);
  const worker = await startWorker(store, new Map([[KEY, VALUE]]));

  // Each side checks that it read the value, so neither measures a no-op.
  const side = (op) =>
    latencySide(async (n) => {
      const result = await worker.call(op, { n, key: KEY });
      if (result.value !== VALUE) throw new Error(`${op} read ${result.value}, expected ${VALUE}`);
      return result;
    });
  const sync = await compareReported({ kvbus: side('kvbusSyncLatency'), baseline: side('rawSyncLatency') });
  printNotes([
    `c. kvbus sync.get ${describeLatency(sync.kvbus)} · raw Atomics.wait ${describeLatency(sync.baseline)} · ${p50Ratio(sync)} (target ≤ 1.25)`,
  ]);

  await worker.close();
  await store.close();
  return [
    { question: 'c. worker: sync.get, 1/p50 (vs raw Atomics.wait)', unit: 'calls', target: 0.8, pairs: sync.pairs, clock: sync.clock },
  ];
}
