// A small benchmark harness. Each question is kvbus doing some work against a
// baseline doing the same work without kvbus, in the same process, in
// interleaved rounds (A, B, A, B, …) so that machine noise — another process,
// a frequency change, a GC — lands on both sides alike. The figure that
// matters is the ratio, taken per pair of adjacent rounds; the reported ratio
// is the median of the pairs, with their range so a reader can judge the noise.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { findRedisServer, freePort, ping } from '../tools/redis-server.mjs';

/** Defaults of {@link compare}; a bench may override any of them per question. */
export const DEFAULTS = {
  /** Timed rounds per side. */
  rounds: 7,
  /** Minimum length of one timed round. */
  roundMs: 200,
  /** Untimed running per side before the first timed round (JIT tiers, caches, heap sizing). */
  warmupMs: 300,
  /**
   * What a round's length is measured in. `'wall'`: elapsed time, right for anything
   * that waits (threads, sockets). `'cpu'`: CPU time of this process, for work that
   * runs on the main thread only — a round then does not count the time another
   * process held the core, which on a small shared machine is most of the noise.
   */
  clock: 'wall',
};

// BENCH_VERBOSE=1 prints every round; BENCH_CLOCK=wall|cpu overrides every bench's clock.
const VERBOSE = Boolean(process.env.BENCH_VERBOSE);
const CLOCK = process.env.BENCH_CLOCK;
const gc = typeof globalThis.gc === 'function' ? globalThis.gc : () => {};

/**
 * Times one call of `fn(n)` (which does `n` operations).
 * @param {(n: number) => unknown} fn - the work; may return a promise
 * @param {number} n - how many operations to do
 * @param {'wall' | 'cpu'} clock - what to measure
 * @returns {Promise<number>} the elapsed milliseconds
 */
async function time(fn, n, clock) {
  if (clock === 'cpu') {
    const before = process.cpuUsage();
    await fn(n);
    const { user, system } = process.cpuUsage(before);
    return (user + system) / 1000;
  }
  const t0 = performance.now();
  await fn(n);
  return performance.now() - t0;
}

/**
 * Warms `fn` up and finds how many operations make a round of `roundMs`.
 * @param {(n: number) => unknown} fn - the work
 * @param {number} roundMs - the target round length
 * @param {number} warmupMs - how long to run it untimed first
 * @param {'wall' | 'cpu'} clock - what to measure
 * @returns {Promise<number>} operations per round
 */
async function calibrate(fn, roundMs, warmupMs, clock) {
  const start = performance.now();
  let n = 64;
  let ms = await time(fn, n, clock);
  // Grow until one call is long enough to time reliably, then keep warming up.
  while (ms < 25) {
    n *= ms < 2 ? 8 : 2;
    ms = await time(fn, n, clock);
  }
  while (performance.now() - start < warmupMs) ms = await time(fn, n, clock);
  return Math.max(1, Math.ceil((n * roundMs) / ms));
}

/**
 * The median of some numbers.
 * @param {number[]} values - at least one number
 * @returns {number} the median
 */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Measures kvbus against a baseline in interleaved rounds.
 *
 * @param {object} spec
 * @param {(n: number) => unknown} spec.kvbus - does `n` operations through kvbus (may be async)
 * @param {(n: number) => unknown} spec.baseline - does the same `n` operations without kvbus
 * @param {number} [spec.rounds] - timed rounds per side
 * @param {number} [spec.roundMs] - minimum length of one round
 * @param {number} [spec.warmupMs] - untimed warm-up per side
 * @param {'wall' | 'cpu'} [spec.clock] - what to measure (see {@link DEFAULTS})
 * @returns {Promise<{ pairs: Array<[number, number]>, clock: string }>} operations per second of
 *   each round, as `[kvbus, baseline]` pairs of adjacent rounds; {@link summarize} turns them into figures
 * @example
 * const pairs = await compare({ kvbus: (n) => viaStore(n), baseline: (n) => viaMap(n) });
 * console.log(summarize(pairs).ratio);
 */
export async function compare({ kvbus, baseline, ...options }) {
  const { rounds, roundMs, warmupMs, clock: chosen } = { ...DEFAULTS, ...options };
  const clock = CLOCK ?? chosen;
  const nA = await calibrate(kvbus, roundMs, warmupMs, clock);
  const nB = await calibrate(baseline, roundMs, warmupMs, clock);
  const pairs = [];
  for (let i = 0; i < rounds; i++) {
    gc();
    const a = nA / ((await time(kvbus, nA, clock)) / 1000);
    gc();
    const b = nB / ((await time(baseline, nB, clock)) / 1000);
    pairs.push([a, b]);
    if (VERBOSE) console.error(`    round ${i + 1}: kvbus ${formatRate(a)}  baseline ${formatRate(b)}  ratio ${(a / b).toFixed(3)}`);
  }
  return { pairs, clock };
}

/**
 * Turns round pairs (from one or several processes) into the reported figures.
 * @param {Array<[number, number]>} pairs - `[kvbus, baseline]` operations per second of adjacent rounds
 * @returns {{ kvbus: number, baseline: number, ratio: number, ratioMin: number, ratioMax: number, rounds: number }}
 *   the median rate of each side, and the median, lowest and highest ratio of the pairs
 */
export function summarize(pairs) {
  const ratios = pairs.map(([a, b]) => a / b);
  return {
    kvbus: median(pairs.map(([a]) => a)),
    baseline: median(pairs.map(([, b]) => b)),
    ratio: median(ratios),
    ratioMin: Math.min(...ratios),
    ratioMax: Math.max(...ratios),
    rounds: pairs.length,
  };
}

/**
 * Formats a rate with three significant digits: `1.23 M ops/s`, `456 k pairs/s`.
 * @param {number} perSecond - a rate
 * @param {string} [unit] - what is counted
 * @returns {string} the formatted rate
 */
export function formatRate(perSecond, unit = 'ops') {
  const [value, prefix] =
    perSecond >= 1e9
      ? [perSecond / 1e9, 'G ']
      : perSecond >= 1e6
        ? [perSecond / 1e6, 'M ']
        : perSecond >= 1e3
          ? [perSecond / 1e3, 'k ']
          : [perSecond, ''];
  return `${value.toPrecision(3)} ${prefix}${unit}/s`;
}

/**
 * Renders rows as an aligned text table.
 * @param {string[]} header - the column titles
 * @param {string[][]} rows - the cells
 * @param {Set<number>} [rightAligned] - indexes of the columns to right-align
 * @returns {string} the table, one line per row, with a rule under the header
 */
export function table(header, rows, rightAligned = new Set()) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    cells
      .map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/**
 * A row of absolute figures, for a bench whose answer is not a ratio of rates
 * measured in interleaved rounds (a soak's ops/s, a heap size). run.mjs prints
 * its cells as given; `verdict` `'FAIL'` makes `npm run bench` exit non-zero.
 *
 * @param {string} question - what the row answers (unique across benches)
 * @param {object} cells - the cells, already formatted
 * @param {string} cells.value - kvbus's figure
 * @param {string} [cells.baseline] - the baseline's figure, if any
 * @param {string} [cells.ratio] - kvbus ÷ baseline, if any
 * @param {string} [cells.target] - the target, e.g. `≤ 1.50`
 * @param {'PASS' | 'MISS' | 'FAIL'} [cells.verdict] - MISS: a target missed; FAIL: a broken promise
 * @returns {{ kind: 'figure', question: string, value: string, baseline: string, ratio: string, target: string, verdict: string }}
 * @example
 * figureRow('soak memory: ops/s', { value: formatRate(opsPerSecond) });
 */
export function figureRow(question, { value, baseline = '', ratio = '', target = '', verdict = '' }) {
  return { kind: 'figure', question, value, baseline, ratio, target, verdict };
}

/**
 * Formats bytes in MB (10^6) with one decimal: `12.3 MB`.
 * @param {number} bytes - a size
 * @returns {string} the formatted size
 */
export function formatMB(bytes) {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/**
 * Starts a private redis-server without persistence on a free loopback port
 * (never the shared one), and resolves once it answers PING.
 * @param {string} binary - the redis-server to run (see findRedisServer in tools/redis-server.mjs)
 * @returns {Promise<{ url: string, stop: () => Promise<void> }>} its URL, and a function that stops it and removes its directory
 */
export async function startRedisServer(binary) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'kvbus-bench-redis-'));
    const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: 'ignore',
    });
    const kill = () => child.kill('SIGKILL');
    process.once('exit', kill); // never leave it behind, even if the bench crashes
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let up = false;
    for (const deadline = Date.now() + 5000; Date.now() < deadline && child.exitCode === null; ) {
      if ((up = await ping(port))) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const stop = async () => {
      child.kill('SIGTERM');
      await exited;
      process.off('exit', kill);
      rmSync(dir, { recursive: true, force: true });
    };
    if (up) return { url: `redis://127.0.0.1:${port}`, stop };
    await stop();
    // Another process may have taken the port between the probe and the start.
    if (attempt === 3) throw new Error(`redis-server (${binary}) did not start on a free loopback port`);
  }
}

/**
 * Runs `measure` against a private redis-server (see startRedisServer), or
 * prints why those rows were skipped when there is no redis-server to run.
 * @param {string} rows - the rows, for the note (`'f–h. Redis benches'`)
 * @param {(url: string) => Promise<object[]>} measure - the bench's rows, given the server's URL
 * @returns {Promise<object[]>} what measure returned, or no rows
 */
export async function onPrivateRedis(rows, measure) {
  const binary = findRedisServer();
  if (!binary) {
    const why = process.env.KVBUS_REDIS_SERVER
      ? `KVBUS_REDIS_SERVER=${process.env.KVBUS_REDIS_SERVER} is not an executable`
      : 'no redis-server on PATH';
    printNotes([`${rows} SKIPPED: ${why} (apt-get install redis-server, or set KVBUS_REDIS_SERVER to the binary)`]);
    return [];
  }
  const server = await startRedisServer(binary);
  try {
    return await measure(server.url);
  } finally {
    await server.stop();
  }
}

/**
 * Prints a bench's notes (p50/p99, context figures, skips) on the progress line
 * of run.mjs, indented under it, and leaves the cursor where run.mjs prints the
 * bench's duration, so the progress column stays aligned.
 * @param {string[]} lines - one note per line
 */
export function printNotes(lines) {
  if (lines.length === 0) return;
  process.stdout.write(`\n${lines.map((line) => `      ${line}`).join('\n')}\n${' '.repeat(37)}`);
}
