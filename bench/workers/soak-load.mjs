// The load of one soak client (bench/soak.mjs), the same in a pool worker
// (soak-task.mjs) and in a forked child (soak-child.mjs): LANES loops, each
// issuing one call at a time, for as long as the main thread's 'soak:go' says.
//
// The mix, per call (weights out of 100):
//   get 40     shared state is read far more than written (caches, config, progress)
//   set 20     plain writes: half numbers, half short objects
//   incr 20    the coordinated write of job pools (counters, totals); the totals are checked
//   publish 12 events: every client listens on 'soak:bus', so each publish is 4 deliveries
//   update 6   read-modify-write: two round trips, and conflicts on the hot documents; checked too
//   watch 2    subscribe to a key's watch, take its first value, unsubscribe: rare in an app,
//              but the subscription bookkeeping is where a leak would build up over a soak
// Half of the keyed calls go to keys every client shares (hot keys: contention,
// fan-out of change events), half to keys of this client alone.
//
// Each call is timed from the call to its settlement, into a log-linear
// histogram (16 buckets per octave of microseconds, 4.4 % wide) that the main
// thread merges over all clients.

import { performance } from 'node:perf_hooks';

const LANES = 4;
export const HOT_KEYS = 8;
export const HOT_COUNTERS = 4;
export const HOT_DOCS = 2;
const OWN_KEYS = 64;

const MIX = [
  ['get', 40],
  ['set', 20],
  ['incr', 20],
  ['publish', 12],
  ['update', 6],
  ['watch', 2],
];
const PICK = MIX.flatMap(([op, weight]) => Array(weight).fill(op));

/** Histogram buckets: 0 for < 1 µs, then 16 per octave up to 2^32 µs. */
export const BUCKETS_PER_OCTAVE = 16;
export const BUCKETS = 1 + BUCKETS_PER_OCTAVE * 32;

/**
 * The keys a soak client uses; the main thread seeds them and checks the counters.
 * @param {string} client - the client's name
 * @returns {{ hot: string[], own: string[], hotCounters: string[], ownCounter: string, hotDocs: string[], ownDoc: string }}
 */
export function keysOf(client) {
  return {
    hot: Array.from({ length: HOT_KEYS }, (_, i) => `soak:hot:${i}`),
    own: Array.from({ length: OWN_KEYS }, (_, i) => `soak:${client}:${i}`),
    hotCounters: Array.from({ length: HOT_COUNTERS }, (_, i) => `soak:ctr:hot:${i}`),
    ownCounter: `soak:ctr:${client}`,
    hotDocs: Array.from({ length: HOT_DOCS }, (_, i) => `soak:doc:hot:${i}`),
    ownDoc: `soak:doc:${client}`,
  };
}

/** A small deterministic PRNG (mulberry32), so each client's sequence of calls is repeatable. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bucketOf(ms) {
  const us = ms * 1000;
  if (us < 1) return 0;
  return Math.min(BUCKETS - 1, 1 + Math.floor(Math.log2(us) * BUCKETS_PER_OCTAVE));
}

/**
 * Runs one soak client against `store` until the deadline the main thread sets in 'soak:go'.
 * @param {object} store - a kvbus store (getStore() in a worker or child)
 * @param {{ client: string, seed: number }} options - the client's name and PRNG seed
 * @returns {Promise<object>} what the client did: calls per op, errors, incr and update counts per key,
 *   the latency histogram, deliveries received, and the length of its run
 */
export async function runSoakClient(store, { client, seed }) {
  const keys = keysOf(client);
  const rand = random(seed);
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const hotOrOwn = (hot, own) => (rand() < 0.5 ? pick(hot) : pick(own));

  const histogram = new Array(BUCKETS).fill(0);
  const calls = Object.fromEntries(MIX.map(([op]) => [op, 0]));
  const errors = {};
  const incrs = {};
  const updates = {};
  let received = 0;
  let watched = 0;

  // Long-lived interest for the whole run: the bus every publish goes to, and one hot key.
  const bus = store.channel('soak:bus').subscribe(() => received++);
  const hotWatch = store.watch(keys.hot[0]).subscribe(() => watched++);

  // The start signal: the main thread sets 'soak:go' to { until } once every client is ready.
  let go;
  const started = new Promise((resolve) => (go = resolve));
  const goWatch = store.watch('soak:go').subscribe((value) => value && go(value));
  await store.incr('soak:ready'); // after the subscriptions above: they are active in the actor
  const { until } = await started;
  goWatch.unsubscribe();

  const ops = {
    get: () => store.get(hotOrOwn(keys.hot, keys.own)),
    set: () => {
      const n = Math.floor(rand() * 1e6);
      return store.set(hotOrOwn(keys.hot, keys.own), n & 1 ? n : { n, by: client, at: Date.now() });
    },
    incr: async () => {
      const key = rand() < 0.5 ? pick(keys.hotCounters) : keys.ownCounter;
      await store.incr(key);
      incrs[key] = (incrs[key] ?? 0) + 1; // counted once acknowledged
    },
    publish: () => store.publish('soak:bus', { from: client, at: Date.now() }),
    update: async () => {
      const key = rand() < 0.5 ? pick(keys.hotDocs) : keys.ownDoc;
      await store.update(key, (old) => ({ n: (old?.n ?? 0) + 1, by: client }));
      updates[key] = (updates[key] ?? 0) + 1;
    },
    watch: () =>
      new Promise((resolve, reject) => {
        let subscription;
        let done = false;
        subscription = store.watch(hotOrOwn(keys.hot, keys.own)).subscribe({
          next: () => {
            done = true;
            subscription?.unsubscribe();
            resolve();
          },
          error: reject,
        });
        if (done) subscription.unsubscribe();
      }),
  };

  const t0 = performance.now();
  const lane = async () => {
    while (Date.now() < until) {
      const op = pick(PICK);
      const start = performance.now();
      try {
        await ops[op]();
        calls[op]++;
      } catch (error) {
        const code = `${op}: ${error?.code ?? error?.name ?? 'Error'}`;
        errors[code] = (errors[code] ?? 0) + 1;
      }
      histogram[bucketOf(performance.now() - start)]++;
    }
  };
  await Promise.all(Array.from({ length: LANES }, lane));
  const elapsedMs = performance.now() - t0;

  bus.unsubscribe();
  hotWatch.unsubscribe();
  await store.stats(); // the unsubscriptions have reached the actor
  return { client, calls, errors, incrs, updates, histogram, received, watched, elapsedMs };
}

/**
 * A percentile of a merged histogram: the geometric middle of the bucket that holds it.
 * @param {number[]} histogram - counts per bucket
 * @param {number} q - the quantile, 0–1
 * @returns {number} microseconds
 */
export function histogramPercentile(histogram, q) {
  const total = histogram.reduce((a, b) => a + b, 0);
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i];
    if (seen >= rank) return i === 0 ? 0.5 : 2 ** ((i - 0.5) / BUCKETS_PER_OCTAVE);
  }
  return Number.NaN;
}
