// Piscina task file: one job, in a worker thread. It reports through the
// main thread's store: a job:<id> key (state and progress) and progress:<id> messages.
import { threadId } from 'node:worker_threads';
import { getStore } from 'kvbus';

export default async function job({ id, steps }) {
  const store = getStore();
  let sum = 0;
  for (let step = 1; step <= steps; step++) {
    for (let i = 0; i < 200_000; i++) sum = (sum + i * step) % 1_000_003;
    await store.set(`job:${id}`, { state: 'running', step, of: steps, threadId, updated: new Date() });
    await store.publish(`progress:${id}`, { step, of: steps });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await store.set(`job:${id}`, { state: 'done', sum, threadId, updated: new Date() }, { ttlMs: 60_000 });
  return { id, sum };
}
