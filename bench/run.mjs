// Runs the benchmarks and prints one table of ratios to their baselines.
//
//   npm run bench                                      every bench, in order
//   node --expose-gc bench/run.mjs core redis          only the benches whose name contains "core" or "redis"
//   node --expose-gc bench/run.mjs --passes 1 core     one process per bench instead of three (quicker, noisier)
//
// Each bench file runs in its own Node process, so one bench's heap (10 000
// subscriptions, say) and JIT state cannot tilt the next one; and it runs in
// several passes (all benches, then all again, …), because a process's JIT
// choices move the ratios more than the rounds within it do. The rounds of all
// passes are pooled before taking medians.
//
// A bench file's default export is an async function returning rows:
//   { question, unit, target, pairs, clock }   (pairs and clock come from compare() in lib.mjs)

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
  'core-object-copy',
  'worker-latency',
  'worker-throughput',
  'worker-sync',
  'worker-publish',
  'redis-backend',
];

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
  const selected = filters.length === 0 ? BENCHES : BENCHES.filter((name) => filters.some((f) => name.includes(f)));
  if (selected.length === 0) return usage(`No bench matches ${filters.map((f) => JSON.stringify(f)).join(', ')}`);

  if (!existsSync(new URL('../dist/index.js', import.meta.url)))
    return usage('dist/index.js is missing: build first (npm run build), or run npm run bench, which does');

  const cpus = os.cpus();
  console.log(
    `kvbus benchmark — ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, Node ${process.version}, ${os.platform()} ${os.arch()}`,
  );
  console.log(`${selected.length} bench(es) × ${passes} pass(es), one process each; rounds of kvbus and its baseline interleaved.\n`);

  const started = performance.now();
  const rows = new Map(); // question → row with the pairs of every pass
  for (let pass = 1; pass <= passes; pass++) {
    for (const name of selected) {
      const t0 = performance.now();
      process.stdout.write(`  pass ${pass}/${passes}  ${name.padEnd(24)} `);
      for (const row of await runChild(name)) {
        const seen = rows.get(row.question);
        if (seen) seen.pairs.push(...row.pairs);
        else rows.set(row.question, row);
      }
      process.stdout.write(`${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    }
  }

  const results = [...rows.values()].map((row) => ({ ...row, ...summarize(row.pairs) }));
  if (results.length === 0) {
    console.log('\nNo figures: every selected bench was skipped (see above).');
    return;
  }
  const cells = results.map((r) => [
    r.question,
    formatRate(r.kvbus, r.unit),
    formatRate(r.baseline, r.unit),
    `${r.ratio.toFixed(3)} (${r.ratioMin.toFixed(2)}–${r.ratioMax.toFixed(2)})`,
    `≥ ${r.target.toFixed(2)}`,
    r.ratio >= r.target ? 'PASS' : 'MISS',
  ]);
  console.log(`\n${table(['question', 'kvbus', 'baseline', 'ratio (range)', 'target', ''], cells, new Set([1, 2]))}`);
  const clocks = [...new Set(results.map((r) => r.clock))].join(' and ');
  console.log(
    `\nFigures are medians over ${results[0].rounds} rounds (${clocks} time); the ratio is kvbus ÷ baseline, median of adjacent-round pairs (range of the pairs).`,
  );
  const missed = results.filter((r) => r.ratio < r.target).length;
  console.log(`${results.length - missed}/${results.length} targets met; ${((performance.now() - started) / 1000).toFixed(1)} s.`);
}

function usage(message) {
  console.error(`${message}\nUsage: node --expose-gc bench/run.mjs [--passes N] [name-filter …]\nBenches: ${BENCHES.join(', ')}`);
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
      if (rows) resolve(rows);
      else reject(new Error(`bench ${name} exited with ${signal ?? `code ${code}`} before reporting`));
    });
  });
}
