// Piscina task file: runs in the pool's worker threads. It never receives the
// store in its arguments: getStore() here is a client of the main thread's store.
import { createHash } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { getStore } from 'kvbus';
import { filter, firstValueFrom, merge } from 'rxjs';

const CACHE_TTL_MS = 60_000;
const LOCK_TTL_MS = 10_000;

// Deliberately naive trial division: the point is to burn CPU in a worker.
function countPrimes(lo, hi) {
  let count = 0;
  for (let x = Math.max(2, lo); x < hi; x++) {
    let prime = true;
    for (let d = 2; d * d <= x; d++) {
      if (x % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

// One chunk through the shared cache. Two threads asking for the same uncached
// chunk at once must not both compute it, so the first one takes a lock with a
// compare-and-set (`ifRevision: 0` = only if absent) and the other waits for the
// result to appear. The lock has a TTL so a crashed holder cannot block anyone forever.
async function cachedChunk(store, task, lo, hi) {
  const key = `cache:primes:${lo}-${hi}`;
  const lock = `lock:${key}`;
  for (;;) {
    const cached = await store.get(key);
    if (cached !== undefined) return { count: cached, how: 'hit' };
    try {
      await store.set(lock, task, { ifRevision: 0, ttlMs: LOCK_TTL_MS });
    } catch (error) {
      if (error.code !== 'ERR_CONFLICT') throw error;
      // Someone else is computing it: wait for their result, or for their lock to go.
      await firstValueFrom(
        merge(store.watch(key).pipe(filter((v) => v !== undefined)), store.watch(lock).pipe(filter((v) => v === undefined))),
      );
      const value = await store.get(key);
      if (value !== undefined) return { count: value, how: 'waited' };
      continue;
    }
    // The holder may have finished between our miss and our lock.
    const late = await store.get(key);
    if (late !== undefined) {
      await store.delete(lock);
      return { count: late, how: 'hit' };
    }
    const count = countPrimes(lo, hi);
    await store.set(key, count, { ttlMs: CACHE_TTL_MS });
    await store.delete(lock);
    return { count, how: 'computed' };
  }
}

/** Counts the primes in [from, to), chunk by chunk, through the shared cache. */
export async function primes({ task, from, to, chunk }) {
  const store = getStore();
  const started = performance.now();
  const total = Math.ceil((to - from) / chunk);
  const tally = { primes: 0, computed: 0, hit: 0, waited: 0 };
  await store.publish(`progress:${task}`, { seq: 0, done: 0, total });
  for (let i = 0; i < total; i++) {
    const lo = from + i * chunk;
    const { count, how } = await cachedChunk(store, task, lo, Math.min(to, lo + chunk));
    tally.primes += count;
    tally[how]++;
    // Shared counters: exact whatever the interleaving, because incr is atomic in the actor.
    await store.incr(`count:chunks:${how}`);
    await store.incr('count:primes', count);
    await store.publish(`progress:${task}`, { seq: i + 1, done: i + 1, total });
  }
  return { task, ...tally, ms: Math.round(performance.now() - started), threadId };
}

/**
 * A hash chain in a tight synchronous loop, standing in for CPU-bound code that
 * cannot await (a sync callback, a third-party loop). store.sync blocks this
 * worker on Atomics.wait until the main thread answers; the main thread itself
 * is not blocked.
 */
export function hashChain({ task, rounds, every }) {
  const store = getStore();
  const started = performance.now();
  const seed = store.sync.get('config:hash-seed');
  let digest = Buffer.from(seed);
  for (let i = 1; i <= rounds; i++) {
    digest = createHash('sha256').update(digest).digest();
    if (i % every === 0) store.sync.incr('count:hashes', every);
  }
  if (rounds % every) store.sync.incr('count:hashes', rounds % every);
  const hex = digest.toString('hex');
  store.sync.set(`result:${task}`, hex);
  return { task, rounds, digest: hex, ms: Math.round(performance.now() - started), threadId };
}
