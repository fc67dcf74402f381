// A live dashboard over a simulated job system, on kvbus's in-memory default store.
//
// Jobs (timers standing in for real work) report through the store only: they
// publish progress on `job:<id>:progress`, `incr` the `stats:done` /
// `stats:failed` counters, and `set` their result under `result:<id>` with a
// TTL. The dashboard never asks a job anything: it composes the store's
// observables into one view and redraws it.
//
//   npm run demo            (builds, then runs this file; exits by itself in ~5 s)
//   node examples/live-dashboard/main.mjs | cat    plain appended lines, as in a CI log

import { getStore } from 'kvbus';
import { auditTime, combineLatest, filter, map, merge, sampleTime, scan, share, startWith, take } from 'rxjs';

const RESULT_TTL_MS = 2_000;
const DEADLINE_MS = 12_000;
const TTY = process.stdout.isTTY === true;

// A seeded generator: the same jobs, steps and failure on every run, so logs can be compared.
function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = random(7);

const JOBS = [
  { id: 'thumbnails', startAt: 0 },
  { id: 'transcode', startAt: 150 },
  { id: 'index-docs', startAt: 300 },
  { id: 'backup-db', startAt: 450, failAt: 55, error: 'disk quota exceeded' },
  { id: 'send-mail', startAt: 700 },
  { id: 'report-q3', startAt: 900 },
];

const store = getStore();
const t0 = performance.now();
const elapsed = () => `t+${((performance.now() - t0) / 1000).toFixed(2)}s`;

// ---------------------------------------------------------------------------
// The reactive side: everything the dashboard shows is derived from the store.

// Every job's progress messages, from one pattern subscription shared by the table and the log.
const progress$ = store.pattern('job:*:progress').pipe(share());

// The job table: fold each progress message into a Map of the latest state per job.
const jobs$ = progress$.pipe(
  scan((jobs, { data }) => new Map(jobs).set(data.id, data), new Map()),
  startWith(new Map()),
);

// The counters: `watch` gives the current value (undefined while absent), then each change.
const counts$ = combineLatest([store.watch('stats:done'), store.watch('stats:failed')]).pipe(
  map(([done = 0, failed = 0]) => ({ done, failed })),
);

// The results: `set` adds one, and its TTL running out arrives as an `expire` change.
const results$ = store.changes('result:*').pipe(
  scan(
    (acc, change) => {
      const live = new Map(acc.live);
      if (change.type === 'set') live.set(change.key, change.value);
      else live.delete(change.key);
      return {
        live,
        stored: acc.stored + (change.type === 'set' ? 1 : 0),
        expired: acc.expired + (change.type === 'expire' ? 1 : 0),
      };
    },
    { live: new Map(), stored: 0, expired: 0 },
  ),
  startWith({ live: new Map(), stored: 0, expired: 0 }),
);

// A log of what happened: a job starting, finishing or failing, and results coming and going.
const log$ = merge(
  progress$.pipe(
    filter(({ data }) => data.state !== 'running' || data.pct === 0),
    map(
      ({ channel, data }) =>
        `${channel.padEnd(26)} ${
          data.state === 'running'
            ? 'started'
            : data.state === 'done'
              ? `done in ${(data.ms / 1000).toFixed(2)}s`
              : `FAILED at ${data.pct}%: ${data.error}`
        }`,
    ),
  ),
  store.changes('result:*').pipe(map((c) => `${c.key.padEnd(26)} ${c.type}${c.type === 'set' ? ` (ttl ${RESULT_TTL_MS / 1000}s)` : ''}`)),
).pipe(
  map((line) => `${elapsed().padEnd(8)} ${line}`),
  share(),
);

const recent$ = log$.pipe(
  scan((lines, line) => [...lines, line].slice(-7), []),
  startWith([]),
);

const view$ = combineLatest([jobs$, counts$, results$, recent$]).pipe(
  map(([jobs, counts, results, recent]) => ({ jobs, counts, results, recent })),
  share(),
);

// Done when every job has settled and every result has expired.
const finished$ = view$.pipe(
  filter(({ counts, results }) => counts.done + counts.failed === JOBS.length && results.stored > 0 && results.live.size === 0),
  take(1),
);

// ---------------------------------------------------------------------------
// Rendering: a redrawn frame on a terminal, appended lines anywhere else.

const BAR = 24;
function bar(pct) {
  const full = Math.round((pct / 100) * BAR);
  return TTY ? '█'.repeat(full) + '░'.repeat(BAR - full) : '#'.repeat(full) + '.'.repeat(BAR - full);
}

function stateText(job) {
  if (job.state === 'done') return `done in ${(job.ms / 1000).toFixed(2)}s`;
  if (job.state === 'failed') return `FAILED: ${job.error}`;
  return 'running';
}

function frame({ jobs, counts, results, recent }) {
  const running = [...jobs.values()].filter((j) => j.state === 'running').length;
  const lines = [`kvbus live dashboard · in-memory store · ${elapsed()}`, '', ` ${'job'.padEnd(12)} ${'progress'.padEnd(BAR + 5)} state`];
  for (const { id } of JOBS) {
    const job = jobs.get(id);
    lines.push(
      job
        ? ` ${id.padEnd(12)} ${bar(job.pct)} ${String(job.pct).padStart(3)}%  ${stateText(job)}`
        : ` ${id.padEnd(12)} ${' '.repeat(BAR + 5)} waiting`,
    );
  }
  lines.push(
    '',
    ` stats:done ${counts.done} · stats:failed ${counts.failed} · running ${running} │ results: ${results.live.size} live, ${results.expired} expired`,
    '',
    ' recent events',
    ...recent.map((l) => `   ${l}`),
  );
  return lines;
}

let drawn = 0;
function redraw(view) {
  const lines = frame(view);
  // Back to the top of the previous frame, clear it, draw the new one.
  const up = drawn > 0 ? `\x1b[${drawn}F` : '';
  process.stdout.write(`${up}\x1b[J${lines.join('\n')}\n`);
  drawn = lines.length;
}

function statusLine({ jobs, counts, results }) {
  const table = JOBS.map(({ id }) => {
    const job = jobs.get(id);
    return `${id} ${job ? (job.state === 'failed' ? 'failed' : `${job.pct}%`) : '-'}`;
  }).join(', ');
  return `${elapsed().padEnd(8)} status: ${table} | done ${counts.done}, failed ${counts.failed} | results live ${results.live.size}, expired ${results.expired}`;
}

const subscriptions = [];
let last;
// Closing the store completes every observable built on it; this resolves when all the
// dashboard's subscriptions have seen their `complete`.
let completed = 0;
let allCompleted;
const streamsCompleted = new Promise((resolve) => (allCompleted = resolve));
const onComplete = () => {
  if (++completed === subscriptions.length) allCompleted();
};
if (TTY) {
  process.stdout.write('\x1b[?25l'); // hide the cursor while redrawing
  subscriptions.push(view$.subscribe({ next: (v) => (last = v), complete: onComplete }));
  subscriptions.push(view$.pipe(auditTime(80)).subscribe({ next: redraw, complete: onComplete }));
} else {
  subscriptions.push(view$.subscribe({ next: (v) => (last = v), complete: onComplete }));
  subscriptions.push(log$.subscribe({ next: (line) => console.log(line), complete: onComplete }));
  subscriptions.push(view$.pipe(sampleTime(1000)).subscribe({ next: (v) => console.log(statusLine(v)), complete: onComplete }));
}

// ---------------------------------------------------------------------------
// The jobs: they know only the store.

function runJob(job) {
  const channel = `job:${job.id}:progress`;
  const started = performance.now();
  let pct = 0;
  return new Promise((resolve, reject) => {
    const later = (fn, ms) => setTimeout(() => fn().catch(reject), ms);
    const step = async () => {
      pct = Math.min(100, pct + 4 + Math.floor(rand() * 11));
      if (job.failAt !== undefined && pct >= job.failAt) {
        await store.incr('stats:failed');
        await store.publish(channel, { id: job.id, pct, state: 'failed', error: job.error });
        return resolve();
      }
      if (pct === 100) {
        const ms = Math.round(performance.now() - started);
        await store.set(`result:${job.id}`, { id: job.id, ms, output: `${job.id}.out` }, { ttlMs: RESULT_TTL_MS });
        await store.incr('stats:done');
        await store.publish(channel, { id: job.id, pct, state: 'done', ms });
        return resolve();
      }
      await store.publish(channel, { id: job.id, pct, state: 'running' });
      later(step, 120 + rand() * 160);
    };
    later(async () => {
      await store.publish(channel, { id: job.id, pct: 0, state: 'running' });
      later(step, 120 + rand() * 160);
    }, job.startAt);
  });
}

// The store's TTL timer does not keep the process alive by itself (by design), so this one
// does until the last result has expired — and stops a run that went wrong.
const deadline = setTimeout(() => {
  console.error(`\nThe demo did not finish within ${DEADLINE_MS / 1000}s: ${last ? statusLine(last) : 'no view yet'}`);
  process.exitCode = 1;
  finish();
}, DEADLINE_MS);

function restoreCursor() {
  if (TTY) process.stdout.write('\x1b[?25h');
}
process.on('SIGINT', () => {
  restoreCursor();
  process.exit(130);
});

let finishing = false;
async function finish() {
  if (finishing) return;
  finishing = true;
  clearTimeout(deadline);
  const stats = await store.stats();
  const left = await store.getAll();

  // Closing the store completes every observable built on it: the dashboard's
  // subscriptions end by themselves (a pending redraw is flushed first), nothing
  // needs unsubscribing by hand.
  await store.close();
  await Promise.race([streamsCompleted, new Promise((resolve) => setTimeout(resolve, 500))]);
  if (TTY && last) redraw(last);
  restoreCursor();

  const { jobs, counts, results } = last;
  const durations = [...jobs.values()].filter((j) => j.state === 'done').map((j) => j.ms);
  const failed = [...jobs.values()].filter((j) => j.state === 'failed');
  console.log(
    [
      '',
      `Summary after ${elapsed().slice(2)}`,
      `  jobs: ${counts.done} done, ${counts.failed} failed${failed.map((j) => ` (${j.id}: ${j.error})`).join('')}`,
      `  mean duration of finished jobs: ${(durations.reduce((a, b) => a + b, 0) / Math.max(1, durations.length) / 1000).toFixed(2)}s`,
      `  results: ${results.stored} stored with a ${RESULT_TTL_MS / 1000}s TTL, ${results.expired} expired (each seen as an 'expire' change)`,
      `  keys left: ${[...left].map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ') || 'none'}`,
      `  store: ${stats.commands} commands applied, ${stats.subscriptions} subscriptions, ${stats.keys} keys`,
    ].join('\n'),
  );
  const open = subscriptions.filter((s) => !s.closed).length;
  console.log(`Store closed; ${completed}/${subscriptions.length} dashboard streams completed${open ? `, ${open} still open` : ''}.`);
  if (open) process.exitCode = 1;
}

// Subscribing is a command too: once this answers, every subscription above is active,
// so no job message can be missed.
const { subscriptions: active } = await store.stats();
if (!TTY) console.log(`${elapsed().padEnd(8)} dashboard listening (${active} subscriptions); starting ${JOBS.length} jobs`);

finished$.subscribe(() => finish().catch(fail));
Promise.all(JOBS.map(runJob)).catch(fail);

function fail(error) {
  restoreCursor();
  console.error(error);
  process.exit(1);
}
