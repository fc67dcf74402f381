// Question: are subscriptions routed, not filtered? A publish to a channel with
// one subscriber must cost about the same whether or not 10 000 other channels
// each have a subscriber. Both sides go through kvbus: the baseline is a store
// with that one subscriber only.
// Target: busy store >= 0.8 x empty store.

import { createStore } from '../dist/index.js';
import { compare } from './lib.mjs';

const OTHER_CHANNELS = 10_000;

/** @returns {Promise<object[]>} the rows of this bench */
export default async function run() {
  let received = 0;
  const count = () => {
    received++;
  };

  const busy = createStore();
  const subscriptions = [];
  for (let i = 0; i < OTHER_CHANNELS; i++) subscriptions.push(busy.channel(`other:${i}`).subscribe(count));
  subscriptions.push(busy.channel('hot').subscribe(count));

  const empty = createStore();
  subscriptions.push(empty.channel('hot').subscribe(count));

  // Subscribing is a command: once a later command answered, every subscription is active.
  const { subscriptions: busySubs } = await busy.stats();
  if (busySubs !== OTHER_CHANNELS + 1) throw new Error(`expected ${OTHER_CHANNELS + 1} subscriptions, got ${busySubs}`);

  // One operation = one awaited publish of a small number (no clone: routing is what is measured).
  const publishLoop = (store) => async (n) => {
    for (let i = 0; i < n; i++) await store.publish('hot', i);
  };

  const before = received;
  // Both sides run on the main thread only: CPU time is the steadier clock (see DEFAULTS.clock in lib.mjs).
  const result = await compare({ kvbus: publishLoop(busy), baseline: publishLoop(empty), clock: 'cpu' });
  if (received === before) throw new Error('the subscriber of "hot" received nothing');

  for (const s of subscriptions) s.unsubscribe();
  await Promise.all([busy.close(), empty.close()]);
  return [
    {
      question: `b. publish, 1 subscriber + ${OTHER_CHANNELS / 1000}k other channels (vs none)`,
      unit: 'ops',
      target: 0.8,
      ...result,
    },
  ];
}
