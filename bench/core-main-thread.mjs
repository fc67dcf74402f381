// Question: what does going through the store actor cost for the most common
// call, a main-thread get/set of a small primitive? Baseline: the same work on
// a plain Map behind async functions (the least any Promise API can cost).
// Target: kvbus >= 0.30 x baseline (the actor costs at most ~3x a plain async Map call).

import { createStore } from '../dist/index.js';
import { compare } from './lib.mjs';

const KEYS = Array.from({ length: 1000 }, (_, i) => `key:${i}`);

/** @returns {Promise<object[]>} the rows of this bench */
export default async function run() {
  const store = createStore();
  // One operation = one set or one get, each awaited, alternating over 1 000 keys.
  const viaStore = async (n) => {
    for (let i = 0; i < n; i += 2) {
      const key = KEYS[(i >> 1) % KEYS.length];
      await store.set(key, i);
      await store.get(key);
    }
  };

  const map = new Map();
  let revision = 0;
  // The baseline does what a caller of an async store API needs at the least:
  // a write that returns a revision, a read that returns the value.
  const mapSet = async (key, value) => {
    map.set(key, value);
    return ++revision;
  };
  const mapGet = async (key) => map.get(key);
  const viaMap = async (n) => {
    for (let i = 0; i < n; i += 2) {
      const key = KEYS[(i >> 1) % KEYS.length];
      await mapSet(key, i);
      await mapGet(key);
    }
  };

  // Both sides run on the main thread only: CPU time is the steadier clock (see DEFAULTS.clock in lib.mjs).
  const result = await compare({ kvbus: viaStore, baseline: viaMap, clock: 'cpu' });
  if (typeof (await store.get(KEYS[0])) !== 'number') throw new Error('the store lost the values');
  await store.close();
  return [
    {
      question: 'a. get/set of a primitive, awaited (vs async Map)',
      unit: 'ops',
      target: 0.3,
      ...result,
    },
  ];
}
