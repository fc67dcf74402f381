// Question: does a worker's set of a large value cost one copy, not two? A
// worker sets a ~1 MB object (16 000 rows of five fields) into the store, n sets
// in flight at once; the baseline is the same worker posting the same object n
// times on a raw MessagePort, one way, to a main thread that keeps each in a
// Map and says when it has all n. Both sides pay the post's serialization in the
// worker and its deserialization in the main thread; kvbus adds its request
// framing and an answer per set. Before issue #10 the worker also cloned the
// value at the call (structuredClone, then the post cloned it again): ~0.3 x.
// Now the worker serializes a large value at the call (V8's format) and the
// store decodes those bytes itself, so it need not walk the value for shared
// memory (which cost ~8.5 ms of a ~40 ms clone of this one).
// Target (issue #10): kvbus >= 0.8 x the raw one-way post.

import { MessageChannel, Worker } from 'node:worker_threads';
import { createStore } from '../dist/index.js';
import { compare } from './lib.mjs';

/** @returns {Promise<object[]>} the rows of this bench */
export default async function run() {
  const store = createStore();
  const control = new MessageChannel();
  const raw = new MessageChannel();
  const kept = new Map();
  let expected = 0;
  let received = 0;
  raw.port1.on('message', (message) => {
    if (typeof message === 'number') {
      expected = message;
      received = 0;
      return;
    }
    kept.set('big', message);
    if (++received === expected) raw.port1.postMessage('done');
  });

  const worker = new Worker(new URL('./workers/large-set-worker.mjs', import.meta.url), {
    workerData: { control: control.port2, raw: raw.port2 },
    transferList: [control.port2, raw.port2],
  });
  store.attach(worker);
  const waiting = new Map();
  let nextId = 0;
  await new Promise((resolve, reject) => {
    worker.once('error', reject);
    control.port1.on('message', (message) => {
      if (message.ready) return resolve();
      waiting.get(message.id)();
      waiting.delete(message.id);
    });
  });
  const call = (op) => (n) =>
    new Promise((resolve) => {
      const id = ++nextId;
      waiting.set(id, resolve);
      control.port1.postMessage({ id, op, n });
    });

  const result = await compare({ kvbus: call('kvbus'), baseline: call('raw') });
  const stored = await store.get('big');
  if (stored?.rows?.length !== 16_000 || kept.get('big')?.rows?.length !== 16_000) throw new Error('a side did not deliver the value');

  await worker.terminate();
  control.port1.close();
  raw.port1.close();
  await store.close();
  return [{ question: 'f. worker: set of a ~1 MB object (vs raw one-way post of it)', unit: 'ops', target: 0.8, ...result }];
}
