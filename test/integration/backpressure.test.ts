import { Worker } from 'node:worker_threads';
import { createPool, type OverflowPolicy } from 'kvbus';
import { afterEach, describe, expect, it } from 'vitest';
import { fixtureUrl } from '../helpers/fixtures.js';
import { messageFrom } from '../helpers/processes.js';
import { Resources } from '../helpers/resources.js';
import { nextValue, waitForStats } from '../helpers/wait.js';

const SLOW = fixtureUrl('backpressure-worker.mjs');
const TASKS = fixtureUrl('pool-tasks.mjs').href;
const SIZE = 100;
const COUNT = 5000;

const res = new Resources();
afterEach(() => res.cleanup());

interface SlowResult {
  received: number[];
  ended: { kind: 'error' | 'complete'; code?: string; message?: string } | null;
  rounds: number;
}

/**
 * Starts a worker that subscribes to 'flood' and then blocks its event loop;
 * publishes 1..COUNT from this thread (in one burst, or awaiting each one);
 * checks that every publish resolved while the worker was still blocked; then
 * lets the worker run and returns what it received.
 */
async function flood(overflow: OverflowPolicy, publisher: 'burst' | 'awaited') {
  const store = res.store({ subscriberBuffer: { size: SIZE, overflow } });
  const flags = new Int32Array(new SharedArrayBuffer(8));
  const worker = res.worker(new Worker(SLOW, { workerData: { flags, channel: 'flood' } }));
  store.attach(worker);
  await messageFrom(worker, (m) => m?.type === 'blocking', 'the subscriber to block');
  const subscribed = await store.stats();
  const report = messageFrom<SlowResult>(worker, (m) => m?.type === 'result', 'the subscriber to report');

  const receivers: number[] = [];
  if (publisher === 'burst') {
    receivers.push(...(await Promise.all(Array.from({ length: COUNT }, (_, i) => store.publish('flood', i + 1)))));
  } else {
    for (let i = 1; i <= COUNT; i++) receivers.push(await store.publish('flood', i));
  }
  // Every publish resolved while the subscriber was still blocked: publishers never wait for readers.
  const stillBlocked = Atomics.load(flags, 0) === 1;
  Atomics.store(flags, 1, 1);
  expect(stillBlocked).toBe(true);
  expect(receivers).toHaveLength(COUNT);

  const result = await report;
  return { store, worker, result, subscribed, receivers };
}

function expectAscending(values: number[]): void {
  for (let i = 1; i < values.length; i++) expect(values[i]!).toBeGreaterThan(values[i - 1]!);
}

describe('slow subscribers cannot sink the store', () => {
  for (const publisher of ['burst', 'awaited'] as const) {
    it(`drop-oldest keeps the newest messages, the last one included (publisher: ${publisher})`, async () => {
      const { store, result, receivers } = await flood('drop-oldest', publisher);
      expect(result.ended).toBeNull();
      expect(receivers[0]).toBe(1); // the subscriber counted as a receiver, even though it was behind
      expect(result.received.length).toBeGreaterThan(0);
      expect(result.received.length).toBeLessThanOrEqual(2 * SIZE);
      expectAscending(result.received);
      expect(result.received.at(-1)).toBe(COUNT);
      const stats = await store.stats();
      expect(stats.dropped).toBeGreaterThanOrEqual(COUNT - 2 * SIZE);
      expect(stats.dropped + result.received.length).toBe(COUNT);
      // Still subscribed: the next message arrives.
      expect(stats.subscriptions).toBe(1);
    });
  }

  for (const publisher of ['burst', 'awaited'] as const) {
    it(`drop-newest keeps the first messages (publisher: ${publisher})`, async () => {
      const { store, result } = await flood('drop-newest', publisher);
      expect(result.ended).toBeNull();
      expect(result.received.length).toBeGreaterThan(0);
      expect(result.received.length).toBeLessThanOrEqual(2 * SIZE);
      expect(result.received).toEqual(Array.from({ length: result.received.length }, (_, i) => i + 1));
      const stats = await store.stats();
      expect(stats.dropped).toBeGreaterThanOrEqual(COUNT - 2 * SIZE);
      expect(stats.dropped + result.received.length).toBe(COUNT);
    });
  }

  it("'error' ends the subscriber's observable with ERR_DISCONNECTED and drops its subscription", async () => {
    const { store, result, subscribed } = await flood('error', 'burst');
    expect(result.ended).toMatchObject({ kind: 'error', code: 'ERR_DISCONNECTED' });
    expect(result.ended!.message).toMatch(/subscriberBuffer|behind/);
    expect(result.received.length).toBeLessThanOrEqual(SIZE);
    expectAscending(result.received);
    await waitForStats(store, (s) => s.subscriptions === subscribed.subscriptions - 1, 'the ended subscription to be dropped');
    expect(await store.publish('flood', 'after')).toBe(0);
    // The worker itself stays connected and usable.
    expect((await store.stats()).clients).toBe(1);
  });

  it("'error' delivers the messages that fitted in the buffer before the error", async () => {
    const { result } = await flood('error', 'burst');
    expect(result.ended).toMatchObject({ kind: 'error', code: 'ERR_DISCONNECTED' });
    expect(result.received).toEqual(Array.from({ length: SIZE }, (_, i) => i + 1));
  });
});

describe('an idle piscina worker', () => {
  it('still receives published messages between tasks (createPool defaults)', async () => {
    const store = res.store();
    const pool = res.pool(createPool({ store, filename: TASKS, maxThreads: 1 }));
    expect(await pool.run({ channel: 'idle', counterKey: 'idle:sum' }, { name: 'listenForever' })).toBe('listening');
    // The task has returned: the worker is idle in the pool, its subscription lives on.
    expect(pool.threads).toHaveLength(1);
    const reached = nextValue(store.watch('idle:sum'), (v) => v === 1 + 2 + 3, 'the idle worker to count the messages');
    expect(await store.publish('idle', 1)).toBe(1);
    expect(await store.publish('idle', 2)).toBe(1);
    expect(await store.publish('idle', 3)).toBe(1);
    expect(await reached).toBe(6);
    expect(pool.queueSize).toBe(0);
    expect((await store.stats()).clients).toBe(1);
  });
});
