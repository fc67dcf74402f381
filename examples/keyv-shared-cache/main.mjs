// cache-manager on Keyv on kvbus: one cache shared by a piscina pool.
//
// Two workers each build one region's report (two misses); then two summary
// jobs read both reports and find them in the cache, including the one the
// other worker built. Prints every lookup, hits and misses, and exits.
//
//   npx tsup && node examples/keyv-shared-cache/main.mjs

import Keyv from 'keyv';
import { createPool, getStore } from 'kvbus';
import { KeyvKvbus } from 'kvbus/keyv';

const WORKERS = 2;
const REGIONS = ['eu', 'us'];
const DEADLINE_MS = 20_000;

const deadline = setTimeout(() => {
  console.error(`Did not finish within ${DEADLINE_MS / 1000}s`);
  process.exit(1);
}, DEADLINE_MS);

const store = getStore();
const pool = createPool({ filename: new URL('./task.mjs', import.meta.url).href, minThreads: WORKERS, maxThreads: WORKERS });
const t0 = performance.now();

const threads = await Promise.all(Array.from({ length: WORKERS }, () => pool.run({ workers: WORKERS }, { name: 'checkIn' })));
console.log(`${WORKERS} workers up (threads ${threads.join(', ')}) in ${Math.round(performance.now() - t0)} ms`);

// Wave 1: one report per region, at once, so each is built on its own thread.
const reports = await Promise.all(REGIONS.map((region) => pool.run({ region }, { name: 'report' })));
// Wave 2: two summaries, each needing every report.
const summaries = await Promise.all([1, 2].map(() => pool.run({ regions: REGIONS }, { name: 'summary' })));

const jobs = [...reports, ...summaries];
console.log('');
console.log(`  ${'job'.padEnd(10)} ${'thread'.padStart(6)} ${'ms'.padStart(5)}  lookups`);
for (const { job, threadId, ms, lookups } of jobs) {
  const shown = lookups.map(({ region, hit, builtBy }) =>
    hit
      ? `${region} hit (built by thread ${builtBy}${builtBy === threadId ? ', this one' : ', another worker'})`
      : `${region} MISS, built here`,
  );
  console.log(`  ${job.padEnd(10)} ${String(threadId).padStart(6)} ${String(ms).padStart(5)}  ${shown.join('; ')}`);
}

const all = jobs.flatMap((job) => job.lookups.map((lookup) => ({ ...lookup, threadId: job.threadId })));
const hits = all.filter((l) => l.hit);
const crossHits = hits.filter((l) => l.builtBy !== l.threadId);
console.log('');
console.log(`  lookups: ${all.length}, hits: ${hits.length}, misses: ${all.length - hits.length}`);
console.log(`  hits on a report another worker built: ${crossHits.length}`);

// The main thread sees the same entries through its own Keyv.
const mine = new Keyv({ store: new KeyvKvbus(), namespace: 'reports' });
const stored = await store.keys('reports:*');
console.log(
  `  in the store: ${stored.sort().join(', ')} (60 s TTL); main thread reads eu: checksum ${(await mine.get('report:eu'))?.checksum}`,
);

const checks = [
  ['each report built exactly once (one miss per region)', all.length - hits.length === REGIONS.length],
  ['the two reports were built on two different threads', new Set(reports.map((r) => r.threadId)).size === REGIONS.length],
  ['every summary lookup hit', summaries.every((s) => s.lookups.every((l) => l.hit))],
  ['a worker hit what another worker built', crossHits.length > 0],
];
console.log('');
for (const [what, ok] of checks) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);

clearTimeout(deadline);
await pool.destroy();
await store.close();
if (checks.some(([, ok]) => !ok)) process.exitCode = 1;
