// Helpers for benches whose figure is not "operations per round time" as
// lib.mjs's compare() measures it: a latency percentile, or a count of what
// actually arrived (deliveries counted by the receivers). They sit on top of
// compare(), so calibration, warm-up and the interleaving of rounds
// (kvbus, baseline, kvbus, …) are the same as in every other bench: each side
// simply reports its own figure for each call, and the pairs are made from
// those reports instead of from the round's length.

import { performance } from 'node:perf_hooks';
import { compare, DEFAULTS, median } from '../lib.mjs';

export { printNotes } from '../lib.mjs';

/**
 * The p50 and p99 of some latencies (nearest rank).
 * @param {ArrayLike<number>} samples - latencies in milliseconds
 * @returns {{ p50: number, p99: number }} in milliseconds
 */
export function percentiles(samples) {
  const sorted = Float64Array.from(samples).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p99: at(0.99) };
}

/**
 * Like compare(), but each side returns its own figure for each call.
 *
 * @param {object} spec
 * @param {(n: number) => Promise<{ rate: number }>} spec.kvbus - does `n` operations; resolves to
 *   `{ rate }` (per second: operations per second, or 1 / p50 for a latency) and any other fields
 * @param {(n: number) => Promise<{ rate: number }>} spec.baseline - the same without kvbus
 * @returns {Promise<{ pairs: Array<[number, number]>, clock: string, kvbus: object[], baseline: object[] }>}
 *   the `[kvbus, baseline]` rates of adjacent timed rounds, and every timed round's report per side
 */
export async function compareReported({ kvbus, baseline, ...options }) {
  const reports = { kvbus: [], baseline: [] };
  const record = (side, fn) => async (n) => {
    reports[side].push(await fn(n));
  };
  const { clock } = await compare({ kvbus: record('kvbus', kvbus), baseline: record('baseline', baseline), ...options });
  // compare() calibrates kvbus, then the baseline, then runs the timed rounds in
  // turn: the last `rounds` calls of each side are the timed ones, in pair order.
  const rounds = options.rounds ?? DEFAULTS.rounds;
  const a = reports.kvbus.slice(-rounds);
  const b = reports.baseline.slice(-rounds);
  return { pairs: a.map((report, i) => [report.rate, b[i].rate]), clock, kvbus: a, baseline: b };
}

/**
 * Turns a side that returns latencies into one that reports `{ rate: 1 / p50, p50, p99 }`.
 * @param {(n: number) => Promise<{ p50: number, p99: number } | ArrayLike<number>>} fn - does `n`
 *   timed calls; resolves to their percentiles (ms) or to the latencies themselves (ms)
 * @returns {(n: number) => Promise<{ rate: number, p50: number, p99: number }>} a side for {@link compareReported}
 */
export function latencySide(fn) {
  return async (n) => {
    const result = await fn(n);
    const { p50, p99 } = typeof result.p50 === 'number' ? result : percentiles(result);
    return { rate: 1000 / p50, p50, p99 };
  };
}

/**
 * Turns a side that counts what it did (deliveries that arrived, say) into one that
 * reports `{ rate: count / wall time }`: the round's length is measured here.
 * @param {(n: number) => Promise<number>} fn - does `n` operations; resolves to the count to rate
 * @returns {(n: number) => Promise<{ rate: number, count: number }>} a side for {@link compareReported}
 */
export function countedSide(fn) {
  return async (n) => {
    const t0 = performance.now();
    const count = await fn(n);
    return { rate: (count * 1000) / (performance.now() - t0), count };
  };
}

/**
 * Median p50 and p99 of the timed rounds of a latency side, for a note.
 * @param {Array<{ p50: number, p99: number }>} reports - a side's reports from {@link compareReported}
 * @returns {string} e.g. `p50 31.2 µs, p99 54.0 µs`
 */
export function describeLatency(reports) {
  const p50 = median(reports.map((r) => r.p50));
  const p99 = median(reports.map((r) => r.p99));
  return `p50 ${micros(p50)}, p99 ${micros(p99)}`;
}

/**
 * The median, over the timed pairs, of kvbus's p50 ÷ the baseline's p50 (the inverse of the table's ratio).
 * @param {{ kvbus: Array<{ p50: number }>, baseline: Array<{ p50: number }> }} result - from {@link compareReported}
 * @returns {string} e.g. `p50 ratio 1.18`
 */
export function p50Ratio({ kvbus, baseline }) {
  return `p50 ratio ${median(kvbus.map((r, i) => r.p50 / baseline[i].p50)).toFixed(2)}`;
}

/**
 * Formats milliseconds as microseconds with three significant digits.
 * @param {number} ms - a duration
 * @returns {string} e.g. `31.2 µs`
 */
export function micros(ms) {
  return `${(ms * 1000).toPrecision(3)} µs`;
}
