// The sub process (LiteyukiBot's bot process): works through a list of items,
// reports up to the parent, obeys commands sent down. All its state lives in the
// parent's store, so a restarted child picks up where a killed one stopped.

import { setTimeout as sleep } from 'node:timers/promises';
import { getStore } from 'kvbus';

const TOTAL = Number(process.argv[2] ?? 20);
const WORK_MS = 120;
const pid = process.pid;

// In a child of store.fork(), getStore() is a client of the parent's store over the IPC channel.
const store = getStore();
const boot = await store.incr('bot:boots');
let state = await store.get('bot:state', { next: 1, sum: 0, done: [] });

let stopping = false;
let wake = () => {};
const unsubscribe = store.onSubscriberReceive('down', async (command) => {
  if (command.type === 'ping') await store.publish('up', { type: 'pong', n: command.n, pid });
  else if (command.type === 'shutdown') {
    stopping = true;
    wake();
  }
});

// Our commands apply in order and subscribing is one of them: once this publish is
// answered, the 'down' handler is live, so the parent may start sending.
await store.publish('up', { type: 'ready', pid, boot, resumeAt: state.next });

for (let item = state.next; item <= TOTAL && !stopping; item++) {
  await sleep(WORK_MS); // the "work"
  // The item's result and the new position go in one write: a kill lands before it
  // or after it, never between, so each item is recorded exactly once.
  state = { next: item + 1, sum: state.sum + item * item, done: [...state.done, item] };
  await store.set('bot:state', state);
  await store.publish('up', { type: 'progress', item, pid });
}
if (!stopping) await store.publish('up', { type: 'finished', pid, boot, next: state.next });

// Wait for the parent's word, then leave cleanly.
if (!stopping) await new Promise((resolve) => (wake = resolve));
unsubscribe();
await store.close();
