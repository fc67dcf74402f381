// A watch is never stale: a key subscription whose buffer overflows skips to the
// key's latest value (conflation), whatever the overflow policy. With
// 'drop-newest' (or 'error') and no conflation, a slow watcher would stay on a
// value from the start of the burst for good.
import { Worker } from 'node:worker_threads';
import type { OverflowPolicy } from 'kvbus';
import { afterEach, describe, expect, it } from 'vitest';
import { fixtureUrl } from '../helpers/fixtures.js';
import { messageFrom } from '../helpers/processes.js';
import { Resources } from '../helpers/resources.js';
import { waitUntil } from '../helpers/wait.js';

const WATCHER = fixtureUrl('faults/watch-worker.mjs');
const WRITES = 50_000;

const res = new Resources();
afterEach(() => res.cleanup());

interface Last {
  last: unknown;
  events: number;
  ended: { code?: string; message?: string } | null;
}

describe('a watch that falls behind', () => {
  for (const overflow of ['drop-oldest', 'drop-newest', 'error'] as OverflowPolicy[]) {
    it(`ends on the key's latest value with overflow '${overflow}'`, async () => {
      const store = res.store({ subscriberBuffer: { size: 16, overflow } });
      await store.set('w', 0);
      const flags = new Int32Array(new SharedArrayBuffer(8));
      const worker = res.worker(new Worker(WATCHER, { workerData: { flags, key: 'w' } }));
      store.attach(worker);
      await messageFrom(worker, (m) => m?.type === 'blocking', 'the watcher to block');
      const before = await store.stats();

      await Promise.all(Array.from({ length: WRITES }, (_, i) => store.set('w', i + 1)));
      const stillBlocked = Atomics.load(flags, 0) === 1;
      Atomics.store(flags, 1, 1);
      expect(stillBlocked, 'the watcher was blocked while the values were written').toBe(true);

      let seen: Last | undefined;
      const ask = async () => {
        const answer = messageFrom<Last>(worker, (m) => m?.type === 'last', "the watcher's last value");
        worker.postMessage({ type: 'last' });
        seen = await answer;
        return seen.last === WRITES;
      };
      await waitUntil(ask, `the watcher to see ${WRITES}`, 8000, 50).catch((error) => {
        throw new Error(`${(error as Error).message}; last seen: ${JSON.stringify(seen)}`);
      });
      expect(seen!.ended).toBeNull();
      // It skipped most values (the buffer holds 16), and each value skipped was counted.
      expect(seen!.events).toBeLessThan(WRITES / 10);
      const after = await store.stats();
      expect(after.dropped - before.dropped).toBeGreaterThan(0);
      expect(after.dropped - before.dropped).toBeLessThanOrEqual(WRITES);
    });
  }
});
