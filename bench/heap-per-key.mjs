// Question: how much heap does a memory store spend per key, next to a plain
// Map holding the same entries? 1 000 000 keys (`key:0` … `key:999999`), in two
// runs: small integers as values, then short objects `{ id, ok }`.
//
// Each side is measured in a fresh Node process (forked from here, with
// --expose-gc), so neither inherits the other's heap:
//   kvbus: createStore() (memory backend, copies on), filled with awaited
//          store.set calls, 1 000 in flight;
//   Map:   new Map(), filled with map.set.
// heap used = process.memoryUsage().heapUsed + arrayBuffers (memory outside the
// JS heap that typed arrays hold) after two global.gc() calls, once
// with the empty structure and once when full; per key = the difference ÷ the
// number of keys. Keys and values are made by the same code on both sides, and
// are counted on both (a real app has them too). ROUNDS processes per side,
// interleaved (kvbus, Map, kvbus, …); the median of each side is reported.
// One is enough: the figures moved by less than 0.1 B/key between processes
// and runs, and each process fills a million keys, so more rounds only
// lengthen npm run bench.
// Target: kvbus ≤ 1.5 × the Map.
//
// What a key costs on top of the Map's entry: the memory backend keeps a key's
// value in an array and its revision in a Float64Array (16 bytes, plus the
// arrays' growth room), its deadline only when it has one; a stored object is a
// structured clone, a little larger than a literal. (A `{ value, revision,
// expiresAt }` object per key cost 48 bytes more: 109.4 and 165.4 B/key, ×1.79
// and ×1.63.)

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { figureRow, median } from './lib.mjs';

const KEYS = 1_000_000;
const ROUNDS = 1;
const TARGET = 1.5;

/** The values, by kind: each run stores `makeValue(i)` under `key:${i}`. */
const VALUES = {
  'small integers': (i) => i,
  'short objects { id, ok }': (i) => ({ id: i, ok: true }),
};

if (process.argv[2] === '--side') {
  // In a measuring process: one side and one kind of value, reported to the parent.
  const makeValue = VALUES[process.argv[4]];
  const bytes = await (process.argv[3] === 'kvbus' ? kvbusSide(makeValue) : mapSide(makeValue));
  process.send({ bytes }, () => process.disconnect());
}

/** @returns {Promise<object[]>} the rows of this bench */
export default async function run() {
  const rows = [];
  for (const kind of Object.keys(VALUES)) {
    const sides = { kvbus: [], map: [] };
    for (let round = 0; round < ROUNDS; round++) {
      sides.kvbus.push(await measureIn('kvbus', kind));
      sides.map.push(await measureIn('map', kind));
    }
    const kvbus = median(sides.kvbus) / KEYS;
    const map = median(sides.map) / KEYS;
    const ratio = kvbus / map;
    const ratios = sides.kvbus.map((bytes, i) => bytes / sides.map[i]);
    rows.push(
      figureRow(`heap per key, 1 000 000 keys, ${kind} (vs a Map of the same entries)`, {
        value: `${kvbus.toFixed(1)} B/key`,
        baseline: `${map.toFixed(1)} B/key`,
        ratio: `${ratio.toFixed(3)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
        target: `≤ ${TARGET.toFixed(2)}`,
        verdict: ratio <= TARGET ? 'PASS' : 'MISS',
      }),
    );
  }
  return rows;
}

/** Runs one side in a fresh process; resolves to the heap its entries took, in bytes. */
function measureIn(side, kind) {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--side', side, kind], { execArgv: ['--expose-gc'] });
    let bytes;
    child.on('message', (message) => (bytes = message.bytes));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (bytes !== undefined) resolve(bytes);
      else reject(new Error(`heap-per-key ${side} exited with ${signal ?? `code ${code}`} before reporting`));
    });
  });
}

function heapUsed() {
  globalThis.gc();
  globalThis.gc();
  // ArrayBuffers live outside the JS heap: the store's revisions are a Float64Array, so they count too.
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

async function kvbusSide(makeValue) {
  const { createStore } = await import('../dist/index.js');
  const store = createStore();
  await store.set('warm-up', makeValue(1)); // the store's code paths and structures exist before the first figure
  await store.delete('warm-up');
  const before = heapUsed();
  for (let i = 0; i < KEYS; ) {
    const calls = [];
    for (const end = Math.min(KEYS, i + 1000); i < end; i++) calls.push(store.set(`key:${i}`, makeValue(i)));
    await Promise.all(calls);
  }
  const after = heapUsed();
  if ((await store.stats()).keys !== KEYS) throw new Error('the store lost keys');
  return after - before;
}

async function mapSide(makeValue) {
  const map = new Map();
  map.set('warm-up', makeValue(1));
  map.delete('warm-up');
  const before = heapUsed();
  for (let i = 0; i < KEYS; i++) map.set(`key:${i}`, makeValue(i));
  const after = heapUsed();
  if (map.size !== KEYS) throw new Error('the Map lost keys');
  return after - before;
}
