// The seed's scenario (LiteyukiBot's main/sub process event bridge) on kvbus.
//
// The main process owns the store and forks a child with store.fork(). The child
// publishes events up on 'up', handles commands sent down on 'down' with
// onSubscriberReceive, and keeps its state in the store. Part-way through, the
// main process kills it with SIGKILL and forks it again: the new child reads the
// old state and carries on. peers() shows each connection joining and leaving.
//
//   npx tsup && node examples/child-process-bridge/main.mjs

import { createStore } from 'kvbus';

const TOTAL = 20; // items the bot works through
const KILL_AT = 7; // SIGKILL the first child once it reports this item
const PING_MS = 300;
const DEADLINE_MS = 15_000;
const CHILD = new URL('./child.mjs', import.meta.url);

const store = createStore();
const t0 = performance.now();
const log = (...parts) => console.log(`t+${((performance.now() - t0) / 1000).toFixed(2)}s`.padEnd(8), ...parts);

// Workers and children connecting to the store, and going away.
store
  .peers()
  .subscribe((peer) =>
    log(`peers(): ${peer.type} ${peer.kind} #${peer.id}${peer.exitCode !== undefined ? ` (exit code ${peer.exitCode})` : ''}`),
  );

const seen = { progress: [], pongs: 0, pingsUnheard: 0 };
let child;
let finished;
const done = new Promise((resolve) => (finished = resolve));

function start() {
  child = store.fork(CHILD, [String(TOTAL)]);
  const { pid } = child;
  log(`forked child pid ${pid}`);
  child.once('exit', (code, signal) => {
    log(`child pid ${pid} exited: ${signal ? `killed by ${signal}` : `code ${code}`}`);
    if (signal === 'SIGKILL')
      start(); // a supervisor's job: bring the bot back
    else finished(code);
  });
}

// Events from whichever child is running: the parent never talks to a pid, only to channels.
let killed = false;
store.channel('up').subscribe((event) => {
  switch (event.type) {
    case 'ready':
      log(`up: ready  pid ${event.pid}, boot #${event.boot}, resuming at item ${event.resumeAt}`);
      break;
    case 'progress':
      seen.progress.push(event.item);
      log(`up: item ${event.item} done (pid ${event.pid})`);
      if (event.item === KILL_AT && !killed) {
        killed = true;
        log(`killing pid ${event.pid} with SIGKILL mid-run`);
        child.kill('SIGKILL');
      }
      break;
    case 'pong':
      seen.pongs++;
      break;
    case 'finished':
      log(`up: finished (pid ${event.pid}, boot #${event.boot}); sending 'shutdown' down`);
      store.publish('down', { type: 'shutdown' });
      break;
  }
});

// Commands down, on a timer: publish resolves to how many subscribers heard it,
// so a ping sent while the child is dead says so.
let n = 0;
const pinger = setInterval(async () => {
  const heard = await store.publish('down', { type: 'ping', n: ++n });
  if (heard === 0) {
    seen.pingsUnheard++;
    log(`down: ping #${n} heard by nobody (no child subscribed right now)`);
  }
}, PING_MS);

const deadline = setTimeout(() => {
  console.error(`Did not finish within ${DEADLINE_MS / 1000}s`);
  child?.kill('SIGKILL');
  process.exit(1);
}, DEADLINE_MS);

start();
const exitCode = await done;
clearInterval(pinger);
clearTimeout(deadline);

// The record the children left in the store.
const state = await store.get('bot:state');
const boots = await store.get('bot:boots');
const expectedSum = (TOTAL * (TOTAL + 1) * (2 * TOTAL + 1)) / 6;
const stats = await store.stats();
console.log('');
console.log('Summary');
console.log(`  boots: ${boots}; last child exited with code ${exitCode}`);
console.log(`  items recorded in the store: ${state.done.length} (${state.done[0]}..${state.done.at(-1)}), sum of squares ${state.sum}`);
console.log(`  progress events seen on 'up': ${seen.progress.length}; pings answered: ${seen.pongs}/${n}, unheard: ${seen.pingsUnheard}`);
console.log(`  store: ${stats.clients} clients, ${stats.subscriptions} subscriptions, ${stats.commands} commands`);
const checks = [
  ['the child was restarted once and resumed', boots === 2],
  ['every item recorded exactly once, in order', state.done.length === TOTAL && state.done.every((item, i) => item === i + 1)],
  ['sum of squares exact', state.sum === expectedSum],
  ['the child left nothing behind', stats.clients === 0],
  ['clean exit', exitCode === 0],
];
for (const [what, ok] of checks) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
await store.close();
console.log('Store closed.');
if (checks.some(([, ok]) => !ok)) process.exitCode = 1;
