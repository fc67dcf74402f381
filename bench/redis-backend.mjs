// Question: what does kvbus cost on top of node-redis, on the same Redis, for
// the same operations? A private redis-server on a free loopback port (never
// the shared one on 6379; skipped, with a printed line, when there is no
// redis-server). kvbus is createStore({ backend: redisBackend({ url }) }) in
// this process; the baseline is node-redis's createClient() on the same server.
//   f. get/set (alternating, small numbers, 1 000 keys) with 256 calls in flight:
//      node-redis pipelines the commands issued in one tick on both sides. kvbus
//      sends the gets and sets of a tick as one command, at most 128 at a time:
//      its BATCH script (per set: compare-and-set check when asked, revision,
//      SET, change event when someone listens), or MGET/GET when a tick only
//      reads; the baseline sends plain SET and GET. That difference is the
//      price of kvbus's semantics, and is measured as it is.
//   g. one awaited get at a time: p50 latency (the table shows 1/p50, so
//      "ratio ≥ 0.83" means "kvbus p50 ≤ 1.2 × node-redis p50"), p50/p99 as notes.
//   h. publish → subscriber in this process: bursts of 256 publishes without
//      awaiting, then the last awaited; messages counted by the subscriber
//      (kvbus: store.channel() observer; baseline: a duplicate() connection's
//      SUBSCRIBE listener). Same message on both sides: { seq }, v8-serialized
//      (kvbus's default serializer), deserialized by the receiver.
// Targets: f ≥ 0.8 × node-redis; g p50 ≤ 1.2 × node-redis; h ≥ 0.8 × node-redis.

import { deserialize, serialize } from 'node:v8';
import { createClient } from 'redis';
import { createStore } from '../dist/index.js';
import { redisBackend } from '../dist/redis.js';
import { compare, onPrivateRedis } from './lib.mjs';
import { compareReported, countedSide, describeLatency, latencySide, p50Ratio, printNotes } from './workers/measure.mjs';

const KEYS = Array.from({ length: 1000 }, (_, i) => `key:${i}`);
const INFLIGHT = 256;
const BURST = 256;

/** @returns {Promise<object[]>} the rows of this bench */
export default function run() {
  return onPrivateRedis('f–h. Redis benches', measure);
}

async function measure(url) {
  const store = createStore({ backend: redisBackend({ url }), namespace: 'bench' });
  await store.ready();
  // node-redis 6 gives every command its own 5 s AbortSignal.timeout by default, which
  // costs a third of a busy client's time; kvbus turns it off for its own connection
  // (and bounds commands with one coarse timer), so the baseline turns it off too.
  const client = createClient({ url, commandOptions: { timeout: 0 } });
  client.on('error', () => {});
  await client.connect();
  for (const [i, key] of KEYS.entries()) {
    await store.set(key, i);
    await client.set(`raw:${key}`, String(i));
  }

  // f. One operation = one get or one set (alternating), 256 kept in flight.
  // Written once per side on purpose (see bench/workers/client.mjs): a loop shared by both sides turns polymorphic.
  const kvbusMixed = (n) =>
    new Promise((resolve, reject) => {
      let issued = 0;
      let done = 0;
      const settle = () => {
        if (++done === n) resolve();
        else if (issued < n) issue();
      };
      const issue = () => {
        const i = issued++;
        const key = KEYS[(i >> 1) % KEYS.length];
        (i & 1 ? store.get(key) : store.set(key, i)).then(settle, reject);
      };
      for (let i = 0; i < Math.min(INFLIGHT, n); i++) issue();
    });
  const rawMixed = (n) =>
    new Promise((resolve, reject) => {
      let issued = 0;
      let done = 0;
      const settle = () => {
        if (++done === n) resolve();
        else if (issued < n) issue();
      };
      const issue = () => {
        const i = issued++;
        const key = `raw:${KEYS[(i >> 1) % KEYS.length]}`;
        (i & 1 ? client.get(key) : client.set(key, String(i))).then(settle, reject);
      };
      for (let i = 0; i < Math.min(INFLIGHT, n); i++) issue();
    });
  const mixed = await compare({ kvbus: kvbusMixed, baseline: rawMixed });
  if (typeof (await store.get(KEYS[0])) !== 'number' || typeof (await client.get(`raw:${KEYS[0]}`)) !== 'string') {
    throw new Error('a side lost its values');
  }

  // g. One awaited get at a time, timed call by call.
  const kvbusLatency = latencySide(async (n) => {
    const samples = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await store.get(KEYS[i % KEYS.length]);
      samples[i] = performance.now() - t0;
    }
    return samples;
  });
  const rawLatency = latencySide(async (n) => {
    const samples = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await client.get(`raw:${KEYS[i % KEYS.length]}`);
      samples[i] = performance.now() - t0;
    }
    return samples;
  });
  const latency = await compareReported({ kvbus: kvbusLatency, baseline: rawLatency });

  // h. Publish → subscriber. Each side counts what its subscriber received and
  // can be asked to wait for the message numbered `last`.
  const kvbusCount = { count: 0, lastSeen: -1, waiter: undefined };
  const subscription = store.channel('ticks').subscribe((data) => {
    kvbusCount.count++;
    kvbusCount.lastSeen = data.seq;
    if (kvbusCount.waiter && data.seq >= kvbusCount.waiter.last) kvbusCount.waiter.resolve();
  });
  const subscriber = client.duplicate();
  subscriber.on('error', () => {});
  await subscriber.connect();
  const rawCount = { count: 0, lastSeen: -1, waiter: undefined };
  await subscriber.subscribe(
    'raw:ticks',
    (message) => {
      const data = deserialize(message);
      rawCount.count++;
      rawCount.lastSeen = data.seq;
      if (rawCount.waiter && data.seq >= rawCount.waiter.last) rawCount.waiter.resolve();
    },
    true,
  );
  await store.stats(); // the subscription is active once a later command was answered
  const waitFor = (counter, last) =>
    counter.lastSeen >= last ? undefined : new Promise((resolve) => (counter.waiter = { last, resolve }));

  let kvbusSeq = 0;
  const kvbusPublish = countedSide(async (n) => {
    const before = kvbusCount.count;
    for (let i = 0; i < n; ) {
      const end = Math.min(n, i + BURST);
      let published;
      for (; i < end; i++) published = store.publish('ticks', { seq: kvbusSeq++ });
      await published;
    }
    await waitFor(kvbusCount, kvbusSeq - 1);
    return kvbusCount.count - before;
  });
  let rawSeq = 0;
  const rawPublish = countedSide(async (n) => {
    const before = rawCount.count;
    for (let i = 0; i < n; ) {
      const end = Math.min(n, i + BURST);
      let published;
      for (; i < end; i++) published = client.publish('raw:ticks', serialize({ seq: rawSeq++ }));
      await published;
    }
    await waitFor(rawCount, rawSeq - 1);
    return rawCount.count - before;
  });
  const pubsub = await compareReported({ kvbus: kvbusPublish, baseline: rawPublish });

  printNotes([
    `g. kvbus get ${describeLatency(latency.kvbus)} · node-redis GET ${describeLatency(latency.baseline)} · ${p50Ratio(latency)} (target ≤ 1.20)`,
  ]);

  subscription.unsubscribe();
  await subscriber.close();
  await client.close();
  await store.close();
  return [
    { question: `f. redis: get/set, ${INFLIGHT} in flight (vs node-redis GET/SET)`, unit: 'ops', target: 0.8, ...mixed },
    {
      question: 'g. redis: awaited get, 1/p50 (vs node-redis GET)',
      unit: 'calls',
      target: 1 / 1.2,
      pairs: latency.pairs,
      clock: latency.clock,
    },
    {
      question: 'h. redis: publish → subscriber (vs node-redis pub/sub)',
      unit: 'msgs',
      target: 0.8,
      pairs: pubsub.pairs,
      clock: pubsub.clock,
    },
  ];
}
