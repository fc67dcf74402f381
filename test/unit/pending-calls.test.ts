import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PendingCalls } from '../../src/pending-calls.js';

describe('PendingCalls', () => {
  it('settles each call exactly once, in any order, like a Map of calls would', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant('add' as const), fc.nat(10_000), fc.constant('expire' as const)), { maxLength: 300 }),
        (ops) => {
          const calls = new PendingCalls();
          const model = new Map<number, number>(); // seq → tick
          const settled: Array<[number, string]> = [];
          let seq = 0;
          let tick = 0;
          for (const op of ops) {
            if (op === 'add') {
              seq += 1 + (seq % 3 === 0 ? 5000 : 0); // gaps (sync calls) and jumps past the rebase point
              const mine = seq;
              calls.add(
                mine,
                () => settled.push([mine, 'ok']),
                () => settled.push([mine, 'error']),
                'kv.get',
                tick,
              );
              model.set(mine, tick);
            } else if (op === 'expire') {
              tick++;
              calls.expire(tick - 2, () => new Error('late'));
              for (const [s, t] of model) if (t <= tick - 2) model.delete(s);
            } else {
              const target = op % (seq + 1);
              expect(calls.settle(target, true, 1)).toBe(model.delete(target));
            }
            expect(calls.size).toBe(model.size);
          }
          const before = settled.length;
          calls.rejectAll(new Error('closed'));
          expect(settled.length - before).toBe(model.size);
          expect(new Set(settled.map(([s]) => s)).size).toBe(settled.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps a slow call pending while thousands of others come and go (it moves aside)', () => {
    const calls = new PendingCalls();
    let slowSettled = false;
    calls.add(
      1,
      () => (slowSettled = true),
      () => {},
      'kv.update',
      0,
    );
    for (let seq = 2; seq < 50_000; seq++) {
      calls.add(
        seq,
        () => {},
        () => {},
        'kv.get',
        0,
      );
      expect(calls.settle(seq, true, seq)).toBe(true);
    }
    expect(calls.size).toBe(1);
    expect(calls.settle(1, true, 'done')).toBe(true);
    expect(slowSettled).toBe(true);
    expect(calls.size).toBe(0);
  });
});
