import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createStore } from '../../src/index.js';
import { expectCode } from '../helpers/errors.js';

// A plain Map plus a revision counter is the whole model: every successful
// write (set, incr, compare-and-set, delete of a present key, clear) takes the
// next store-wide revision.

const KEYS = ['a', 'b', 'user:1', '__proto__', 'constructor'] as const;

type Cmd =
  | { op: 'set'; key: string; value: unknown }
  | { op: 'delete'; key: string }
  | { op: 'incr'; key: string; by: number }
  | { op: 'cas'; key: string; value: unknown; stale: boolean; pick: number }
  | { op: 'clear' }
  | { op: 'get'; key: string }
  | { op: 'has'; key: string }
  | { op: 'keys' };

const keyArb = fc.constantFrom(...KEYS);
const valueArb = fc.oneof(
  fc.integer({ min: -100, max: 100 }),
  fc.integer({ min: -100, max: 100 }),
  fc.string({ maxLength: 3 }),
  fc.constant(null),
  fc.boolean(),
  fc.record({ n: fc.integer({ min: 0, max: 9 }) }),
  fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 3 }),
);
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('set' as const), key: keyArb, value: valueArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), key: keyArb }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('incr' as const), key: keyArb, by: fc.integer({ min: -5, max: 5 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('cas' as const), key: keyArb, value: valueArb, stale: fc.boolean(), pick: fc.nat(1000) }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('get' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('has' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.constant({ op: 'keys' as const }) },
);

const sorted = <T>(items: Iterable<[string, T]>) => [...items].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

describe('store against a Map model', () => {
  it('gives the same results and the same final state for random command sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmdArb, { maxLength: 40 }), async (cmds) => {
        const store = createStore();
        const model = new Map<string, { value: unknown; revision: number }>();
        let revision = 0;
        try {
          for (const cmd of cmds) {
            switch (cmd.op) {
              case 'set': {
                const r = await store.set(cmd.key, cmd.value);
                model.set(cmd.key, { value: cmd.value, revision: ++revision });
                expect(r).toBe(revision);
                break;
              }
              case 'delete': {
                const expected = model.delete(cmd.key);
                if (expected) revision++;
                expect(await store.delete(cmd.key)).toBe(expected);
                break;
              }
              case 'incr': {
                const entry = model.get(cmd.key);
                const old = entry ? entry.value : 0; // null is a value, not absence
                if (typeof old !== 'number') {
                  await expectCode(store.incr(cmd.key, cmd.by), 'ERR_TYPE');
                } else {
                  expect(await store.incr(cmd.key, cmd.by)).toBe(old + cmd.by);
                  model.set(cmd.key, { value: old + cmd.by, revision: ++revision });
                }
                break;
              }
              case 'cas': {
                const current = model.get(cmd.key)?.revision ?? 0;
                // a stale revision: an older one of a present key (0 included), or a past one for an absent key
                const given = !cmd.stale ? current : current > 0 ? cmd.pick % current : 1 + (cmd.pick % Math.max(revision, 1));
                if (given === current) {
                  const r = await store.set(cmd.key, cmd.value, { ifRevision: given });
                  model.set(cmd.key, { value: cmd.value, revision: ++revision });
                  expect(r).toBe(revision);
                } else {
                  await expectCode(store.set(cmd.key, cmd.value, { ifRevision: given }), 'ERR_CONFLICT');
                }
                break;
              }
              case 'clear':
                await store.clear();
                model.clear();
                revision++;
                break;
              case 'get':
                expect(await store.get(cmd.key)).toEqual(model.get(cmd.key)?.value);
                break;
              case 'has':
                expect(await store.has(cmd.key)).toBe(model.has(cmd.key));
                break;
              case 'keys':
                expect((await store.keys()).sort()).toEqual([...model.keys()].sort());
                break;
            }
          }
          const all = await store.getAll();
          expect(sorted(all)).toEqual(sorted([...model].map(([k, e]) => [k, e.value] as [string, unknown])));
          for (const [key, entry] of model) expect(await store.getEntry(key)).toEqual(entry);
          expect((await store.stats()).keys).toBe(model.size);
          // the next write takes the next revision: failed writes took none
          expect(await store.set('a', 'last')).toBe(revision + 1);
        } finally {
          await store.close();
        }
      }),
      { numRuns: 200 },
    );
  });
});
