// Piscina task file: runs in the pool's worker threads. The cache is built once
// per worker, at import, with no store in sight: KeyvKvbus() uses getStore(),
// which in a pool worker is a client of the main thread's store. So every
// worker's cache-manager reads and writes the same entries.
import { threadId } from 'node:worker_threads';
import { createCache } from 'cache-manager';
import Keyv from 'keyv';
import { getStore } from 'kvbus';
import { KeyvKvbus } from 'kvbus/keyv';
import { filter, firstValueFrom, timeout } from 'rxjs';

const REPORT_TTL_MS = 60_000;
const cache = createCache({ stores: [new Keyv({ store: new KeyvKvbus(), namespace: 'reports' })] });

// A deliberately slow "report": a few hundred ms of CPU, the kind of result worth sharing.
function buildReport(region) {
  let checksum = 0;
  for (let i = 0; i < 30_000_000; i++) checksum = (checksum + i * (region.length + 1)) % 1_000_003;
  return { region, checksum, builtBy: threadId, at: new Date().toISOString() };
}

/** One cache lookup: cache-manager's wrap() calls the builder only on a miss. */
async function cachedReport(region) {
  let built = false;
  const report = await cache.wrap(
    `report:${region}`,
    () => {
      built = true;
      return buildReport(region);
    },
    REPORT_TTL_MS,
  );
  return { region, hit: !built, builtBy: report.builtBy };
}

/** Builds (or finds) one region's report. */
export async function report({ region }) {
  const started = performance.now();
  const lookup = await cachedReport(region);
  return { job: `report ${region}`, threadId, lookups: [lookup], ms: Math.round(performance.now() - started) };
}

/** A summary needs every region's report: on a shared cache, all of them are already there. */
export async function summary({ regions }) {
  const started = performance.now();
  const lookups = await Promise.all(regions.map(cachedReport));
  return { job: 'summary', threadId, lookups, ms: Math.round(performance.now() - started) };
}

/**
 * Start-up: checks in and waits until `workers` tasks have checked in. A waiting
 * task holds its worker, so the tasks land on `workers` different threads, and
 * every thread is running when the real work starts.
 */
export async function checkIn({ workers }) {
  const store = getStore();
  await store.incr('example:checked-in');
  await firstValueFrom(
    store.watch('example:checked-in').pipe(
      filter((n) => n >= workers),
      timeout(10_000),
    ),
  );
  return threadId;
}
