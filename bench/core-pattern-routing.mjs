// Question: does a publish pay for every glob pattern subscribed? With 1 000
// patterns subscribed (`room:<i>:*`, each with one subscriber), a publish to a
// channel none of them matches must cost about what it costs with no pattern
// at all, and a publish to a channel one of them matches about what it costs
// to reach that one subscriber. Both sides go through kvbus: the baseline is a
// store with the same one subscriber on the exact channel and no pattern.
// Targets (issue #10): no match >= 0.5 x; one match >= 0.3 x.
//
// The channels vary (10 000 of them, in turn), more than the router's memory
// of channels' matching patterns holds (4 096, then it starts over), so no
// publish is answered from that memory: this measures the prefix index itself.
// (`lobby:<i>` shares no prefix with `room:`; `room:7:<i>` shares `room:7:`
// with exactly one pattern, which is then tried.)

import { createStore } from '../dist/index.js';
import { compare } from './lib.mjs';

const PATTERNS = 1000;
const CHANNELS = 10_000;

/** @returns {Promise<object[]>} the rows of this bench */
export default async function run() {
  let received = 0;
  const count = () => {
    received++;
  };
  const subscriptions = [];

  const busy = createStore();
  for (let i = 0; i < PATTERNS; i++) subscriptions.push(busy.pattern(`room:${i}:*`).subscribe(count));
  const empty = createStore();

  const { subscriptions: busySubs } = await busy.stats();
  if (busySubs !== PATTERNS) throw new Error(`expected ${PATTERNS} subscriptions, got ${busySubs}`);

  const missed = Array.from({ length: CHANNELS }, (_, i) => `lobby:${i}`);
  const matched = Array.from({ length: CHANNELS }, (_, i) => `room:7:${i}`);
  // One operation = one awaited publish of a small number, to the next channel of the list.
  const publishLoop = (store, channels) => async (n) => {
    for (let i = 0; i < n; i++) await store.publish(channels[i % CHANNELS], i);
  };

  const rows = [];
  const noMatch = await compare({ kvbus: publishLoop(busy, missed), baseline: publishLoop(empty, missed), clock: 'cpu' });
  rows.push({ question: `b. publish, no pattern matches, ${PATTERNS / 1000}k patterns (vs none)`, unit: 'ops', target: 0.5, ...noMatch });

  // The baseline reaches one subscriber too: on the exact channels, without patterns.
  for (const channel of matched) subscriptions.push(empty.channel(channel).subscribe(count));
  const before = received;
  const oneMatch = await compare({ kvbus: publishLoop(busy, matched), baseline: publishLoop(empty, matched), clock: 'cpu' });
  if (received === before) throw new Error('no subscriber received anything');
  rows.push({
    question: `b. publish, 1 of ${PATTERNS / 1000}k patterns matches (vs 1 exact subscriber)`,
    unit: 'ops',
    target: 0.3,
    ...oneMatch,
  });

  for (const s of subscriptions) s.unsubscribe();
  await Promise.all([busy.close(), empty.close()]);
  return rows;
}
