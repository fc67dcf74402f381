// Question: on a store of 1 000 000 keys, how long does each command hold the
// actor, that is the main thread, during which every other caller waits? Each
// command runs on the main-thread store while (a) perf_hooks'
// monitorEventLoopDelay records the main thread's longest stall, and (b) a
// worker attached to the store does small awaited gets in a loop and records
// its longest wait. Target: ≤ 100 ms for every command but a whole-store
// getAll, whose cost must be close to the copy itself: ≤ 1.5 × a
// structuredClone of a Map of the same entries (timed in alternation).
// Scans, TTL expiry of every key at once and the sweep of a million stale
// deadlines are in the table too; so are keys() and getAll() called from the
// worker, where the main thread also serializes the reply for postMessage.
//
//   node --expose-gc bench/actor-hold.mjs          standalone (ACTOR_HOLD_KEYS=200000 for a quick run)

import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { isMainThread, MessageChannel, Worker, workerData } from 'node:worker_threads';

const KEYS = Number(process.env.ACTOR_HOLD_KEYS ?? 1_000_000);
const HOLD_TARGET_MS = 100;
const CLONE_TARGET = 1.5;
const gc = typeof globalThis.gc === 'function' ? globalThis.gc : () => {};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const userValue = (i) => ({ id: i, name: `user ${i}` });

if (!isMainThread && workerData?.actorHold) await serveWorker(workerData.control);

/** @returns {Promise<object[]>} the rows of this bench */
export default async function run() {
  const { createStore } = await import('../dist/index.js');
  const store = createStore();
  fill(store, KEYS);
  const worker = await startWorker(store);
  // [label, main thread's longest stall, worker's longest get, exempt, via the worker]
  const holds = [];

  /** Runs `fn` (from the main thread, or via the worker), and records the longest stall it caused. */
  const measure = async (label, fn, { exempt = false, viaWorker = false } = {}) => {
    gc();
    await sleep(20);
    await worker.call('reset');
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    await sleep(5); // the histogram records from its first timer on
    await fn();
    await sleep(30); // the worker's get that waited behind the command completes
    loop.disable();
    const { max } = await worker.call('reset');
    holds.push([label, loop.max / 1e6, max, exempt, viaWorker]);
  };

  await measure('get / has / set', async () => {
    for (let i = 0; i < 1000; i++) {
      await store.get(`key:${i}`);
      await store.has(`key:${i}`);
      await store.set(`key:${i}`, userValue(i));
    }
  });
  await measure('keys() — every key', () => store.keys());
  await measure("keys('key:1*') — 11 %", () => store.keys('key:1*'));
  await measure("keys('key:99999*') — 11 keys", () => store.keys('key:99999*'));
  await measure("keys('key:5') — a literal", () => store.keys('key:5'));
  await measure("getAll('key:99999*') — 11 keys", () => store.getAll('key:99999*'));
  await measure("getAll('key:1*') — 11 %", () => store.getAll('key:1*'), { exempt: true });
  await measure('stats()', () => store.stats());
  await measure('scan() to the end, count 1000', async () => {
    let n = 0;
    for await (const _ of store.scan()) n++;
    if (n !== KEYS) throw new Error(`scan returned ${n} entries, expected ${KEYS}`);
  });
  await measure("scan('key:99999*') to the end", async () => {
    for await (const _ of store.scan('key:99999*'));
  });
  // Called from the worker, its own gets wait behind its own reply's decoding: only the main thread's stall counts.
  await measure('keys() called from the worker', () => worker.call('keys'), { viaWorker: true });
  await measure('getAll() called from the worker', () => worker.call('getAll'), { exempt: true, viaWorker: true });
  await measure('getAll() — the whole store', () => store.getAll(), { exempt: true });
  const clone = await cloneRatio(store);
  await measure('clear()', () => store.clear());

  // Every key expiring at one instant: the expiry queue removes them a slice per turn.
  const deadline = fillExpiring(store, KEYS);
  await measure(`TTL: ${KEYS} keys expiring at once`, async () => {
    await sleep(Math.max(0, deadline - Date.now()));
    while ((await store.stats()).keys > 0) await sleep(20);
  });

  // A million stale deadlines (every TTL re-set), swept once an expiry runs.
  fillStale(store, KEYS);
  await measure(`sweep of ${KEYS} stale TTL deadlines`, async () => {
    await store.set('trigger', 1, { ttlMs: 1 });
    await sleep(1000);
  });

  await worker.close();
  await store.close();

  const counted = holds.filter(([, , , exempt]) => !exempt);
  const longest = Math.max(...counted.map(([, main, get, , viaWorker]) => (viaWorker ? main : Math.max(main, get))));
  printHolds(holds, clone, longest);
  return [
    {
      question: `h. actor hold: longest of any command on ${KEYS / 1e6} M keys but getAll, 1/ms (vs ${HOLD_TARGET_MS} ms)`,
      unit: 'holds',
      target: 1,
      pairs: [[1000 / longest, 1000 / HOLD_TARGET_MS]],
      clock: 'wall',
    },
    {
      question: `i. getAll() of ${KEYS / 1e6} M keys, 1/time (vs structuredClone of the same Map)`,
      unit: 'copies',
      target: 1 / CLONE_TARGET,
      pairs: clone.pairs,
      clock: 'wall',
    },
  ];
}

function fill(store, n) {
  for (let i = 0; i < n; i++) store.sync.set(`key:${i}`, userValue(i));
}

/** Sets `n` keys that all expire at one instant, after they are all set; returns that instant. */
function fillExpiring(store, n) {
  const started = performance.now();
  for (let i = 0; i < 10_000; i++) store.sync.set(`key:${i}`, userValue(i), { ttlMs: 60_000 });
  const estimate = ((performance.now() - started) / 10_000) * n;
  const deadline = Date.now() + 2 * estimate + 1_000;
  for (let i = 0; i < n; i++) store.sync.set(`key:${i}`, userValue(i), { ttlMs: deadline - Date.now() });
  return deadline;
}

function fillStale(store, n) {
  for (let i = 0; i < n; i++) store.sync.set(`key:${i}`, i, { ttlMs: 600_000 });
  for (let i = 0; i < n; i++) store.sync.set(`key:${i}`, i, { ttlMs: 600_000 + i });
}

/** getAll() against structuredClone of a Map of the same entries, in alternation. */
async function cloneRatio(store) {
  const same = await store.getAll();
  const pairs = [];
  for (let round = 0; round < 3; round++) {
    gc();
    let t0 = performance.now();
    await store.getAll();
    const getAll = performance.now() - t0;
    gc();
    t0 = performance.now();
    structuredClone(same);
    const clone = performance.now() - t0;
    pairs.push([1000 / getAll, 1000 / clone]);
  }
  return { pairs };
}

function printHolds(holds, clone, longest) {
  const lines = holds.map(
    ([label, main, get, exempt]) =>
      `${label.padEnd(44)} main thread ${main.toFixed(0).padStart(5)} ms · worker's get ${get.toFixed(0).padStart(5)} ms${exempt ? '  (a copy of its result: exempt)' : ''}`,
  );
  const ratios = clone.pairs.map(([a, b]) => b / a);
  lines.push(
    `getAll() ÷ structuredClone of the same Map: ${ratios.map((r) => r.toFixed(2)).join(', ')} (target ≤ ${CLONE_TARGET})`,
    `longest hold of the others: ${longest.toFixed(0)} ms (target ≤ ${HOLD_TARGET_MS} ms, on this machine's load)`,
  );
  process.stdout.write(`\n${lines.map((line) => `      ${line}`).join('\n')}\n${' '.repeat(37)}`);
}

/** Starts the worker (this file), attached to the store, and a control channel to it. */
async function startWorker(store) {
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL(import.meta.url), { workerData: { actorHold: true, control: port2 }, transferList: [port2] });
  store.attach(worker);
  let next = 0;
  const waiting = new Map();
  port1.on('message', ({ id, result }) => {
    waiting.get(id)?.(result);
    waiting.delete(id);
  });
  const call = (op) =>
    new Promise((resolve) => {
      waiting.set(++next, resolve);
      port1.postMessage({ id: next, op });
    });
  await call('ready');
  return {
    call,
    close: async () => {
      await call('stop');
      port1.close();
      await worker.terminate();
    },
  };
}

/** The worker: small awaited gets in a loop, recording the longest; keys() and getAll() on request. */
async function serveWorker(control) {
  const { getStore } = await import('../dist/index.js');
  const store = getStore();
  let max = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      await store.get('key:1');
      max = Math.max(max, performance.now() - t0);
    }
  })();
  control.on('message', async ({ id, op }) => {
    let result;
    if (op === 'reset') {
      result = { max };
      max = 0;
    } else if (op === 'keys') {
      result = (await store.keys()).length;
    } else if (op === 'getAll') {
      result = (await store.getAll()).size;
    } else if (op === 'stop') {
      running = false;
      await loop;
    }
    control.postMessage({ id, result });
  });
}

if (isMainThread && process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await run();
  for (const row of rows) {
    const ratios = row.pairs.map(([a, b]) => a / b);
    console.log(`${row.question}: ratio ${ratios.map((r) => r.toFixed(3)).join(', ')} (target ≥ ${row.target.toFixed(2)})`);
  }
}
