// Pool tasks for test/integration/feeds-workers.test.ts: writers that run concurrently with a follower.
import { getStore } from 'kvbus';

/** Sets, increments and deletes keys `${prefix}0..keys-1`, `count` times. */
export default async function write({ prefix, count, keys }) {
  const store = getStore();
  for (let i = 0; i < count; i++) {
    const key = `${prefix}${i % keys}`;
    if (i % 5 === 4) await store.delete(key);
    else if (i % 5 === 3) await store.incr(`${prefix}n`);
    else await store.set(key, { i, by: prefix });
  }
  return count;
}
