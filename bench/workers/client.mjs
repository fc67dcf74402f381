// The worker side of the worker benches (spawned by threads.mjs). It reaches
// the main thread's store with getStore() like any task file, and also holds
// the raw channels of the baselines, so that kvbus and its baseline run
// between the same two threads, with the same message shape:
//   rawPing   [seq, key] → [seq, value]                    one request per message
//   rawBatch  [seq, key, seq, key, …] → [seq, value, …]    requests of one tick in one message
//   rawSync   [seq, key] → (rawSyncReply) [seq, value] + Atomics.notify
//   rawEvents [channel, data, channel, data, …]            messages of one tick in one message
// Flat arrays, as kvbus's own wire format: a structured clone of nested objects
// costs several times more, and a baseline should be the best plain code.
// The main thread drives it over `control`: { id, op, …args } → { id, result } | { id, error }.

import { performance } from 'node:perf_hooks';
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { getStore } from '../../dist/index.js';

const { control, rawPing, rawBatch, rawSync, rawSyncReply, rawSyncFlag, rawEvents, comlinkPort } = workerData;
const store = getStore();

// --- a. one awaited get at a time -------------------------------------------

async function kvbusLatency({ n, key }) {
  const samples = new Float64Array(n);
  let value;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    value = await store.get(key);
    samples[i] = performance.now() - t0;
  }
  return summarize(samples, value);
}

let wakePing;
rawPing.on('message', (reply) => wakePing(reply));
const pingGet = (seq, key) =>
  new Promise((resolve) => {
    wakePing = resolve;
    rawPing.postMessage([seq, key]);
  });

async function rawLatency({ n, key }) {
  const samples = new Float64Array(n);
  let reply;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    reply = await pingGet(i, key);
    samples[i] = performance.now() - t0;
  }
  return summarize(samples, reply[1]);
}

// --- e. comlink's awaited call (context) --------------------------------------

let comlinkApi;
async function comlinkLatency({ n, key }) {
  if (!comlinkPort) return { missing: true };
  if (!comlinkApi) {
    const [Comlink, { default: nodeEndpoint }] = await Promise.all([
      import('comlink/dist/esm/comlink.mjs'),
      import('comlink/dist/esm/node-adapter.mjs'),
    ]);
    comlinkApi = Comlink.wrap(nodeEndpoint(comlinkPort));
  }
  const samples = new Float64Array(n);
  let value;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    value = await comlinkApi.get(key);
    samples[i] = performance.now() - t0;
  }
  return summarize(samples, value);
}

// --- b. throughput with calls in flight ---------------------------------------

// Keeps `inflight` calls outstanding until `n` have completed. Written twice on
// purpose, once per side, so that each loop has one callee: a shared loop
// calling two different `get`s turns polymorphic once both sides have run, and
// then one side's JIT state depends on the other (a real program has one).
function kvbusThroughput({ n, inflight, keys }) {
  return new Promise((resolve, reject) => {
    let issued = 0;
    let done = 0;
    let sum = 0;
    const settle = (value) => {
      sum += value;
      if (++done === n) resolve(sum);
      else if (issued < n) issue();
    };
    const issue = () => {
      store.get(keys[issued++ % keys.length]).then(settle, reject);
    };
    for (let i = 0; i < Math.min(inflight, n); i++) issue();
  });
}

function rawThroughput({ n, inflight, keys }) {
  return new Promise((resolve, reject) => {
    let issued = 0;
    let done = 0;
    let sum = 0;
    const settle = (value) => {
      sum += value;
      if (++done === n) resolve(sum);
      else if (issued < n) issue();
    };
    const issue = () => {
      rawGet(keys[issued++ % keys.length]).then(settle, reject);
    };
    for (let i = 0; i < Math.min(inflight, n); i++) issue();
  });
}

// The least a batched request/reply client does: a pending map, a promise per
// call, and one postMessage per tick for the calls made in that tick.
const rawPending = new Map();
let rawSeq = 0;
let rawQueue = [];
let rawScheduled = false;
rawBatch.on('message', (replies) => {
  for (let i = 0; i < replies.length; i += 2) {
    const resolve = rawPending.get(replies[i]);
    rawPending.delete(replies[i]);
    resolve(replies[i + 1]);
  }
});
const flushRaw = () => {
  rawScheduled = false;
  const batch = rawQueue;
  rawQueue = [];
  rawBatch.postMessage(batch);
};
const rawGet = (key) => {
  const seq = ++rawSeq;
  rawQueue.push(seq, key);
  if (!rawScheduled) {
    rawScheduled = true;
    queueMicrotask(flushRaw);
  }
  return new Promise((resolve) => rawPending.set(seq, resolve));
};

// --- c. blocking get ----------------------------------------------------------

function kvbusSyncLatency({ n, key }) {
  const samples = new Float64Array(n);
  let value;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    value = store.sync.get(key);
    samples[i] = performance.now() - t0;
  }
  return summarize(samples, value);
}

// The least a blocking request does: post, then read the reply port and wait on the flag until it is there.
function rawSyncGet(seq, key) {
  rawSync.postMessage([seq, key]);
  for (;;) {
    const reply = receiveMessageOnPort(rawSyncReply);
    if (reply) {
      Atomics.store(rawSyncFlag, 0, 0);
      return reply.message[1];
    }
    Atomics.wait(rawSyncFlag, 0, 0, 30_000);
    Atomics.store(rawSyncFlag, 0, 0);
  }
}

function rawSyncLatency({ n, key }) {
  const samples = new Float64Array(n);
  let value;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    value = rawSyncGet(i, key);
    samples[i] = performance.now() - t0;
  }
  return summarize(samples, value);
}

// --- d. deliveries of published messages -------------------------------------

/** Counts deliveries of one source and answers "tell me when message `last` has arrived". */
function counter() {
  const state = { count: 0, lastSeen: -1, waiter: undefined };
  state.receive = (data) => {
    state.count++;
    state.lastSeen = data.seq;
    if (state.waiter && data.seq >= state.waiter.last) {
      state.waiter.resolve(state.count);
      state.waiter = undefined;
    }
  };
  state.waitFor = (last) => (state.lastSeen >= last ? state.count : new Promise((resolve) => (state.waiter = { last, resolve })));
  return state;
}

const kvbusEvents = counter();
const rawEventCounter = counter();
let _kvbusSubscription;
rawEvents.on('message', (batch) => {
  for (let i = 0; i < batch.length; i += 2) if (batch[i] === 'ticks') rawEventCounter.receive(batch[i + 1]);
});

async function kvbusSubscribe({ channel }) {
  _kvbusSubscription ??= store.channel(channel).subscribe((data) => kvbusEvents.receive(data));
  // A command answered after the subscription was sent means the subscription is active.
  await store.stats();
  return true;
}

// --- control ------------------------------------------------------------------

function summarize(samples, value) {
  const sorted = samples.sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p99: at(0.99), value };
}

const OPS = {
  ready: async () => (await store.stats(), true),
  kvbusLatency,
  rawLatency,
  comlinkLatency,
  kvbusThroughput,
  rawThroughput,
  kvbusSyncLatency,
  rawSyncLatency,
  kvbusSubscribe,
  kvbusWaitFor: ({ last }) => kvbusEvents.waitFor(last),
  rawWaitFor: ({ last }) => rawEventCounter.waitFor(last),
};

control.on('message', async ({ id, op, args }) => {
  try {
    control.postMessage({ id, result: await OPS[op](args) });
  } catch (error) {
    control.postMessage({ id, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  }
});
