// A piscina pool working through jobs while the inspector is open: open the
// printed URL and watch job keys change, progress messages flow and the
// commands/s chart move. Ctrl-C stops it.
//
//   npx tsup && node examples/inspector-pool/main.mjs [--once] [--port 8090]
//
// --once runs one round of jobs, checks the page answers, and exits (the test uses it).

import { parseArgs } from 'node:util';
import { createPool, getStore } from 'kvbus';
import { inspect } from 'kvbus/inspector';

const { values } = parseArgs({ options: { once: { type: 'boolean' }, port: { type: 'string' } } });
const store = getStore();
const inspector = await inspect(store, { port: Number(values.port ?? 0) });
console.log(`inspector: ${inspector.url}`);

const pool = createPool({ filename: new URL('./task.mjs', import.meta.url).href, minThreads: 2, maxThreads: 2 });
let stopping = false;
process.once('SIGINT', () => {
  stopping = true;
});

let round = 0;
do {
  round++;
  const jobs = Array.from({ length: 4 }, (_, i) => ({ id: `${round}-${i + 1}`, steps: values.once ? 5 : 20 }));
  const results = await Promise.all(jobs.map((job) => pool.run(job)));
  await store.incr('stats:rounds');
  console.log(`round ${round}: ${results.map((r) => `${r.id}=${r.sum}`).join(' ')}`);
} while (!values.once && !stopping);

if (values.once) {
  const page = await fetch(inspector.url);
  const done = await store.keys('job:*');
  console.log(`page: HTTP ${page.status}; ${done.length} job keys`);
}
await pool.destroy();
await inspector.close();
await store.close();
