import { describe, expect, it } from 'vitest';
import { bucketOf, bumpStamp, createStampTable, EPOCH, STAMP_BUCKETS } from '../../src/cache/stamp-table.js';

describe('stamp table', () => {
  it('gives every key an even index of one bucket, the same each time', () => {
    for (const key of ['a', 'config:limits', 'x'.repeat(100), '__proto__', 'ключ']) {
      const at = bucketOf(key);
      expect(at % 2).toBe(0);
      expect(at).toBeGreaterThanOrEqual(0);
      expect(at).toBeLessThan(STAMP_BUCKETS * 2);
      expect(bucketOf(key)).toBe(at);
    }
  });

  it('spreads keys over the buckets', () => {
    const used = new Set(Array.from({ length: 10_000 }, (_, i) => bucketOf(`key:${i}`)));
    expect(used.size).toBeGreaterThan(STAMP_BUCKETS * 0.9);
  });

  it('never repeats a stamp when the low half wraps: the high half moves first', () => {
    const table = createStampTable();
    const at = bucketOf('k');
    table[at] = -2;
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      seen.add(`${table[at]}:${table[at + 1]}`);
      bumpStamp(table, at);
    }
    expect(seen.size).toBe(4);
    expect(table[at]).toBe(2);
    expect(table[at + 1]).toBe(1);
  });

  it('keeps the epoch apart from every bucket', () => {
    const table = createStampTable();
    bumpStamp(table, EPOCH);
    expect(table[EPOCH]).toBe(1);
    expect(table.slice(0, EPOCH).every((stamp) => stamp === 0)).toBe(true);
  });
});
