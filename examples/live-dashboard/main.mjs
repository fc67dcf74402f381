// kvbus's demo: CPU jobs in a worker pool and an auditor in a child process,
// sharing one in-memory store, watched live from the main thread.
//
// A createPool pool (one thread per core, 2 to 4) runs 72 real CPU jobs (SHA-256
// chains, primes, a blur over a typed array). Each job reads the shared
// configuration from the store, incr's counters, publishes its progress and
// stores its result with a TTL. A child forked with store.fork audits every
// result through changes() and publishes alerts. One job fails on purpose
// (a KvbusError) and one job kills its worker thread; piscina replaces it and the
// main thread retries the job. The main thread composes the store's observables
// into a live view, then checks that every total adds up.
//
//   npm run demo                                   (builds, then runs this file; ~10 s)
//   node examples/live-dashboard/main.mjs | cat    plain appended lines, as in a CI log
//   node examples/live-dashboard/main.mjs --inspect   (the inspector is not in this version)

import { availableParallelism } from 'node:os';
import { createPool, getStore } from 'kvbus';
import {
  auditTime,
  combineLatest,
  exhaustMap,
  filter,
  firstValueFrom,
  interval,
  map,
  merge,
  pairwise,
  Subject,
  sampleTime,
  scan,
  share,
  startWith,
  take,
  takeUntil,
  tap,
} from 'rxjs';

const USAGE = 'usage: node examples/live-dashboard/main.mjs [--inspect]';
const args = process.argv.slice(2);
for (const arg of args) {
  if (arg !== '--inspect') {
    console.error(`Unknown argument ${JSON.stringify(arg)}. ${USAGE}`);
    process.exit(2);
  }
}
if (args.includes('--inspect')) {
  console.log('--inspect: kvbus/inspector is not available in this version of kvbus; running without an inspector page.');
}

const THREADS = Math.max(2, Math.min(4, availableParallelism()));
const KINDS = ['hash', 'primes', 'image'];
const BUG_AT = 13; // this job stores a result with a function in it: ERR_NOT_CLONEABLE
const CRASH_AT = 20; // this job kills its worker thread half-way (process.exit(3))
const JOBS = Array.from({ length: 72 }, (_, n) => ({
  n,
  id: `${KINDS[n % 3]}-${n + 1}`,
  kind: KINDS[n % 3],
  units: 1 + ((n * 7) % 4), // 1..4 units of work (the summary prints how long they took)
  attempt: 1,
  ...(n + 1 === BUG_AT && { bug: true }),
  ...(n + 1 === CRASH_AT && { crash: true }),
}));
const CONFIG = {
  hashRoundsPerUnit: 22_000,
  primesFrom: 1_000_000,
  primesStride: 10_000,
  primeSpanPerUnit: 220_000,
  imageSize: 512,
  blurPassesPerUnit: 12,
  resultTtlMs: 1_500,
};
const DEADLINE_MS = 60_000;
const TTY = process.stdout.isTTY === true;

const store = getStore();
const t0 = performance.now();
const elapsed = () => `t+${((performance.now() - t0) / 1000).toFixed(2)}s`;
const fmt = (n) => Math.round(n).toLocaleString('en');

// ---------------------------------------------------------------------------
// The view: everything on screen is derived from the store's observables.

// Every job's progress, from one channel subscription shared by the table and the log.
const progress$ = store.channel('progress').pipe(share());
// The error code a failed job published (pool.run's rejection carries only the message).
const failureCodes = new Map();
progress$.pipe(filter((p) => p.state === 'failed')).subscribe((p) => failureCodes.set(p.id, p.code ?? 'Error'));

// Per worker thread: the job it runs now, and how many it finished.
const threads$ = progress$.pipe(
  scan((threads, p) => {
    const next = new Map(threads);
    const t = next.get(p.threadId) ?? { done: 0 };
    next.set(p.threadId, {
      job: p.id,
      attempt: p.attempt,
      pct: p.pct ?? t.pct,
      state: p.state,
      done: t.done + (p.state === 'done' ? 1 : 0),
    });
    return next;
  }, new Map()),
  startWith(new Map()),
);

// The shared counters: `watch` starts with the current value (undefined while absent).
const counterNames = ['started', 'done', 'failed', 'lost'];
const counts$ = combineLatest(counterNames.map((name) => store.watch(`count:jobs:${name}`).pipe(map((v) => v ?? 0)))).pipe(
  map((values) => Object.fromEntries(counterNames.map((name, i) => [name, values[i]]))),
);

// The results: a `set` adds one; its TTL running out arrives as an `expire` change.
const results$ = store.changes('result:*').pipe(
  scan(
    (r, c) => ({
      stored: r.stored + (c.type === 'set' ? 1 : 0),
      expired: r.expired + (c.type === 'expire' ? 1 : 0),
      live: r.live + (c.type === 'set' ? 1 : c.type === 'expire' || c.type === 'delete' ? -1 : 0),
    }),
    { stored: 0, expired: 0, live: 0 },
  ),
  startWith({ stored: 0, expired: 0, live: 0 }),
);

// The auditor's alerts.
const alert$ = store.channel('alerts').pipe(share());
const alerts$ = alert$.pipe(
  scan((list, a) => [...list, a], []),
  startWith([]),
);

// Workers and child processes connecting and leaving (main thread only).
const peer$ = store.peers().pipe(share());
const peers$ = peer$.pipe(
  scan(
    (acc, e) => ({
      joins: { ...acc.joins, [e.kind]: acc.joins[e.kind] + (e.type === 'join' ? 1 : 0) },
      exits: e.type === 'exit' ? [...acc.exits, e] : acc.exits,
    }),
    { joins: { worker: 0, process: 0 }, exits: [] },
  ),
  startWith({ joins: { worker: 0, process: 0 }, exits: [] }),
);

// Store throughput: stats() sampled every 500 ms (each sample is one more command),
// until the app stops sampling just before it closes the store.
const stopSampling$ = new Subject();
let peakQueue = 0;
const rate$ = interval(500).pipe(
  exhaustMap(() => store.stats().then((s) => ({ at: performance.now(), ...s }))),
  tap((s) => (peakQueue = Math.max(peakQueue, s.queueDepth))),
  pairwise(),
  map(([a, b]) => ({ perSecond: ((b.commands - a.commands) * 1000) / (b.at - a.at), clients: b.clients })),
  startWith({ perSecond: undefined, clients: 0 }),
  takeUntil(stopSampling$),
);

// What the main thread itself does about faults (retries), for the log.
const supervisor$ = new Subject();

// The event log: what happened, one line each.
const events$ = merge(
  progress$.pipe(
    filter((p) => p.state === 'failed'),
    map((p) => `job ${p.id} FAILED on thread ${p.threadId}: ${p.code ?? 'Error'}: ${p.message}`),
  ),
  peer$.pipe(
    map((e) =>
      e.type === 'exit'
        ? `peers: ${e.kind === 'process' ? 'the auditor process' : 'a worker'} (client #${e.id}) exited${e.exitCode !== undefined ? ` with code ${e.exitCode}` : ''}${e.signal ? ` by ${e.signal}` : ''}`
        : `peers: ${e.kind === 'process' ? 'the auditor process' : 'a worker'} (client #${e.id}) ${e.type === 'join' ? 'joined' : `was rejected: ${e.reason}`}`,
    ),
  ),
  alert$.pipe(map((a) => `alert from the auditor (${a.level}): ${a.text}`)),
  supervisor$,
).pipe(
  map((line) => `${elapsed().padEnd(8)} ${line}`),
  share(),
);
const recent$ = events$.pipe(
  scan((lines, line) => [...lines, line].slice(-6), []),
  startWith([]),
);

const view$ = combineLatest([threads$, counts$, results$, alerts$, peers$, rate$, recent$]).pipe(
  map(([threads, counts, results, alerts, peers, rate, recent]) => ({ threads, counts, results, alerts, peers, rate, recent })),
  share(),
);

// ---------------------------------------------------------------------------
// Rendering: a frame redrawn in place on a terminal, appended lines anywhere else.

const BAR = 20;
const bar = (pct) => {
  const full = Math.round(((pct ?? 0) / 100) * BAR);
  return TTY ? '█'.repeat(full) + '░'.repeat(BAR - full) : '#'.repeat(full) + '.'.repeat(BAR - full);
};

function jobsLine({ counts, results }, settled) {
  return `${counts.done}/${JOBS.length} done · ${counts.failed} failed · ${counts.lost} lost with a worker (retried) · ${JOBS.length - settled} to go │ results ${results.live} live, ${results.expired} expired`;
}

// What the main thread saw of the jobs it submitted.
const outcome = { done: 0, failed: [], lost: [], perThread: new Map(), ms: [] };
/** A thread whose job was lost with it: its last word was 'running' on a first attempt that never came back. */
const lostThere = (t) => t.state === 'running' && t.attempt === 1 && outcome.lost.some((l) => l.id === t.job);

let auditorPid = '?';
let settledCount = 0;
function frame(view) {
  const { threads, alerts, peers, rate, recent } = view;
  const lines = [
    `kvbus demo · ${JOBS.length} CPU jobs on ${THREADS} worker threads + an auditor child (pid ${auditorPid}) · in-memory store · ${elapsed()}`,
    '',
    ` ${'thread'.padEnd(7)} ${'job'.padEnd(10)} ${'progress'.padEnd(BAR + 5)} ${'state'.padEnd(8)} jobs done`,
  ];
  for (const [id, t] of [...threads].sort(([a], [b]) => a - b)) {
    const state = lostThere(t) ? 'LOST' : t.state;
    lines.push(
      ` ${String(id).padEnd(7)} ${t.job.padEnd(10)} ${bar(t.pct)} ${String(t.pct ?? 0).padStart(3)}% ${state.padEnd(8)} ${t.done}`,
    );
  }
  lines.push(
    '',
    ` jobs    ${jobsLine(view, settledCount)}`,
    ` store   ${perSecond(rate)} commands/s · ${rate.clients} clients`,
    ` peers   joined: ${peers.joins.worker} workers, ${peers.joins.process} process · exited: ${peers.exits.map((e) => `${e.kind} client #${e.id} (code ${e.exitCode ?? e.signal})`).join(', ') || 'none'}`,
    ` alerts  ${alerts.length ? alerts.map((a) => `${a.level}: ${a.text}`).join(' · ') : 'none'}`,
    '',
    ' recent events',
    ...recent.map((line) => `   ${line}`),
  );
  return lines;
}

let drawn = 0;
function redraw(view) {
  const lines = frame(view);
  const cols = process.stdout.columns || 120;
  const clipped = lines.map((l) => (l.length > cols - 1 ? `${l.slice(0, cols - 2)}…` : l));
  // Back to the top of the previous frame, clear below, draw the new one.
  process.stdout.write(`${drawn > 0 ? `\x1b[${drawn}F` : ''}\x1b[J${clipped.join('\n')}\n`);
  drawn = clipped.length;
}

const perSecond = (rate) => (rate.perSecond === undefined ? '…' : fmt(rate.perSecond));

function statusLine({ threads, counts, results, rate }) {
  const perThread = [...threads]
    .sort(([a], [b]) => a - b)
    .map(([id, t]) => `${id}: ${t.done}`)
    .join(', ');
  return `${elapsed().padEnd(8)} ${counts.done}/${JOBS.length} done, ${counts.failed} failed, ${counts.lost} lost · per thread ${perThread || '-'} · results ${results.live} live, ${results.expired} expired · ${perSecond(rate)} commands/s`;
}

let last;
const live = [view$.subscribe((v) => (last = v))];
if (TTY) {
  process.stdout.write('\x1b[?25l'); // hide the cursor while redrawing
  live.push(view$.pipe(auditTime(100)).subscribe(redraw));
} else {
  live.push(events$.subscribe((line) => console.log(line)));
  live.push(view$.pipe(sampleTime(1000)).subscribe((v) => console.log(statusLine(v))));
}
const restoreCursor = () => TTY && process.stdout.write('\x1b[?25h');

// ---------------------------------------------------------------------------
// Safety: a run that goes wrong stops with a message instead of hanging.

let auditor;
const deadline = setTimeout(() => {
  restoreCursor();
  console.error(`\nThe demo did not finish within ${DEADLINE_MS / 1000}s${last ? `: ${statusLine(last)}` : ''}`);
  auditor?.kill('SIGKILL');
  process.exit(1);
}, DEADLINE_MS);
// A reader that goes away (`| head`) is not an error of the demo.
process.stdout.on('error', (error) => {
  if (error.code !== 'EPIPE') throw error;
  auditor?.kill('SIGKILL');
  process.exit(0);
});
process.on('SIGINT', () => {
  restoreCursor();
  auditor?.kill('SIGKILL');
  process.exit(130);
});

// ---------------------------------------------------------------------------
// Start: configuration, the auditor, the pool.

if (!TTY) {
  console.log(
    `kvbus demo: ${JOBS.length} CPU jobs on ${THREADS} worker threads (createPool), an auditor child process (store.fork), one in-memory store`,
  );
}
await store.set('config:demo', CONFIG);

const auditorReady = firstValueFrom(store.channel('audit:ready'));
auditor = store.fork(new URL('./auditor.mjs', import.meta.url));
auditor.on('error', (error) => supervisor$.next(`auditor: ${error.message}`)); // e.g. EPIPE racing its exit
const auditorExit = new Promise((resolve) => auditor.once('exit', (code, signal) => resolve({ code, signal })));
// An auditor that cannot start (a syntax error, a missing module) ends the demo at once.
const auditorFailed = auditorExit.then(({ code, signal }) => {
  throw new Error(`the auditor exited (${signal ?? `code ${code}`}) before it was ready`);
});
auditorFailed.catch(() => {}); // once ready, its exit is awaited at the end instead
auditorPid = (await Promise.race([auditorReady, auditorFailed])).pid;

const pool = createPool({ store, filename: new URL('./jobs.mjs', import.meta.url).href, minThreads: THREADS, maxThreads: THREADS });
const before = await store.stats();
const runStarted = performance.now();

// ---------------------------------------------------------------------------
// The jobs. The main thread only submits them and handles what comes back.

async function submit(job) {
  try {
    const { threadId, ms } = await pool.run(job);
    outcome.done++;
    outcome.ms.push(ms);
    outcome.perThread.set(threadId, (outcome.perThread.get(threadId) ?? 0) + 1);
  } catch (error) {
    // piscina rejects the task of a thread that died with 'worker exited with code: N'.
    if (/^worker exited/.test(error.message)) {
      // The thread died under this job: piscina replaces the thread, we retry the job.
      outcome.lost.push({ id: job.id, message: error.message });
      await store.incr('count:jobs:lost');
      supervisor$.next(`job ${job.id} lost with its worker (${error.message}); retrying it`);
      return submit({ ...job, crash: false, attempt: job.attempt + 1 });
    }
    outcome.failed.push({ id: job.id, message: error.message });
  }
  settledCount++;
}
await Promise.all(JOBS.map(submit));
supervisor$.next(`all ${JOBS.length} jobs settled; waiting for the last results to expire (TTL ${CONFIG.resultTtlMs / 1000}s)`);

// Done when every stored result has expired and the lost worker's replacement has joined.
const final = await firstValueFrom(
  view$.pipe(
    filter(
      (v) =>
        v.results.stored === outcome.done &&
        v.results.expired === outcome.done &&
        v.peers.exits.length >= outcome.lost.length &&
        v.peers.joins.worker >= THREADS + outcome.lost.length,
    ),
    take(1),
  ),
);
const after = await store.stats();
const runSeconds = (performance.now() - runStarted) / 1000;

// The auditor's own count, then it leaves.
const reportP = firstValueFrom(store.channel('audit:report'));
await store.publish('audit', { type: 'report' });
const report = await reportP;
await store.publish('audit', { type: 'shutdown' });
const auditorEnd = await auditorExit;

const counters = await store.getAll('count:*');
const count = (key) => counters.get(key) ?? 0;
const threadCounters = [...counters].filter(([k]) => k.startsWith('count:thread:')).map(([k, v]) => [Number(k.slice(13)), v]);
const resultsLeft = await store.keys('result:*');
await pool.destroy();

// Closing the store completes every observable built on it: the view's subscriptions end by themselves.
stopSampling$.next();
supervisor$.complete();
await store.close();
for (let i = 0; i < 100 && live.some((s) => !s.closed); i++) await new Promise((resolve) => setTimeout(resolve, 10));
clearTimeout(deadline);
if (TTY) redraw(last);
restoreCursor();

// ---------------------------------------------------------------------------
// What was measured, and whether it adds up.

const lostThread = [...final.threads].find(([, t]) => lostThere(t))?.[0];
const commands = after.commands - before.commands;
const sortedMs = outcome.ms.toSorted((a, b) => a - b);
const msRange = `${sortedMs[0]}–${sortedMs.at(-1)} ms each, median ${sortedMs[sortedMs.length >> 1]} ms`;
const workerExits = final.peers.exits.filter((e) => e.kind === 'worker');
console.log('');
console.log(`Summary after ${elapsed().slice(2)}`);
console.log(
  `  jobs: ${outcome.done} done (${msRange}), ${outcome.failed.length} failed (${outcome.failed.map((f) => `${f.id}: ${failureCodes.get(f.id)}`).join('; ')}), ${outcome.lost.length} lost with a worker and retried (${outcome.lost.map((l) => l.id).join(', ')})`,
);
console.log(
  `  jobs per worker: ${threadCounters
    .sort(([a], [b]) => a - b)
    .map(([id, n]) => `thread ${id}: ${n}${id === lostThread ? ' (then died)' : ''}`)
    .join(', ')} (sum ${threadCounters.reduce((s, [, n]) => s + n, 0)})`,
);
console.log(
  `  store: ${fmt(commands)} commands in ${runSeconds.toFixed(2)}s = ${fmt(commands / runSeconds)} commands/s; mailbox queue at most ${peakQueue} deep (sampled every 500 ms)`,
);
console.log(
  `  counters: ${counterNames.map((name) => `count:jobs:${name}=${count(`count:jobs:${name}`)}`).join(', ')}; results ${final.results.stored} stored with a ${CONFIG.resultTtlMs / 1000}s TTL, ${final.results.expired} expired`,
);
console.log(
  `  auditor (child pid ${report.pid}): ${report.set} results audited, ${report.checked} checked, ${report.bad} bad, ${report.expire} expiries seen, ${report.alerts} alerts; exited with code ${auditorEnd.code}`,
);
console.log(
  `  peers: ${final.peers.joins.worker} workers and ${final.peers.joins.process} process joined; during the run ${workerExits.map((e) => `a worker (client #${e.id}) exited with code ${e.exitCode}`).join(', ') || 'no worker exited'}`,
);

const perThreadMatches =
  threadCounters.length === outcome.perThread.size && threadCounters.every(([id, n]) => outcome.perThread.get(id) === n);
const checks = [
  ['the scripted faults happened: 1 job failed, 1 worker lost', outcome.failed.length === 1 && outcome.lost.length === 1],
  ['every job settled once', outcome.done + outcome.failed.length === JOBS.length],
  ['count:jobs:done = jobs the main thread saw complete', count('count:jobs:done') === outcome.done],
  ['count:jobs:failed = jobs that failed', count('count:jobs:failed') === outcome.failed.length],
  ['count:jobs:started = jobs + retries', count('count:jobs:started') === JOBS.length + outcome.lost.length],
  ['count:jobs:lost = workers lost mid-job', count('count:jobs:lost') === outcome.lost.length],
  [
    'per-thread counters match the threads the main thread saw, and add up to the total',
    perThreadMatches && threadCounters.reduce((s, [, n]) => s + n, 0) === outcome.done,
  ],
  [
    'every result stored once and expired (none left)',
    final.results.stored === outcome.done && final.results.expired === outcome.done && resultsLeft.length === 0,
  ],
  [
    "the auditor's count matches: every result audited and expired, none bad",
    report.set === outcome.done && report.checked === outcome.done && report.expire === outcome.done && report.bad === 0,
  ],
  [
    'the auditor alerted on each fault, and the main thread heard each alert',
    report.alerts === outcome.failed.length + outcome.lost.length && final.alerts.length === report.alerts,
  ],
  [
    'peers(): the lost worker exited with code 3 and was replaced; the auditor joined and left cleanly',
    workerExits.length === outcome.lost.length &&
      workerExits.every((e) => e.exitCode === 3) &&
      final.peers.joins.worker === THREADS + outcome.lost.length &&
      final.peers.joins.process === 1 &&
      auditorEnd.code === 0,
  ],
];
for (const [what, ok] of checks) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
const failed = checks.filter(([, ok]) => !ok);
const open = live.filter((s) => !s.closed).length;
if (open) failed.push([`${open} view subscriptions still open after store.close()`]);
for (const subscription of live) subscription.unsubscribe(); // so that even then, nothing keeps the process alive
if (failed.length === 0) {
  console.log('totals check: ok');
} else {
  console.log(`totals check: FAILED (${failed.map(([what]) => what).join('; ')})`);
  process.exitCode = 1;
}
