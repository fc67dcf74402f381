// Question: what does kvbus add to one call from a worker, on top of the
// message round trip it cannot avoid? A worker attached with store.attach()
// does `await store.get(k)` in a loop (a small number); the baseline is a raw
// MessagePort ping-pong between the same two threads with a message of the
// same shape, { seq, key } → { seq, value }, answered from a plain Map.
// Latencies are timed in the worker, call by call; the figure is the p50 (the
// table shows 1/p50 as calls/s, so "ratio ≥ 0.80" means "kvbus p50 ≤ 1.25 ×
// raw p50"); p50 and p99 of both sides are printed as notes. For context only,
// comlink's awaited call from the same worker (a dev-dependency of the benches;
// a note says so when it is not installed).
// Target: get p50 ≤ 1.25 × ping-pong.

import { createStore } from '../dist/index.js';
import { compareReported, describeLatency, latencySide, p50Ratio, printNotes } from './workers/measure.mjs';
import { loadComlink, startWorker } from './workers/threads.mjs';

const KEY = 'bench:value';
const VALUE = 42;

/** @returns {Promise<object[]>} the rows of this bench */
export default async function run() {
  const store = createStore();
  await store.set(KEY, VALUE);
  const map = new Map([[KEY, VALUE]]);
  const worker = await startWorker(store, map);

  // Each side checks that it read the value, so neither measures a no-op.
  const side = (op) =>
    latencySide(async (n) => {
      const result = await worker.call(op, { n, key: KEY });
      if (result.value !== VALUE) throw new Error(`${op} read ${result.value}, expected ${VALUE}`);
      return result;
    });

  const notes = [];
  const get = await compareReported({ kvbus: side('kvbusLatency'), baseline: side('rawLatency') });
  notes.push(
    `a. kvbus get ${describeLatency(get.kvbus)} · raw ping-pong ${describeLatency(get.baseline)} · ${p50Ratio(get)} (target ≤ 1.25)`,
  );

  // e. For context only: comlink's awaited call vs kvbus's awaited get, in the same rounds.
  if (await loadComlink()) {
    const vs = await compareReported({ kvbus: side('kvbusLatency'), baseline: side('comlinkLatency') });
    notes.push(
      `e. (context, no target) kvbus get ${describeLatency(vs.kvbus)} · comlink call ${describeLatency(vs.baseline)} · kvbus ÷ comlink ${p50Ratio(vs)}`,
    );
  } else {
    notes.push('e. (context) comlink is not installed, so its awaited call was not measured: npm i -D comlink@4');
  }
  printNotes(notes);

  await worker.close();
  await store.close();
  return [
    {
      question: 'a. worker: awaited get, 1/p50 (vs MessagePort ping-pong)',
      unit: 'calls',
      target: 0.8,
      pairs: get.pairs,
      clock: get.clock,
    },
  ];
}
