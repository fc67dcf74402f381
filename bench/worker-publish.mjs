// Question: how fast do published messages reach subscribers in workers? The
// main thread publishes { seq } to channel "ticks", in bursts of 256 calls
// made without awaiting, then awaits the last call of the burst and yields to
// the event loop (setImmediate) so the ports can carry the burst; a
// subscriber (`store.channel('ticks').subscribe`) in each of 2 workers counts
// what arrives. The baseline does the same with a raw batched loop: the main
// thread queues { channel, data } per worker and posts each worker one
// message per tick; each worker counts. A round ends when both workers have
// received the round's last message, and the figure is the deliveries counted
// in the workers per second, so a dropped message is not counted.
//
// The raw loop's queue has no bound: while a worker waits for a core (three
// busy threads on two), its backlog grows by tens of thousands of messages.
// kvbus bounds each subscriber (subscriberBuffer, default 10 000) and drops
// the oldest past it, by design. So the measured row gives kvbus a buffer large
// enough to hold that backlog, as the raw loop has, and compares the
// transports; a note gives the same comparison with the default buffer and the
// share of messages it dropped.
// Target: kvbus ≥ 0.8 × the raw loop.

import { createStore } from '../dist/index.js';
import { median } from './lib.mjs';
import { compareReported, countedSide, printNotes } from './workers/measure.mjs';
import { startWorker } from './workers/threads.mjs';

const BURST = 256;
const CHANNEL = 'ticks';
const yieldToLoop = () => new Promise((resolve) => setImmediate(resolve));

/** A buffer that holds the whole backlog of this bench's bursts, as the raw loop's unbounded queue does. */
const LARGE_BUFFER = { size: 1_000_000, overflow: 'drop-oldest' };

/** @returns {Promise<object[]>} the rows of this bench */
export default async function run() {
  const large = await measure(createStore({ subscriberBuffer: LARGE_BUFFER }));
  const standard = await measure(createStore());
  const share = (r) => ((100 * r.dropped) / (r.dropped + r.delivered)).toFixed(1);
  printNotes([
    `d. buffer of ${LARGE_BUFFER.size} messages: kvbus delivered ${large.delivered} messages in its timed rounds, dropped ${large.dropped} over the whole bench`,
    `d. (context, no target) default buffer of 10 000: kvbus ${mega(median(standard.result.kvbus.map((r) => r.rate)))} vs raw ${mega(median(standard.result.baseline.map((r) => r.rate)))} msgs/s, ratio ${median(standard.result.pairs.map(([k, b]) => k / b)).toFixed(2)}, ${share(standard)} % of the messages dropped (subscriber buffer overflow)`,
  ]);
  return [
    {
      question: 'd. worker: publish → 2 worker subscribers, deliveries (vs raw batched loop)',
      unit: 'msgs',
      target: 0.8,
      pairs: large.result.pairs,
      clock: large.result.clock,
    },
  ];
}

/**
 * Compares kvbus on `store` with the raw loop, each with 2 workers of its own.
 * @param {import('../dist/index.js').MainStore} store - a fresh store (closed here)
 * @returns {Promise<{ result: object, delivered: number, dropped: number }>}
 */
async function measure(store) {
  const workers = [await startWorker(store, new Map()), await startWorker(store, new Map())];
  for (const w of workers) await w.call('kvbusSubscribe', { channel: CHANNEL });

  // kvbus: one operation = one publish (each reaches 2 subscribers).
  let kvbusSeq = 0;
  const viaStore = countedSide(async (n) => {
    const last = kvbusSeq + n - 1;
    const before = await Promise.all(workers.map((w) => w.call('kvbusWaitFor', { last: kvbusSeq - 1 })));
    const arrived = Promise.all(workers.map((w) => w.call('kvbusWaitFor', { last })));
    for (let i = 0; i < n; ) {
      const end = Math.min(n, i + BURST);
      let published;
      for (; i < end; i++) published = store.publish(CHANNEL, { seq: kvbusSeq++ });
      await published;
      await yieldToLoop();
    }
    const after = await arrived;
    return after.reduce((sum, count, i) => sum + count - before[i], 0);
  });

  // Raw: the same messages, batched per tick into one postMessage per worker.
  const queues = workers.map(() => []);
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    for (let i = 0; i < workers.length; i++) {
      workers[i].events.postMessage(queues[i]);
      queues[i] = [];
    }
  };
  const rawPublish = (channel, data) => {
    for (const queue of queues) queue.push(channel, data);
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(flush);
    }
    return queues.length;
  };
  let rawSeq = 0;
  const viaPorts = countedSide(async (n) => {
    const last = rawSeq + n - 1;
    const before = await Promise.all(workers.map((w) => w.call('rawWaitFor', { last: rawSeq - 1 })));
    const arrived = Promise.all(workers.map((w) => w.call('rawWaitFor', { last })));
    for (let i = 0; i < n; ) {
      const end = Math.min(n, i + BURST);
      let published;
      for (; i < end; i++) published = rawPublish(CHANNEL, { seq: rawSeq++ });
      await published;
      await yieldToLoop();
    }
    const after = await arrived;
    return after.reduce((sum, count, i) => sum + count - before[i], 0);
  });

  const result = await compareReported({ kvbus: viaStore, baseline: viaPorts });
  const { dropped } = await store.stats();
  const delivered = result.kvbus.reduce((sum, r) => sum + r.count, 0);
  await Promise.all(workers.map((w) => w.close()));
  await store.close();
  return { result, delivered, dropped };
}

const mega = (rate) => `${(rate / 1e6).toFixed(2)} M`;
