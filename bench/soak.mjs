// Soak: does one store hold up under minutes of mixed load from every kind of
// client, without losing a count or growing its heap? Not a ratio to a
// baseline: absolute figures, and one check that must hold.
//
// For each backend (memory, then Redis on a private redis-server when there is
// one), ONE main-thread store serves 2 piscina workers (createPool) and 2 forked
// children (store.fork), each running bench/workers/soak-load.mjs: 4 calls in
// flight (lanes), a mix of get/set/incr/publish/update/watch on keys all clients
// share and keys of their own (the mix and its reasons are in soak-load.mjs),
// for KVBUS_SOAK_SECONDS (default 60) from one start signal.
//
// Reported per backend:
//   - calls per second, all clients together (calls settled ÷ the run's wall time);
//   - p50 and p99 latency of one call, timed in the clients and merged (a
//     log-linear histogram, 4.4 % buckets), with 4 calls in flight per client;
//   - heap used in the main process (after gc) once every client is connected
//     and ready, and again after the load, with every client still connected;
//   - the check: for every counter, the value in the store equals the sum of the
//     incr calls the clients saw acknowledged, and likewise for every document
//     written with update. A mismatch, or any call that failed, prints FAIL and
//     makes this bench (and npm run bench) exit non-zero.
// run.mjs runs this bench once, not in passes: it takes 2 × KVBUS_SOAK_SECONDS
// plus a few seconds of start-up.

import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { createPool, createStore } from '../dist/index.js';
import { redisBackend } from '../dist/redis.js';
import { findRedisServer } from '../tools/redis-server.mjs';
import { figureRow, formatMB, formatRate, startRedisServer } from './lib.mjs';
import { printNotes } from './workers/measure.mjs';
import { histogramPercentile, keysOf } from './workers/soak-load.mjs';

const CLIENTS = [
  { client: 'worker-1', kind: 'worker', seed: 1 },
  { client: 'worker-2', kind: 'worker', seed: 2 },
  { client: 'child-1', kind: 'child', seed: 3 },
  { client: 'child-2', kind: 'child', seed: 4 },
];
/** How long the clients may take to connect, and to finish after the deadline. */
const GRACE_MS = 60_000;

const gc = typeof globalThis.gc === 'function' ? globalThis.gc : undefined;

/**
 * The soak's length in seconds, from KVBUS_SOAK_SECONDS.
 * @returns {number} seconds per backend
 */
function soakSeconds() {
  const raw = process.env.KVBUS_SOAK_SECONDS;
  if (raw === undefined || raw === '') return 60;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new Error(`Expected KVBUS_SOAK_SECONDS to be a positive number of seconds, got ${JSON.stringify(raw)}`);
  }
  return seconds;
}

/** @returns {Promise<object[]>} the rows of this bench */
export default async function run() {
  if (!gc) throw new Error('The soak measures the heap after global.gc(): run it with node --expose-gc (run.mjs does)');
  const seconds = soakSeconds();
  const results = [await soak('memory', () => createStore({ namespace: 'soak' }), seconds)];

  const binary = findRedisServer();
  if (binary) {
    const server = await startRedisServer(binary);
    try {
      results.push(await soak('redis', () => createStore({ backend: redisBackend({ url: server.url }), namespace: 'soak' }), seconds));
    } finally {
      await server.stop();
    }
  } else {
    printNotes(['soak redis SKIPPED: no redis-server (apt-get install redis-server, or set KVBUS_REDIS_SERVER to the binary)']);
  }

  printNotes(results.flatMap((r) => r.notes));
  const failures = results.flatMap((r) => r.failures.map((f) => `soak ${r.name}: ${f}`));
  if (failures.length > 0) {
    console.error(`\n${'!'.repeat(72)}\nSOAK FAIL\n${failures.map((f) => `  FAIL ${f}`).join('\n')}\n${'!'.repeat(72)}`);
    process.exitCode = 1;
  }
  return results.flatMap((r) => r.rows);
}

/**
 * One soak on one backend.
 * @param {string} name - the backend's name, for the rows
 * @param {() => import('../dist/index.js').MainStore} makeStore - creates the store
 * @param {number} seconds - how long the load runs
 * @returns {Promise<{ name: string, rows: object[], notes: string[], failures: string[] }>}
 */
async function soak(name, makeStore, seconds) {
  const store = makeStore();
  await store.ready();
  await store.clear();
  // Every key exists before the heap is first measured, so growth means a leak, not data.
  const seeded = new Set(CLIENTS.flatMap(({ client }) => [...keysOf(client).hot, ...keysOf(client).own]));
  await Promise.all([...seeded].map((key, i) => store.set(key, i)));

  const ready = new Promise((resolve) => {
    const subscription = store.watch('soak:ready').subscribe((n) => n === CLIENTS.length && (subscription?.unsubscribe(), resolve()));
  });
  const pool = createPool({
    store,
    filename: new URL('./workers/soak-task.mjs', import.meta.url).href,
    minThreads: 2,
    maxThreads: 2,
  });
  const children = [];
  const reports = CLIENTS.map(({ client, kind, seed }) => {
    if (kind === 'worker') return pool.run({ client, seed });
    const child = store.fork(new URL('./workers/soak-child.mjs', import.meta.url), [client, String(seed)]);
    children.push(child);
    return childReport(child, client);
  });
  const failed = Promise.race(reports.map((report) => report.then(() => new Promise(() => {}))));
  failed.catch(() => {});
  for (const report of reports) report.catch(() => {});

  try {
    await withTimeout(Promise.race([ready, failed]), GRACE_MS, 'the clients did not all connect');
    const statsStart = await store.stats();
    const heapStart = heapUsed();

    const t0 = performance.now();
    await store.set('soak:go', { until: Date.now() + seconds * 1000 });
    const done = await withTimeout(Promise.all(reports), seconds * 1000 + GRACE_MS, 'the clients did not finish');
    const wallMs = performance.now() - t0;

    const heapEnd = heapUsed();
    const statsEnd = await store.stats();
    const check = await checkTotals(store, done);
    return summarize({ name, seconds, done, wallMs, heapStart, heapEnd, statsStart, statsEnd, check });
  } finally {
    // With a callback, a send to a child that already died is an error passed to it, not a throw.
    for (const child of children) if (child.connected) child.send({ soakExit: true }, () => {});
    await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? once(child, 'exit') : undefined)));
    await pool.destroy();
    await store.close();
  }
}

/** Resolves to the report a soak child sends up its IPC channel; rejects if it exits first. */
function childReport(child, client) {
  return new Promise((resolve, reject) => {
    child.on('message', (message) => {
      if (message?.soakReport) resolve(message.soakReport);
      else if (message?.soakError) reject(new Error(`soak ${client}: ${message.soakError}`));
    });
    child.once('exit', (code, signal) => reject(new Error(`soak ${client} exited with ${signal ?? `code ${code}`} before reporting`)));
  });
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function heapUsed() {
  // Twice: the first collection can leave garbage that only a second one frees (weak refs, finalizers).
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/**
 * Compares every counter and update-written document in the store with the sum of
 * the acknowledged calls the clients counted.
 * @returns {Promise<{ keys: number, increments: number, updates: number, mismatches: string[] }>}
 */
async function checkTotals(store, reports) {
  const expected = { incr: new Map(), update: new Map() };
  for (const { client } of CLIENTS) {
    const keys = keysOf(client);
    for (const key of [...keys.hotCounters, keys.ownCounter]) expected.incr.set(key, 0);
    for (const key of [...keys.hotDocs, keys.ownDoc]) expected.update.set(key, 0);
  }
  for (const report of reports) {
    for (const [key, n] of Object.entries(report.incrs)) expected.incr.set(key, (expected.incr.get(key) ?? 0) + n);
    for (const [key, n] of Object.entries(report.updates)) expected.update.set(key, (expected.update.get(key) ?? 0) + n);
  }
  const mismatches = [];
  let increments = 0;
  let updates = 0;
  for (const [key, want] of expected.incr) {
    const got = (await store.get(key)) ?? 0;
    increments += want;
    if (got !== want) mismatches.push(`${key}: store ${got}, clients counted ${want}`);
  }
  for (const [key, want] of expected.update) {
    const got = (await store.get(key))?.n ?? 0;
    updates += want;
    if (got !== want) mismatches.push(`${key}: store n = ${got}, clients counted ${want} updates`);
  }
  return { keys: expected.incr.size + expected.update.size, increments, updates, mismatches };
}

function summarize({ name, seconds, done, wallMs, heapStart, heapEnd, statsStart, statsEnd, check }) {
  const histogram = done[0].histogram.map((_, i) => done.reduce((sum, r) => sum + r.histogram[i], 0));
  const calls = {};
  const errors = {};
  for (const report of done) {
    for (const [op, n] of Object.entries(report.calls)) calls[op] = (calls[op] ?? 0) + n;
    for (const [what, n] of Object.entries(report.errors)) errors[what] = (errors[what] ?? 0) + n;
  }
  const settled = Object.values(calls).reduce((a, b) => a + b, 0);
  const failedCalls = Object.values(errors).reduce((a, b) => a + b, 0);
  const p50 = histogramPercentile(histogram, 0.5);
  const p99 = histogramPercentile(histogram, 0.99);
  const received = done.reduce((sum, r) => sum + r.received, 0);

  const failures = [...check.mismatches];
  if (failedCalls > 0) failures.push(`${failedCalls} calls failed: ${JSON.stringify(errors)}`);
  const exact = check.mismatches.length === 0;

  const label = `soak ${name} (2 workers + 2 children, 4 in flight each, ${seconds} s)`;
  const rows = [
    figureRow(`${label}: calls/s`, { value: formatRate((settled * 1000) / wallMs, 'calls') }),
    figureRow(`soak ${name}: call latency p50 / p99`, { value: `${micros(p50)} / ${micros(p99)}` }),
    figureRow(`soak ${name}: main heap used start → end (after gc)`, {
      value: `${formatMB(heapStart)} → ${formatMB(heapEnd)}`,
      ratio: `${heapEnd >= heapStart ? '+' : ''}${formatMB(heapEnd - heapStart)}`,
    }),
    figureRow(`soak ${name}: incr and update totals exact`, {
      value: exact ? 'yes' : 'NO',
      baseline: `${check.increments} incr, ${check.updates} update on ${check.keys} keys`,
      target: 'exact, no failed call',
      verdict: failures.length === 0 ? 'PASS' : 'FAIL',
    }),
  ];
  const notes = [
    `soak ${name}: ${settled} calls in ${(wallMs / 1000).toFixed(1)} s (${Object.entries(calls)
      .map(([op, n]) => `${op} ${n}`)
      .join(', ')}), ${failedCalls} failed; ${received} bus deliveries; ` +
      `stats: clients ${statsStart.clients} → ${statsEnd.clients}, subscriptions ${statsStart.subscriptions} → ${statsEnd.subscriptions}, ` +
      `dropped ${statsEnd.dropped - statsStart.dropped}, malformed ${statsEnd.malformed}, queueDepth ${statsEnd.queueDepth}`,
  ];
  return { name, rows, notes, failures };
}

function micros(us) {
  return us >= 1000 ? `${(us / 1000).toPrecision(3)} ms` : `${us.toPrecision(3)} µs`;
}
