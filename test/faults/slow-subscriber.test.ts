// A slow subscriber (a worker, then a child) blocked while the main thread
// publishes 100 000 messages as fast as it can, with the default subscriberBuffer
// (10 000, drop-oldest): the main process's heap stays bounded, the drops are
// counted, publishing takes about as long as with no subscriber, the subscriber
// then receives what drop-oldest promises (the newest messages, the last one
// included), another worker's exact incr job goes on throughout, and stats() is
// back to its baseline once the subscriber is gone.
// (test/integration/backpressure.test.ts covers each overflow policy with 5 000 messages.)
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { createPool, type MainStore } from 'kvbus';
import { afterEach, describe, expect, it } from 'vitest';
import { fixturePath, fixtureUrl } from '../helpers/fixtures.js';
import { messageFrom } from '../helpers/processes.js';
import { Resources } from '../helpers/resources.js';
import { waitForStats, waitUntil } from '../helpers/wait.js';

const COUNT = 100_000;
const BUFFER = 10_000; // the default subscriberBuffer.size
const PAD = 200;
// Flag slots of test/fixtures/faults/crash-tasks.mjs's steady task.
const STOP = 0;
const STEADY = 1;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const res = new Resources();
const markers: string[] = [];
afterEach(async () => {
  await res.cleanup();
  for (const marker of markers.splice(0)) rmSync(marker, { force: true });
});

/** A message: its number, and 200 characters of its own (not shared with any other message). */
const message = (i: number) => ({ i, pad: String(i).padStart(PAD, 'x') });

/** Publishes 1..COUNT to `channel` in bursts of 1 000 (each awaited); returns the milliseconds it took. */
async function publishAll(store: MainStore, channel: string): Promise<number> {
  const start = performance.now();
  for (let i = 1; i <= COUNT; i += 1_000) {
    const burst: Array<Promise<number>> = [];
    for (let j = i; j < i + 1_000; j++) burst.push(store.publish(channel, message(j)));
    await Promise.all(burst);
  }
  return performance.now() - start;
}

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** The heap that COUNT such messages take when they are all kept (what an unbounded buffer would hold). */
function heapOfAllMessages(): number {
  const before = heapAfterGc();
  const kept = Array.from({ length: COUNT }, (_, i) => message(i + 1));
  const after = heapAfterGc();
  expect(kept).toHaveLength(COUNT);
  return after - before;
}

interface SlowResult {
  received: number[];
  ended: unknown;
  blockedUntilReleased: boolean;
}

/** The slow subscriber of each kind: started (subscribed and blocked), released, ended. */
interface Slow {
  report: Promise<SlowResult>;
  release(): void;
  stillBlocked(): boolean;
  end(): Promise<unknown>;
}

async function slowWorker(store: MainStore): Promise<Slow> {
  const flags = new Int32Array(new SharedArrayBuffer(8));
  const worker = res.worker(new Worker(fixtureUrl('faults/slow-worker.mjs'), { workerData: { flags, channel: 'flood' } }));
  store.attach(worker);
  await messageFrom(worker, (m) => m?.type === 'blocking', 'the worker to subscribe and block');
  return {
    report: messageFrom<SlowResult>(worker, (m) => m?.type === 'result', 'the worker to report', 20_000),
    release: () => Atomics.store(flags, 1, 1),
    stillBlocked: () => Atomics.load(flags, 0) === 1,
    end: () => worker.terminate(),
  };
}

async function slowChild(store: MainStore): Promise<Slow> {
  const marker = join(tmpdir(), `kvbus-slow-${process.pid}-${Date.now()}`);
  markers.push(marker);
  const child = res.child(store.fork(fixturePath('faults/slow-child.mjs'), [marker, 'flood']));
  await messageFrom(child, (m) => m?.type === 'blocking', 'the child to subscribe and block');
  let released = false;
  return {
    report: messageFrom<SlowResult>(child, (m) => m?.type === 'result', 'the child to report', 20_000),
    release: () => {
      released = true;
      writeFileSync(marker, 'go');
    },
    // The child only stops blocking when released (or after 8 s, which it reports).
    stillBlocked: () => !released,
    end: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

describe('a slow subscriber under 100 000 messages', () => {
  for (const [kind, start] of [
    ['worker', slowWorker],
    ['child', slowChild],
  ] as const) {
    it(`(${kind}): bounded heap, drops counted, the publisher never blocked, the newest messages kept, others unaffected`, async () => {
      const store = res.store();
      const pool = res.pool(createPool({ store, filename: fixtureUrl('faults/crash-tasks.mjs').href, minThreads: 1, maxThreads: 1 }));
      const flags = new Int32Array(new SharedArrayBuffer(64));
      const steady = pool.run({ flags: flags.buffer, key: 'steady' }, { name: 'steady' });
      steady.catch(() => {});
      await waitUntil(() => Atomics.load(flags, STEADY) > 20, 'the steady worker to make progress');

      // With no subscriber: the time to beat, and the heap all the messages would take.
      const alone = await publishAll(store, 'nobody');
      const allMessages = heapOfAllMessages();
      const baseline = await store.stats();

      const slow = await start(store);
      const heapBefore = heapAfterGc();
      const steadyBefore = Atomics.load(flags, STEADY);
      const flooded = await publishAll(store, 'flood');
      // Every publish resolved while the subscriber was still blocked: publishers never wait for readers.
      expect(slow.stillBlocked()).toBe(true);
      const growth = heapAfterGc() - heapBefore;
      const during = await store.stats();
      slow.release();
      const result = await slow.report;
      expect(result.blockedUntilReleased, 'the subscriber stayed blocked until released').toBe(true);
      console.info(
        `[slow subscriber, ${kind}] publish 100 000: ${alone.toFixed(0)} ms alone, ${flooded.toFixed(0)} ms with it; ` +
          `heap growth ${(growth / 1e6).toFixed(1)} MB (all messages: ${(allMessages / 1e6).toFixed(1)} MB); ` +
          `received ${result.received.length}, dropped ${during.dropped - baseline.dropped}`,
      );

      // At most the buffer's worth of messages stays in the heap: a tenth of them
      // (10 000 of 100 000), plus slack for the loaded machine's garbage; far below all of them.
      expect(growth).toBeLessThan(allMessages / 4);
      // About as fast as with nobody listening (generous: the machine is shared). A publisher
      // that waited for this reader would take the reader's whole 8 s block.
      expect(flooded).toBeLessThan(alone * 5 + 2_000);

      // drop-oldest: what was already sent, then the newest ones, contiguous up to the last one.
      const { received } = result;
      expect(result.ended).toBeNull();
      expect(received.length).toBeGreaterThan(0);
      expect(received.length).toBeLessThanOrEqual(BUFFER);
      for (let i = 1; i < received.length; i++) expect(received[i]!).toBeGreaterThan(received[i - 1]!);
      expect(received.at(-1)).toBe(COUNT);
      let tail = received.length - 1;
      while (tail > 0 && received[tail - 1] === received[tail]! - 1) tail--;
      expect(received.length - tail, 'the newest messages, contiguous').toBeGreaterThanOrEqual(BUFFER / 2);
      // Every message was either received or counted as dropped.
      const stats = await store.stats();
      expect(stats.dropped - baseline.dropped).toBe(COUNT - received.length);

      // The other worker worked throughout, and its total is exact.
      expect(Atomics.load(flags, STEADY)).toBeGreaterThan(steadyBefore);
      Atomics.store(flags, STOP, 1);
      const steadyCount = await steady;
      expect(await store.get('steady')).toBe(steadyCount);

      // Gone: back to the baseline.
      await slow.end();
      await waitForStats(
        store,
        (s) => s.clients === baseline.clients && s.subscriptions === baseline.subscriptions && s.queueDepth === 0,
        'the subscriber to leave nothing behind',
      );
      expect(await store.publish('flood', message(0))).toBe(0);
    });
  }
});
