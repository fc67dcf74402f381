// Runs the benchmarks and prints one table of ratios to their baselines.
//
//   npm run bench                                      every bench, in order
//   node --expose-gc bench/run.mjs core redis          only the benches whose name contains "core" or "redis"
//   node --expose-gc bench/run.mjs --passes 1 core     one process per bench instead of three (quicker, noisier)
//   KVBUS_SOAK_SECONDS=5 node --expose-gc bench/run.mjs soak    a short soak (default 60 s per backend)
//
// Each bench file runs in its own Node process, so one bench's heap (10 000
// subscriptions, say) and JIT state cannot tilt the next one; and it runs in
// several passes (all benches, then all again, …), because a process's JIT
// choices move the ratios more than the rounds within it do. The rounds of all
// passes are pooled before taking medians.
//
// A bench file's default export is an async function returning rows:
//   { question, unit, target, pairs, clock }   (pairs and clock come from compare() in lib.mjs)
// or rows of absolute figures, printed as they are (figureRow() in lib.mjs):
//   { kind: 'figure', question, value, baseline, ratio, target, verdict }
// A bench that finds a broken promise (verdict 'FAIL', or a non-zero exit code)
// makes this process exit with code 1; a missed target does not.
//
// Benches marked `once` run in the last pass only: their figures are not
// ratios pooled over rounds (a soak's minutes of load, a heap size), and
// running them again would only lengthen the run.

import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { formatRate, summarize, table } from './lib.mjs';

// In order. Adding a bench is one line here and one file next to this one.
const BENCHES = [
  'core-main-thread',
  'core-publish-routing',
  'core-pattern-routing',
  'core-object-copy',
  'worker-latency',
  'worker-throughput',
  'worker-sync',
  'worker-publish',
  'worker-large-set',
  'cache-near', // issue #10: the near cache of workers
  'redis-backend',
  'redis-cache', // the client-side cache: kvbus clientCache, and node-redis's own clientSideCache
  'redis-history',
  'coordination', // `run.mjs coord` runs only this one
  { name: 'actor-hold', once: true }, // a million keys: once is enough, and it takes ~40 s
  { name: 'heap-per-key', once: true },
  { name: 'heap-per-subscription', once: true },
  { name: 'soak', once: true }, // last: it takes 2 × KVBUS_SOAK_SECONDS
].map((bench) => (typeof bench === 'string' ? { name: bench, once: false } : bench));
const NAMES = BENCHES.map((bench) => bench.name);

const PASSES = 3;

if (process.argv[2] === '--child') {
  // In a child: run one bench file and hand its rows to the parent.
  const { default: bench } = await import(new URL(`./${process.argv[3]}.mjs`, import.meta.url).href);
  const rows = await bench();
  process.send({ rows }, () => process.disconnect());
} else {
  await main(process.argv.slice(2));
}

async function main(args) {
  let passes = PASSES;
  const filters = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--passes') passes = Number(args[++i]);
    else filters.push(args[i]);
  }
  if (!Number.isInteger(passes) || passes < 1)
    return usage(`Expected \`--passes\` to be a positive integer, got ${args[args.indexOf('--passes') + 1]}`);
  const selected = filters.length === 0 ? BENCHES : BENCHES.filter(({ name }) => filters.some((f) => name.includes(f)));
  if (selected.length === 0) return usage(`No bench matches ${filters.map((f) => JSON.stringify(f)).join(', ')}`);

  if (!existsSync(new URL('../dist/index.js', import.meta.url)))
    return usage('dist/index.js is missing: build first (npm run build), or run npm run bench, which does');

  const cpus = os.cpus();
  console.log(
    `kvbus benchmark — ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, Node ${process.version}, ${os.platform()} ${os.arch()}`,
  );
  const repeated = selected.filter((bench) => !bench.once).length;
  console.log(
    `${selected.length} bench(es), ${repeated} of them × ${passes} pass(es), the others once; one process each; rounds of kvbus and its baseline interleaved.\n`,
  );

  const started = performance.now();
  const rows = new Map(); // question → row with the pairs of every pass
  const failed = []; // benches that exited non-zero after reporting
  for (let pass = 1; pass <= passes; pass++) {
    for (const { name, once } of selected) {
      if (once && pass !== passes) continue;
      const t0 = performance.now();
      process.stdout.write(`  ${once ? 'once     ' : `pass ${pass}/${passes}`}  ${name.padEnd(24)} `);
      const { rows: reported, code } = await runChild(name);
      for (const row of reported) {
        const seen = rows.get(row.question);
        if (seen && row.kind !== 'figure') seen.pairs.push(...row.pairs);
        else rows.set(row.question, row);
      }
      if (code !== 0) failed.push(`${name} (exit code ${code})`);
      process.stdout.write(`${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    }
  }

  const all = [...rows.values()];
  if (all.length === 0) {
    console.log('\nNo figures: every selected bench was skipped (see above).');
    return finish(failed);
  }
  const ratios = all.filter((row) => row.kind !== 'figure').map((row) => ({ ...row, ...summarize(row.pairs) }));
  const cells = all.map((row) => {
    if (row.kind === 'figure') return [row.question, row.value, row.baseline, row.ratio, row.target, row.verdict];
    const r = ratios.find((ratio) => ratio.question === row.question);
    return [
      r.question,
      formatRate(r.kvbus, r.unit),
      formatRate(r.baseline, r.unit),
      `${r.ratio.toFixed(3)} (${r.ratioMin.toFixed(2)}–${r.ratioMax.toFixed(2)})`,
      `≥ ${r.target.toFixed(2)}`,
      r.ratio >= r.target ? 'PASS' : 'MISS',
    ];
  });
  console.log(`\n${table(['question', 'kvbus', 'baseline', 'ratio (range)', 'target', ''], cells, new Set([1, 2]))}`);
  if (ratios.length > 0) {
    const clocks = [...new Set(ratios.map((r) => r.clock))].join(' and ');
    console.log(
      `\nRatio rows: medians over ${ratios[0].rounds} rounds (${clocks} time); the ratio is kvbus ÷ baseline, median of adjacent-round pairs (range of the pairs).`,
    );
  }
  const verdicts = cells.map((c) => c[5]).filter(Boolean);
  const met = verdicts.filter((v) => v === 'PASS').length;
  console.log(`${met}/${verdicts.length} targets met; ${((performance.now() - started) / 1000).toFixed(1)} s.`);
  const broken = all.filter((row) => row.verdict === 'FAIL').map((row) => row.question);
  finish([...failed, ...broken]);
}

/** Sets the exit code, loudly, when a bench found a broken promise or exited non-zero. */
function finish(failures) {
  if (failures.length === 0) return;
  console.error(`\nFAIL: ${failures.join('; ')}`);
  process.exitCode = 1;
}

function usage(message) {
  console.error(`${message}\nUsage: node --expose-gc bench/run.mjs [--passes N] [name-filter …]\nBenches: ${NAMES.join(', ')}`);
  process.exitCode = 2;
}

function runChild(name) {
  // Children inherit this process's flags (--cpu-prof included, one profile per bench) and get --expose-gc.
  const execArgv = process.execArgv.includes('--expose-gc') ? process.execArgv : [...process.execArgv, '--expose-gc'];
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--child', name], { execArgv });
    let rows;
    child.on('message', (message) => (rows = message.rows));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (rows) resolve({ rows, code: code ?? 1 });
      else reject(new Error(`bench ${name} exited with ${signal ?? `code ${code}`} before reporting`));
    });
  });
}
