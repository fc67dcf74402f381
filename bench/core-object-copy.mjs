// Question: what does the store add to copy semantics for a small object? A
// set + get copies the value twice (in and out); the baseline is those two
// structured clones on their own.
// Target: kvbus >= 0.5 x baseline.

import { createStore } from '../dist/index.js';
import { compare } from './lib.mjs';

const KEYS = Array.from({ length: 1000 }, (_, i) => `obj:${i}`);

// Five fields: a number, a string, a boolean, a short array, a nested object.
const VALUE = { id: 42, name: 'widget-42', active: true, tags: ['a', 'b', 'c'], pos: { x: 1.5, y: -2 } };

/** @returns {Promise<object[]>} the rows of this bench */
export default async function run() {
  const store = createStore();
  let _sink;
  // One operation = one awaited set and one awaited get of the object.
  const viaStore = async (n) => {
    for (let i = 0; i < n; i++) {
      const key = KEYS[i % KEYS.length];
      await store.set(key, VALUE);
      _sink = await store.get(key);
    }
  };
  const viaClone = async (n) => {
    for (let i = 0; i < n; i++) {
      _sink = structuredClone(VALUE);
      _sink = structuredClone(VALUE);
    }
  };

  // Both sides run on the main thread only: CPU time is the steadier clock (see DEFAULTS.clock in lib.mjs).
  const result = await compare({ kvbus: viaStore, baseline: viaClone, clock: 'cpu' });
  const back = await store.get(KEYS[0]);
  if (back === VALUE || JSON.stringify(back) !== JSON.stringify(VALUE)) throw new Error('the store did not hand back a copy of the value');
  await store.close();
  return [
    {
      question: 'c. set+get of a 5-field object (vs 2x structuredClone)',
      unit: 'pairs',
      target: 0.5,
      ...result,
    },
  ];
}
