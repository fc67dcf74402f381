// Question: what does the near cache (SPEC §7, issue #10) buy a worker, and what
// does it cost the store? A worker attached with `cache: { keys: 'c:*' }` reads
// in a loop (n reads per round, timed from the main thread around one message):
//   d. cached store.sync.get of a number vs the same uncached (a key outside the globs): target ≥ 50×
//   e. cached store.sync.get vs a worker-local Map.get: target ≥ 0.1×
//   f. cached awaited get vs uncached: target ≥ 20×
//   g. cached sync.get of a 5-field object vs structuredClone of it in the worker: target ≥ 0.67 (≤ 1.5× its time)
//   h. main-thread set throughput with 2 caching workers attached vs 2 workers without a cache: target ≥ 0.9×
//   i. comparison: lmdb-js get from a worker (its own shared-memory read) vs kvbus cached sync.get (no target)

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { createStore } from '../dist/index.js';
import { compare, figureRow, formatRate, summarize } from './lib.mjs';

const OBJ = { id: 7, name: 'config', enabled: true, ratio: 0.25, tags: 'a,b' };

function start(store, cache, extra = {}) {
  const worker = new Worker(new URL('./cache-thread.mjs', import.meta.url), { workerData: { obj: OBJ, ...extra } });
  store.attach(worker, cache ? { cache } : {});
  let pending;
  worker.on('message', (message) => pending?.(message));
  const ready = new Promise((resolve) => (pending = resolve));
  const call = (op) => (n) =>
    new Promise((resolve) => {
      pending = resolve;
      worker.postMessage({ op, n });
    });
  return { ready, call, close: () => worker.terminate() };
}

async function openLmdb() {
  try {
    const { open } = await import('lmdb');
    const path = mkdtempSync(join(tmpdir(), 'kvbus-lmdb-'));
    const db = open({ path });
    await db.put('c:num', 42);
    await db.close();
    return path;
  } catch {
    return undefined; // lmdb is a devDependency of the benches only
  }
}

/** @returns {Promise<object[]>} the rows of this bench */
export default async function run() {
  const store = createStore();
  await store.set('c:num', 42);
  await store.set('u:num', 42);
  await store.set('c:obj', OBJ);
  const lmdbPath = await openLmdb();
  const reader = start(store, { keys: 'c:*' }, { lmdbPath });
  await reader.ready;
  const rows = [];
  const row = (question, target, result) => rows.push({ question, unit: 'reads', target, pairs: result.pairs, clock: result.clock });

  row(
    'd. worker: cached sync.get (vs uncached)',
    50,
    await compare({ kvbus: reader.call('cachedSyncGet'), baseline: reader.call('uncachedSyncGet') }),
  );
  row(
    'e. worker: cached sync.get (vs worker-local Map.get)',
    0.1,
    await compare({ kvbus: reader.call('cachedSyncGet'), baseline: reader.call('mapGet') }),
  );
  row(
    'f. worker: cached await get (vs uncached)',
    20,
    await compare({ kvbus: reader.call('cachedGet'), baseline: reader.call('uncachedGet') }),
  );
  row(
    'g. worker: cached get of a 5-field object (vs structuredClone)',
    0.67,
    await compare({ kvbus: reader.call('cachedObject'), baseline: reader.call('cloneObject') }),
  );
  if (lmdbPath) {
    const lmdb = await compare({ kvbus: reader.call('lmdbGet'), baseline: reader.call('cachedSyncGet') });
    const { kvbus: lmdbRate, baseline: kvbusRate, ratio } = summarize(lmdb.pairs);
    rows.push(
      figureRow('i. comparison: lmdb-js get in a worker (vs kvbus cached sync.get)', {
        value: formatRate(lmdbRate, 'reads'),
        baseline: formatRate(kvbusRate, 'reads'),
        ratio: ratio.toFixed(2),
      }),
    );
  }
  await reader.close();

  // h. The store's cost: every write stamps the key's bucket while a caching worker exists.
  const cachedStore = createStore();
  const plainStore = createStore();
  const idle = [start(cachedStore, { keys: 'c:*' }), start(cachedStore, { keys: 'c:*' }), start(plainStore), start(plainStore)];
  await Promise.all(idle.map((w) => w.ready));
  // A first read from each worker: its connection is served, its cache on.
  await Promise.all(idle.map((w) => w.call('cachedSyncGet')(1)));
  const sets = (s) => async (n) => {
    let last;
    for (let i = 0; i < n; i++) last = s.set(`c:k${i & 1023}`, i);
    await last;
  };
  row(
    'h. main: set with 2 caching workers (vs 2 workers without)',
    0.9,
    await compare({ kvbus: sets(cachedStore), baseline: sets(plainStore), clock: 'cpu' }),
  );
  await Promise.all(idle.map((w) => w.close()));
  await Promise.all([store.close(), cachedStore.close(), plainStore.close()]);
  if (lmdbPath) rmSync(lmdbPath, { recursive: true, force: true });
  return rows;
}
