// The worker of bench/worker-large-set.mjs: sets a ~1 MB object through kvbus,
// or posts it raw on a port (one way: the main thread keeps it in a Map and
// says when it has them all), as many times as asked.
import { workerData } from 'node:worker_threads';
import { getStore } from '../../dist/index.js';

const { control, raw } = workerData;
const store = getStore();

/** ~1 MB as a structured clone: 16 000 rows of five fields. */
export const makeValue = () => ({
  rows: Array.from({ length: 16_000 }, (_, i) => ({ id: i, name: `row-${i}`, score: i * 1.5, ok: i % 2 === 0, tags: ['a', 'b'] })),
});
const value = makeValue();

let rawDone;
raw.on('message', () => rawDone());

const ops = {
  // In flight together, as the raw side's posts are: n sets, then wait for all their answers.
  async kvbus(n) {
    const answers = new Array(n);
    for (let i = 0; i < n; i++) answers[i] = store.set('big', value);
    await Promise.all(answers);
  },
  async raw(n) {
    const done = new Promise((resolve) => (rawDone = resolve));
    raw.postMessage(n);
    for (let i = 0; i < n; i++) raw.postMessage(value);
    await done;
  },
};

control.on('message', async ({ id, op, n }) => {
  await ops[op](n);
  control.postMessage({ id });
});
control.postMessage({ ready: true });
