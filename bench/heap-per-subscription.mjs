// Question: how much heap does one subscription cost? 100 000 subscriptions,
// each measured in a fresh Node process (forked from here, with --expose-gc):
//   main, distinct channels: store.channel(`ch:${i}`).subscribe(fn) on the main thread;
//   main, one channel:       store.channel('ch').subscribe(fn), 100 000 times;
//   worker, distinct channels: the same from a worker attached to the store, heap of
//                              the worker's isolate plus the main thread's (the actor
//                              keeps one sink per remote topic).
// heap used = v8 used_heap_size (per isolate) after two global.gc() calls, before
// and after subscribing (and a stats() call, so the store holds them all); per
// subscription = the difference ÷ 100 000. The subscriber functions, the
// channel names and the unsubscribe handles kept by the test are counted (a
// real app has them too).
// Before (commit 12469f5, same bench, same machine): 1 505, 1 320 and 1 900 B.
// What is left, per main-thread subscription (from a heap snapshot): RxJS's
// own subscriber (SafeSubscriber, ConsumerObserver, and its finalizers array,
// which RxJS allocates 17 slots long: ~290 B), the local link's entry and
// unsubscribe closure and the actor's sink closure (src/actors/local-link.ts,
// store-actor.ts: ~350 B), the observable and its handlers object (~110 B).
// Targets: ≤ 1 000 B on the main thread, ≤ 1 300 B for a worker's (both ends
// together): two thirds of what issue #10 measured (~1.5 KB), chosen after
// measuring what the routing and observable code could shed on its own; the
// rest is RxJS's and the store end's.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import { figureRow } from './lib.mjs';

const COUNT = 100_000;
const TARGETS = { distinct: 1000, one: 1000, worker: 1300 };
const BEFORE = { distinct: 1505, one: 1320, worker: 1900 };

const heap = () => {
  global.gc();
  global.gc();
  return v8.getHeapStatistics().used_heap_size;
};

if (process.argv[2] === '--side') {
  const bytes = await measure(process.argv[3]);
  if (process.send) process.send({ bytes }, () => process.disconnect());
  else console.log(process.argv[3], bytes / COUNT, 'B/sub');
} else if (process.argv[2] === '--worker') {
  // Inside the worker of the 'worker' side.
  const { parentPort } = await import('node:worker_threads');
  const { getStore } = await import('../dist/index.js');
  const store = getStore();
  await store.stats();
  const fn = () => {};
  parentPort.once('message', async () => {
    const before = heap();
    const subs = new Array(COUNT);
    for (let i = 0; i < COUNT; i++) subs[i] = store.channel(`ch:${i}`).subscribe(fn);
    await store.stats();
    const after = heap();
    parentPort.postMessage({ worker: after - before, keep: subs.length });
  });
  parentPort.postMessage({ ready: true });
}

async function measure(side) {
  const { createStore } = await import('../dist/index.js');
  const store = createStore();
  await store.stats();
  const fn = () => {};
  if (side === 'worker') {
    const worker = new Worker(fileURLToPath(import.meta.url), { argv: ['--worker'] });
    store.attach(worker);
    await new Promise((resolve) => worker.once('message', resolve));
    const before = heap();
    const done = new Promise((resolve) => worker.once('message', resolve));
    worker.postMessage('go');
    const { worker: workerBytes } = await done;
    const { subscriptions } = await store.stats();
    if (subscriptions !== COUNT) throw new Error(`expected ${COUNT} subscriptions, got ${subscriptions}`);
    const mainBytes = heap() - before;
    await worker.terminate();
    return workerBytes + mainBytes;
  }
  const before = heap();
  const subs = new Array(COUNT);
  for (let i = 0; i < COUNT; i++) subs[i] = store.channel(side === 'one' ? 'ch' : `ch:${i}`).subscribe(fn);
  const { subscriptions } = await store.stats();
  if (subscriptions !== COUNT) throw new Error(`expected ${COUNT} subscriptions, got ${subscriptions}`);
  return heap() - before;
}

const SIDES = {
  distinct: 'main thread, distinct channels',
  one: 'main thread, one channel',
  worker: 'worker, distinct channels (worker + main heap)',
};

/** @returns {Promise<object[]>} the rows of this bench */
export default async function run() {
  const rows = [];
  for (const [side, what] of Object.entries(SIDES)) {
    const perSub = (await measureIn(side)) / COUNT;
    rows.push(
      figureRow(`heap per subscription, ${COUNT / 1000}k, ${what}`, {
        value: `${perSub.toFixed(0)} B/sub`,
        baseline: `${BEFORE[side]} B/sub before`,
        ratio: (perSub / BEFORE[side]).toFixed(3),
        target: `≤ ${TARGETS[side]} B`,
        verdict: perSub <= TARGETS[side] ? 'PASS' : 'MISS',
      }),
    );
  }
  return rows;
}

function measureIn(side) {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--side', side], { execArgv: ['--expose-gc'] });
    let bytes;
    child.on('message', (message) => (bytes = message.bytes));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 && bytes !== undefined ? resolve(bytes) : reject(new Error(`the ${side} side exited with code ${code}`)),
    );
  });
}
