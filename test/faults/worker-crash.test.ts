// A pool worker killed in the middle of a store.sync call and in the middle of a
// batch of 1 000 async calls (process.exit, an uncaught throw, worker.terminate),
// while another worker of the same pool runs an exact incr job. The store survives;
// the dead worker's subscriptions and pending work are dropped; every increment
// acknowledged to it is in the store; the other worker's total is exact; piscina
// replaces the dead worker and the new one works.
// (test/integration/pool.test.ts covers a worker that exits or is terminated while idle.)
import type { Worker } from 'node:worker_threads';
import { createPool, type MainStore, type PeerEvent } from 'kvbus';
import { afterEach, describe, expect, it } from 'vitest';
import { fixtureUrl } from '../helpers/fixtures.js';
import { flagRaised } from '../helpers/processes.js';
import { Resources } from '../helpers/resources.js';
import { sleep, waitForStats, waitUntil } from '../helpers/wait.js';

const TASKS = fixtureUrl('faults/crash-tasks.mjs').href;
// Flag slots, as in test/fixtures/faults/crash-tasks.mjs.
const STOP = 0;
const STEADY = 1;
const READY = 2;
const SENT = 3;
const ACKS = 4;
const POSTED = 5;
const GO = 6;
/** The crasher's load before the burst (5 ticks of 200), and the burst it dies right after posting. */
const LOAD = 1_000;
const BURST = 1_000;

const res = new Resources();
afterEach(() => res.cleanup());

/** peers() (which first replays the connected peers as joins), and how many peers that leaves connected. */
function trackPeers(store: MainStore): { events: PeerEvent[]; connected: () => number } {
  const events: PeerEvent[] = [];
  store.peers().subscribe((e) => events.push(e));
  return { events, connected: () => events.filter((e) => e.type === 'join').length - events.filter((e) => e.type === 'exit').length };
}

type How = 'exit' | 'throw' | 'terminate';

async function crashMidLoad(task: 'burst' | 'syncLoop', how: How) {
  const store = res.store();
  const pool = res.pool(createPool({ store, filename: TASKS, minThreads: 2, maxThreads: 2 }));
  const peers = trackPeers(store);
  // Both threads up and connected before the baseline.
  await Promise.all([0, 1].map(() => pool.run({ key: 'warm', times: 1 }, { name: 'incrTimes' })));
  await waitUntil(() => pool.threads.length === 2, 'both threads');
  const baseline = await waitForStats(store, (s) => s.clients === 2, 'both workers to connect');
  expect(baseline.subscriptions).toBe(0);

  const flags = new Int32Array(new SharedArrayBuffer(64));
  // The other worker: one incr at a time, from before the fault until after it.
  const steady = pool.run({ flags: flags.buffer, key: 'steady' }, { name: 'steady' });
  steady.catch(() => {}); // awaited below; teardown may end it if the test fails first
  await waitUntil(() => Atomics.load(flags, STEADY) > 50, 'the steady worker to make progress');
  // The crasher lands on the other thread: each thread runs one task at a time.
  const crasher = pool.run({ flags: flags.buffer, key: 'crashed', n: BURST, how }, { name: task });
  const crasherOutcome = crasher.then(
    (value) => ({ ok: true, value }),
    (error: Error) => ({ ok: false, error }),
  );
  await flagRaised(flags, READY, 'the crasher to subscribe');
  const crasherThread = Atomics.load(flags, READY) - 1;
  const during = await store.stats();
  expect(during.subscriptions).toBe(baseline.subscriptions + 4);
  Atomics.store(flags, GO, 1);
  Atomics.notify(flags, GO);

  if (task === 'syncLoop') {
    // Let it run, then terminate it: it is almost always blocked inside a sync call.
    await waitUntil(() => Atomics.load(flags, ACKS) >= 200, 'some acknowledged sync increments');
  } else {
    await flagRaised(flags, POSTED, 'the burst to be posted');
  }
  if (how === 'terminate') {
    const thread = (pool.threads as Worker[]).find((t) => t.threadId === crasherThread);
    expect(thread, 'the crasher thread').toBeDefined();
    await thread!.terminate();
  }
  const outcome = await crasherOutcome;
  expect(outcome.ok, 'the crashed task must not resolve').toBe(false);

  // The exit is reported, and the dead worker leaves nothing behind.
  await waitUntil(() => peers.events.some((e) => e.type === 'exit'), 'peers() to report the exit');
  const exits = peers.events.filter((e) => e.type === 'exit');
  expect(exits).toHaveLength(1);
  expect(exits[0]).toMatchObject({ kind: 'worker', exitCode: how === 'exit' ? 7 : 1 });
  await waitForStats(
    store,
    (s) => s.subscriptions === baseline.subscriptions && s.queueDepth === 0 && s.clients === peers.connected(),
    `the dead worker to leave no subscription, pending work or client behind (peers: ${JSON.stringify(peers.events)})`,
  );

  // No acknowledged increment lost, none made up.
  const sent = Atomics.load(flags, SENT);
  const acked = Atomics.load(flags, ACKS);
  const value = ((await store.get('crashed')) as number | undefined) ?? 0;
  console.info(`[worker crash, ${task}/${how}] sent ${sent}, acknowledged ${acked}, in the store ${value}`);
  expect(value).toBeGreaterThanOrEqual(acked);
  expect(value).toBeLessThanOrEqual(sent);
  await sleep(50);
  expect((await store.get('crashed')) ?? 0, 'nothing of the dead worker arrives later').toBe(value);

  // The other worker kept going through the fault, and its total is exact.
  const seenAtCrash = Atomics.load(flags, STEADY);
  await waitUntil(() => Atomics.load(flags, STEADY) > seenAtCrash + 50, 'the steady worker to go on after the crash');
  Atomics.store(flags, STOP, 1);
  const steadyCount = (await steady) as number;
  expect(await store.get('steady')).toBe(steadyCount);

  // piscina replaces the dead worker; the new one connects and works, exactly.
  await waitUntil(() => pool.threads.length === 2, 'piscina to replace the dead worker');
  const threads = await Promise.all([0, 1, 2, 3].map(() => pool.run({ key: 'after', times: 250 }, { name: 'incrTimes' })));
  expect(await store.get('after')).toBe(1_000);
  expect(new Set(threads).size, 'tasks after the crash ran on both threads').toBe(2);
  expect(threads).not.toContain(crasherThread);
  const final = await waitForStats(store, (s) => s.clients === 2 && s.clients === peers.connected(), 'two connected workers');
  expect(final.subscriptions).toBe(baseline.subscriptions);
  expect(final.queueDepth).toBe(0);
  return { sent, acked, value };
}

describe('a pool worker killed mid-load', () => {
  it('terminated while blocked in store.sync.incr: no acknowledged increment lost, nothing left behind, the others unaffected', async () => {
    const { sent, acked, value } = await crashMidLoad('syncLoop', 'terminate');
    expect(acked).toBeGreaterThanOrEqual(200);
    // At most the one call it was blocked in is applied without having been acknowledged.
    expect(sent - acked).toBeLessThanOrEqual(1);
    expect(value - acked).toBeLessThanOrEqual(1);
  });

  for (const how of ['exit', 'throw', 'terminate'] as const) {
    it(`killed (${how}) under load, right after posting 1 000 incr in one tick: acknowledged ≤ value ≤ sent, nothing left behind, the others unaffected`, async () => {
      const { sent } = await crashMidLoad('burst', how);
      expect(sent).toBe(LOAD + BURST);
    });
  }
});
