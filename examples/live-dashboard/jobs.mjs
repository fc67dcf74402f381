// Piscina task file: runs in the pool's worker threads. Real CPU work (SHA-256
// chains, trial-division primes, a box blur over a typed-array "image"), sized
// by the shared configuration it reads from the store. It reports only through
// the store: progress on 'progress', counters with incr, its result with a TTL.
import { createHash } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { getStore } from 'kvbus';

const SLICES = 4; // progress is published between slices of work

/** A SHA-256 chain: `rounds` hashes, each of the previous digest. */
function* hashChain(seed, rounds) {
  let digest = Buffer.from(seed);
  for (let s = 0; s < SLICES; s++) {
    for (let i = 0; i < rounds / SLICES; i++) digest = createHash('sha256').update(digest).digest();
    yield;
  }
  return { digest: digest.toString('hex') };
}

/** Counts the primes in [lo, hi) by trial division, and keeps the largest. */
function* primes(lo, hi) {
  let count = 0;
  let largest = 0;
  const step = Math.ceil((hi - lo) / SLICES);
  for (let from = lo; from < hi; from += step) {
    for (let x = Math.max(2, from); x < Math.min(hi, from + step); x++) {
      let prime = true;
      for (let d = 2; d * d <= x; d++) {
        if (x % d === 0) {
          prime = false;
          break;
        }
      }
      if (prime) {
        count++;
        largest = x;
      }
    }
    yield;
  }
  return { count, largest };
}

/** A 3×3 box blur, `passes` times, over a seeded grayscale image; returns its mean. */
function* blur(size, passes, seed) {
  let a = new Float32Array(size * size);
  let b = new Float32Array(size * size);
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = (s / 4294967296) * 255;
  }
  for (let p = 0; p < passes; p++) {
    for (let y = 1; y < size - 1; y++) {
      for (let x = 1; x < size - 1; x++) {
        const i = y * size + x;
        b[i] =
          (a[i - size - 1] + a[i - size] + a[i - size + 1] + a[i - 1] + a[i] + a[i + 1] + a[i + size - 1] + a[i + size] + a[i + size + 1]) /
          9;
      }
    }
    [a, b] = [b, a];
    if ((p + 1) % Math.ceil(passes / SLICES) === 0) yield;
  }
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i];
  return { size, mean: Math.round((sum / a.length) * 1000) / 1000 };
}

function work(job, config) {
  const units = job.units;
  if (job.kind === 'hash') return hashChain(job.id, units * config.hashRoundsPerUnit);
  if (job.kind === 'primes') {
    const lo = config.primesFrom + job.n * config.primesStride;
    return primes(lo, lo + units * config.primeSpanPerUnit);
  }
  return blur(config.imageSize, units * config.blurPassesPerUnit, job.n);
}

/**
 * Runs one job. `job.crash` makes the thread exit half-way (a stand-in for a
 * fatal crash); `job.bug` stores a result that cannot be cloned (a function in
 * it), which the store refuses with a KvbusError (ERR_NOT_CLONEABLE).
 */
export default async function run(job) {
  const store = getStore();
  const started = performance.now();
  // The shared configuration: every job sizes its work from it.
  const config = await store.get('config:demo');
  await store.incr('count:jobs:started');
  const progress = (state, extra) => store.publish('progress', { id: job.id, attempt: job.attempt, threadId, state, ...extra });
  await progress('running', { pct: 0 });
  try {
    const steps = work(job, config);
    let slice = 0;
    let next = steps.next();
    while (!next.done) {
      slice++;
      if (job.crash && slice === SLICES / 2) process.exit(3); // the worker dies mid-job
      await progress('running', { pct: Math.round((slice / SLICES) * 100) });
      next = steps.next();
    }
    const ms = Math.round(performance.now() - started);
    const result = { id: job.id, kind: job.kind, units: job.units, threadId, ms, ...next.value };
    if (job.bug) result.format = () => JSON.stringify(result); // the bug: a function is not storable
    await store.set(`result:${job.id}`, result, { ttlMs: config.resultTtlMs });
    await store.incr('count:jobs:done');
    await store.incr(`count:thread:${threadId}`);
    await progress('done', { pct: 100, ms });
    return { id: job.id, threadId, ms };
  } catch (error) {
    await progress('failed', { code: error.code, message: error.message });
    await store.incr('count:jobs:failed');
    throw error;
  }
}
