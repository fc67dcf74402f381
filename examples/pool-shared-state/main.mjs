// A piscina pool of CPU jobs sharing state through kvbus's in-memory store.
//
// Four prime-counting jobs over overlapping ranges share a chunk cache (so the
// overlap is computed once), shared counters and progress channels; a fifth job
// is a synchronous hash chain that reports through store.sync. The main thread
// only watches the store and prints what it sees.
//
//   npx tsup && node examples/pool-shared-state/main.mjs

import { createPool, getStore } from 'kvbus';
import { auditTime, combineLatest, map, scan, share, startWith } from 'rxjs';

const CHUNK = 250_000;
const PRIME_JOBS = [
  { task: 'low', from: 0, to: 2_000_000 },
  { task: 'mid', from: 1_000_000, to: 3_000_000 },
  { task: 'high', from: 2_000_000, to: 4_000_000 },
  { task: 'all', from: 0, to: 4_000_000 },
];
const HASH_JOB = { task: 'hash', rounds: 150_000, every: 5_000 };
const DEADLINE_MS = 20_000;

const store = getStore();
const t0 = performance.now();
const elapsed = () => `t+${((performance.now() - t0) / 1000).toFixed(2)}s`;

// ---------------------------------------------------------------------------
// What the main thread sees: everything comes from store observables.

// One pattern subscription for every job's progress, shared by the view and the checks.
const progress$ = store.pattern('progress:*').pipe(share());

// Per-publisher order is guaranteed: check it rather than trust it.
const received = { messages: 0, outOfOrder: 0, lastSeq: new Map() };
progress$.subscribe(({ channel, data }) => {
  received.messages++;
  if (data.seq !== (received.lastSeq.get(channel) ?? -1) + 1) received.outOfOrder++;
  received.lastSeq.set(channel, data.seq);
});

// Cache writes, seen as change events: each one is a chunk some thread computed.
let cacheWrites = 0;
store.changes('cache:*').subscribe((change) => {
  if (change.type === 'set') cacheWrites++;
});

// The progress table (latest message per job) and the sync job's counter, redrawn
// at most every 250 ms however fast the workers publish.
const table$ = progress$.pipe(
  scan((table, { channel, data }) => ({ ...table, [channel.slice('progress:'.length)]: data }), {}),
  startWith({}),
);
const view$ = combineLatest([table$, store.watch('count:hashes').pipe(map((n) => n ?? 0))]).pipe(share());
const line = ([table, hashes]) => {
  const jobs = PRIME_JOBS.map(({ task }) => `${task} ${table[task] ? `${table[task].done}/${table[task].total}` : 'queued'}`);
  return `${elapsed().padEnd(8)} ${jobs.join(' · ')} · hash ${hashes.toLocaleString('en')}/${HASH_JOB.rounds.toLocaleString('en')}`;
};
let latest;
view$.subscribe((view) => (latest = view));
const printer = view$.pipe(auditTime(250)).subscribe((view) => console.log(line(view)));

// ---------------------------------------------------------------------------
// The jobs.

await store.set('config:hash-seed', 'kvbus'); // read by the sync job with store.sync.get
const pool = createPool({ filename: new URL('./task.mjs', import.meta.url).href, minThreads: 2, maxThreads: 2 });

const deadline = setTimeout(() => {
  console.error(`Did not finish within ${DEADLINE_MS / 1000}s`);
  process.exit(1);
}, DEADLINE_MS);

console.log(
  `${elapsed().padEnd(8)} ${PRIME_JOBS.length} prime jobs (chunks of ${CHUNK.toLocaleString('en')}) + 1 sync hash job on ${pool.options.maxThreads} threads`,
);
// All five at once: piscina runs two at a time, in an order of its choosing, and the
// overlapping ranges meet in the cache whatever that order is.
const [low, hash, ...rest] = await Promise.all([
  pool.run({ ...PRIME_JOBS[0], chunk: CHUNK }, { name: 'primes' }),
  pool.run(HASH_JOB, { name: 'hashChain' }),
  ...PRIME_JOBS.slice(1).map((job) => pool.run({ ...job, chunk: CHUNK }, { name: 'primes' })),
]);
const results = [low, ...rest];
// The audited printer may be holding back the last state: show it now, not after close.
printer.unsubscribe();
console.log(line(latest));

// ---------------------------------------------------------------------------
// The summary, read back from the store, and checks that the counts are exact.

const counters = await store.getAll('count:*');
const count = (key) => counters.get(key) ?? 0;
const stats = await store.stats();
const cacheKeys = await store.keys('cache:*');
const hashResult = await store.get('result:hash');

const requested = PRIME_JOBS.reduce((n, { from, to }) => n + Math.ceil((to - from) / CHUNK), 0);
const distinct = new Set(
  PRIME_JOBS.flatMap(({ from, to }) => Array.from({ length: Math.ceil((to - from) / CHUNK) }, (_, i) => from + i * CHUNK)),
).size;
const expectedMessages = PRIME_JOBS.reduce((n, { from, to }) => n + Math.ceil((to - from) / CHUNK) + 1, 0);
const byTask = Object.fromEntries(results.map((r) => [r.task, r]));

console.log('');
console.log(`Summary after ${elapsed().slice(2)}`);
console.log(
  `  ${'job'.padEnd(6)} ${'primes'.padStart(8)} ${'computed'.padStart(9)} ${'cache hit'.padStart(10)} ${'waited'.padStart(7)} ${'ms'.padStart(6)}  thread`,
);
for (const r of results) {
  console.log(
    `  ${r.task.padEnd(6)} ${r.primes.toLocaleString('en').padStart(8)} ${String(r.computed).padStart(9)} ${String(r.hit).padStart(10)} ${String(r.waited).padStart(7)} ${String(r.ms).padStart(6)}  ${r.threadId}`,
  );
}
console.log(
  `  ${hash.task.padEnd(6)} ${hash.rounds.toLocaleString('en')} sha256 rounds via store.sync in ${hash.ms} ms on thread ${hash.threadId} → ${hash.digest.slice(0, 16)}…`,
);
console.log(`  counters: ${[...counters].map(([k, v]) => `${k}=${v}`).join(', ')}`);
console.log(
  `  cache: ${cacheKeys.length} entries (60 s TTL), ${cacheWrites} cache writes seen as changes; progress: ${received.messages} messages`,
);
console.log(`  store: ${stats.commands} commands, ${stats.clients} clients, ${stats.subscriptions} subscriptions`);

const checks = [
  ['each distinct chunk computed exactly once', count('count:chunks:computed') === distinct && cacheWrites === distinct],
  [
    'every requested chunk counted once',
    count('count:chunks:computed') + count('count:chunks:hit') + count('count:chunks:waited') === requested,
  ],
  ['count:primes = sum of the jobs’ results', count('count:primes') === results.reduce((n, r) => n + r.primes, 0)],
  [
    'low + high = all (π(4,000,000) = 283,146)',
    byTask.low.primes + byTask.high.primes === byTask.all.primes && byTask.all.primes === 283_146,
  ],
  ['count:hashes = rounds, result stored', count('count:hashes') === HASH_JOB.rounds && hashResult === hash.digest],
  ['progress complete and in order per job', received.messages === expectedMessages && received.outOfOrder === 0],
];
for (const [what, ok] of checks) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);

clearTimeout(deadline);
// Closing the store completes every observable above, so nothing keeps the process alive.
await pool.destroy();
await store.close();
console.log(`Pool destroyed, store closed.`);
if (checks.some(([, ok]) => !ok)) process.exitCode = 1;
