// One node process, standing in for one machine: its OWN store on the shared
// Redis (createStore + redisBackend, not store.fork), its own piscina pool. It
// only meets the other node through Redis. It reports what it saw to main.mjs
// over the IPC channel of plain child_process.fork.

import { createPool, createStore } from 'kvbus';
import { redisBackend } from 'kvbus/redis';
import { filter, firstValueFrom, take } from 'rxjs';

const [url, me, other, tasks, steps, every] = process.argv.slice(2);
const config = { tasks: Number(tasks), steps: Number(steps), every: Number(every) };
// main.mjs prints these with its own clock, so the two nodes' lines interleave readably.
const say = (text) => process.send({ type: 'log', node: me, text });

const store = createStore({ backend: redisBackend({ url }), namespace: 'example' });
const pool = createPool({ store, filename: new URL('./task.mjs', import.meta.url).href, minThreads: 2, maxThreads: 2 });

// What this node sees of the other one, and of every counter.
const seen = { events: 0, outOfOrder: 0, changes: {}, gaps: 0 };
const lastStep = new Map();
const lastValue = new Map();
const subscriptions = [
  store.channel(`events:${other}`).subscribe((event) => {
    if (event.type !== 'tick') return;
    seen.events++;
    // Each publisher's messages arrive in order: per task, steps only go up.
    if (event.step <= (lastStep.get(event.task) ?? 0)) seen.outOfOrder++;
    lastStep.set(event.task, event.step);
  }),
  // Every incr by any process on any machine, as a change event from Redis.
  store.changes('counter:*').subscribe(({ key, value }) => {
    seen.changes[key] = (seen.changes[key] ?? 0) + 1;
    // incr is atomic in Redis and change events leave in write order: each value is the previous + 1.
    if (value !== (lastValue.get(key) ?? 0) + 1) seen.gaps++;
    lastValue.set(key, value);
  }),
];
// The other node's goodbye: it sends it after every one of its writes and events.
const otherBye = firstValueFrom(
  store.channel(`events:${other}`).pipe(
    filter((e) => e.type === 'bye'),
    take(1),
  ),
);

// A start line through Redis itself: each node counts itself in, then waits for both.
// Our subscriptions above were commands issued before this incr, so they are live in
// Redis before the other node can see us ready and start writing.
const ready = await store.incr('barrier:ready');
say(`store on Redis and pool ready; ${ready === 1 ? 'waiting for the other node' : 'the other node is ready too'}`);
await firstValueFrom(store.watch('barrier:ready').pipe(filter((n) => n >= 2)));
say(`starting ${config.tasks} tasks`);

const started = performance.now();
const results = await Promise.all(
  Array.from({ length: config.tasks }, (_, task) => pool.run({ node: me, task, steps: config.steps, every: config.every })),
);
const ms = Math.round(performance.now() - started);
say(`tasks done in ${ms} ms; waiting for the other node to finish`);

// The finish line: once both nodes are done, each says goodbye. Redis delivers a
// connection's messages in publish order, so when the other's goodbye arrives,
// every event and change published before it has arrived too.
await store.incr('barrier:done');
await firstValueFrom(store.watch('barrier:done').pipe(filter((n) => n >= 2)));
await store.publish(`events:${me}`, { type: 'bye' });
await otherBye;

process.send({
  type: 'report',
  node: me,
  pid: process.pid,
  ms,
  threads: [...new Set(results.map((r) => r.threadId))].sort(),
  incrs: results.reduce((n, r) => n + r.incrs, 0),
  published: results.reduce((n, r) => n + r.events, 0),
  seen,
});

for (const subscription of subscriptions) subscription.unsubscribe();
await pool.destroy();
await store.close();
