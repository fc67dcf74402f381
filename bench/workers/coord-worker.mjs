// The worker side of bench/coordination.mjs: a worker attached to the main
// thread's store (getStore(), as any task file), driven over `control`:
// { id, op, args } → { id, result } | { id, error }. Each op does `n` awaited
// calls, one after another, and returns something that proves they ran.

import { workerData } from 'node:worker_threads';
import { getStore } from '../../dist/index.js';

const { control } = workerData;
const store = getStore();
const noop = () => 1;

const ops = {
  ready: async () => true,
  // a. an uncontended withLock round trip (acquire, run nothing, release) …
  async withLock({ n, name }) {
    let ran = 0;
    for (let i = 0; i < n; i++) ran += await store.withLock(name, noop);
    return ran;
  },
  // … vs a plain incr.
  async incr({ n, key }) {
    let last = 0;
    for (let i = 0; i < n; i++) last = await store.incr(key);
    return last;
  },
  // b. one transaction of 3 sets …
  async transaction3({ n, keys }) {
    let last = 0;
    for (let i = 0; i < n; i++) {
      const revisions = await store.transaction([
        { op: 'set', key: keys[0], value: i },
        { op: 'set', key: keys[1], value: i },
        { op: 'set', key: keys[2], value: i },
      ]);
      last = revisions[2];
    }
    return last;
  },
  // … vs 3 separate awaited sets.
  async sets3({ n, keys }) {
    let last = 0;
    for (let i = 0; i < n; i++) {
      await store.set(keys[0], i);
      await store.set(keys[1], i);
      last = await store.set(keys[2], i);
    }
    return last;
  },
};

control.on('message', async ({ id, op, args }) => {
  try {
    control.postMessage({ id, result: await ops[op](args) });
  } catch (error) {
    control.postMessage({ id, error: `${error?.code ?? ''} ${error?.message ?? error}` });
  }
});
