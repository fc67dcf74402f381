// Piscina task file, run in a worker thread of one node process. getStore() is a
// client of THAT process's store, which lives on Redis: the writes and events
// below reach the other process (another "machine") through Redis.
import { createHash } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { getStore } from 'kvbus';

export default async function job({ node, task, steps, every }) {
  const store = getStore();
  let digest = `${node}:${task}`;
  for (let step = 1; step <= steps; step++) {
    // A little CPU per step, so the pool has something to do besides I/O.
    for (let i = 0; i < 100; i++) digest = createHash('sha256').update(digest).digest('hex');
    await store.incr('counter:total');
    await store.incr(`counter:${node}`);
    if (step % every === 0) await store.publish(`events:${node}`, { type: 'tick', task, step, threadId });
  }
  return { task, threadId, incrs: 2 * steps, events: Math.floor(steps / every) };
}
