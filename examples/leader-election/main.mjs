// Leader election with a lock, a lease and fencing: a piscina pool of 4 workers
// (createPool) are the candidates; each waits for the `leader` lock, leads one
// term doing exclusive work on a shared log, and hands over. One leader stalls
// past its lease and finds its late write refused; one crashes and the next
// candidate takes over at once. The main thread prints what the candidates
// report, then checks the log: one leader at a time, every write by the leader
// of its term, nothing from a deposed leader. Exits 1 if a check fails.
//
//   npx tsup && node examples/leader-election/main.mjs

import { createPool, getStore } from 'kvbus';

const CANDIDATES = 4;
const LEASE_MS = 400;
const JOBS_PER_TERM = 5;
const DEADLINE_MS = 20_000;

const store = getStore();
const t0 = performance.now();
const at = () => `t+${((performance.now() - t0) / 1000).toFixed(2)}s`.padEnd(8);

const events = [];
store.channel('election').subscribe((e) => {
  events.push(e);
  const who = `term ${e.term}`;
  const lines = {
    elected: `${who}: candidate ${e.id} on thread ${e.thread} elected (fencing token ${e.token})`,
    'stepped-down': `${who}: ${e.jobs} jobs done; stepped down (released: ${e.released})`,
    stalling: `${who}: ${e.jobs} jobs done; now stalls ${e.ms} ms without a heartbeat (as in a GC pause)`,
    crashing: `${who}: ${e.jobs} jobs done; its thread crashes holding the lock`,
    deposed: `${who}: woke up and wrote: refused with ${e.code} (its lease ran out; a later leader holds the lock) — deposed`,
    'not-deposed': `${who}: woke up and its stale write went through — fencing FAILED`,
  };
  console.log(`${at()} ${lines[e.type] ?? JSON.stringify(e)}`);
});
await store.stats(); // the subscription is active before the first candidate runs

const pool = createPool({ filename: new URL('./task.mjs', import.meta.url).href, minThreads: CANDIDATES, maxThreads: CANDIDATES });
console.log(
  `leader-election: ${CANDIDATES} candidates on worker threads (createPool), lease ${LEASE_MS} ms, ${JOBS_PER_TERM} jobs per term`,
);

const deadline = setTimeout(() => {
  console.error(`FAIL: not done within ${DEADLINE_MS} ms`);
  process.exit(1);
}, DEADLINE_MS);
const settled = await Promise.allSettled(
  Array.from({ length: CANDIDATES }, (_, i) => pool.run({ id: i + 1, leaseMs: LEASE_MS, jobsPerTerm: JOBS_PER_TERM })),
);
clearTimeout(deadline);

// ---------------------------------------------------------------------------
// The checks: what the store holds says whether leadership was exclusive.
const log = (await store.get('work:log')) ?? [];
const elected = events.filter((e) => e.type === 'elected').sort((a, b) => a.term - b.term);
const crashed = settled.filter((s) => s.status === 'rejected');
const deposed = settled.filter((s) => s.status === 'fulfilled' && s.value.deposed === true);
const perTerm = new Map();
for (const entry of log) perTerm.set(entry.term, (perTerm.get(entry.term) ?? 0) + 1);
const tokenOf = new Map(elected.map((e) => [e.term, e.token]));
const free = await store.lock('leader', { waitMs: 1_000 }).then(
  (lock) => lock.release(),
  () => false,
);

const checks = [
  ['4 terms, one per candidate', elected.map((e) => e.term).join(',') === '1,2,3,4'],
  ['fencing tokens increase with the term', elected.every((e, i) => i === 0 || e.token > elected[i - 1].token)],
  ['the log is in term order: one leader at a time', log.every((e, i) => i === 0 || e.term >= log[i - 1].term)],
  ['every entry carries the token of its term’s leader', log.every((e) => e.token === tokenOf.get(e.term))],
  [
    `jobs per term: 5, 2 (then deposed), 2 (then crashed), 5`,
    [1, 2, 3, 4].map((t) => perTerm.get(t) ?? 0).join(',') === `${JOBS_PER_TERM},2,2,${JOBS_PER_TERM}`,
  ],
  ['the stalled leader’s late write was refused (ERR_CONFLICT)', deposed.length === 1],
  ['the crashed leader’s task failed with its thread', crashed.length === 1],
  ['the lock is free at the end', free === true],
];

console.log(`\nlog: ${log.length} entries: ${[...perTerm].map(([term, n]) => `term ${term} × ${n}`).join(', ')}`);
console.log(`crashed: ${crashed.map((s) => s.reason?.message).join('; ')}`);
let failed = 0;
for (const [what, ok] of checks) {
  if (!ok) failed++;
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
}
console.log(failed === 0 ? 'all checks passed' : `${failed} check(s) FAILED`);

await pool.destroy();
await store.close();
process.exitCode = failed === 0 ? 0 : 1;
