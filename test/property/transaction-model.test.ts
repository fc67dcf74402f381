// Transactions against a plain Map model (SPEC §7 "Coordination"): random
// sequences of transactions of set / delete / incr / check, with preconditions
// that hold or fail (check, ifRevision: current, stale, or 0 = absent) and incr
// on non-numbers, give the same results, the same errors and the same state
// (values and per-key revisions) as the model. A failed transaction writes
// nothing. Memory backend, and Redis with a few short runs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createStore, type MainStore, memoryBackend } from '../../src/index.js';
import type { TransactionOp } from '../../src/types.js';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { useRedisServer } from '../helpers/use-redis.js';

const KEYS = ['a', 'b', 'c', '__proto__'] as const;

/** A precondition as generated: resolved against the model's state when the op runs. */
type Cond = 'none' | 'current' | 'stale' | 'absent';

type GenOp =
  | { op: 'set'; key: string; value: unknown; cond: Cond }
  | { op: 'delete'; key: string; cond: Cond }
  | { op: 'incr'; key: string; by: number }
  | { op: 'check'; key: string; cond: Exclude<Cond, 'none'> };

type Step = { kind: 'tx'; ops: GenOp[] } | { kind: 'set'; key: string; value: unknown };

const keyArb = fc.constantFrom(...KEYS);
const valueArb = fc.oneof(
  fc.integer({ min: -50, max: 50 }),
  fc.integer({ min: -50, max: 50 }),
  fc.string({ maxLength: 3 }),
  fc.constant(null),
  fc.record({ n: fc.integer({ min: 0, max: 9 }) }),
);
const condArb = fc.constantFrom<Cond>('none', 'none', 'current', 'stale', 'absent');
const opArb: fc.Arbitrary<GenOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('set' as const), key: keyArb, value: valueArb, cond: condArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), key: keyArb, cond: condArb }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('incr' as const), key: keyArb, by: fc.integer({ min: -5, max: 5 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('check' as const),
      key: keyArb,
      cond: fc.constantFrom('current', 'stale', 'absent') as fc.Arbitrary<Exclude<Cond, 'none'>>,
    }),
  },
);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('tx' as const), ops: fc.array(opArb, { minLength: 1, maxLength: 5 }) }) },
  // A plain write between transactions, so that revisions move under them.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('set' as const), key: keyArb, value: valueArb }) },
);

interface ModelEntry {
  value: unknown;
  revision: number;
}

/** The outcome the model predicts for one transaction. */
type Expected =
  | { ok: true; revisions: number[]; state: Map<string, ModelEntry>; revision: number }
  | { ok: false; codes: Set<string>; keys: Set<string> };

/**
 * The ops to send, with their preconditions resolved against `state`. A precondition on a key that an
 * earlier op of the same transaction wrote is dropped: whether it then sees that write is not what this
 * model tests (SPEC leaves it open), and every op on an unwritten key sees the state before the transaction.
 */
function resolve(ops: GenOp[], state: Map<string, ModelEntry>): TransactionOp[] {
  const written = new Set<string>();
  const out: TransactionOp[] = [];
  for (const gen of ops) {
    const current = state.get(gen.key)?.revision ?? 0;
    const revisionFor = (cond: Cond): number | undefined =>
      cond === 'none' || written.has(gen.key) ? undefined : cond === 'current' ? current : cond === 'absent' ? 0 : current + 7;
    switch (gen.op) {
      case 'set': {
        const ifRevision = revisionFor(gen.cond);
        out.push(
          ifRevision === undefined
            ? { op: 'set', key: gen.key, value: gen.value }
            : { op: 'set', key: gen.key, value: gen.value, ifRevision },
        );
        written.add(gen.key);
        break;
      }
      case 'delete': {
        const ifRevision = revisionFor(gen.cond);
        out.push(ifRevision === undefined ? { op: 'delete', key: gen.key } : { op: 'delete', key: gen.key, ifRevision });
        written.add(gen.key);
        break;
      }
      case 'incr':
        out.push({ op: 'incr', key: gen.key, by: gen.by });
        written.add(gen.key);
        break;
      case 'check': {
        const revision = revisionFor(gen.cond);
        if (revision !== undefined) out.push({ op: 'check', key: gen.key, revision });
        break;
      }
    }
  }
  return out;
}

/** Applies `ops` to a copy of `state`, in order, all or none. */
function model(ops: TransactionOp[], state: Map<string, ModelEntry>, revision: number): Expected {
  const next = new Map(state);
  const revisions: number[] = [];
  const codes = new Set<string>();
  const keys = new Set<string>();
  // Every failing precondition and type error is found, whatever order a backend checks them in.
  for (const op of ops) {
    const entry = next.get(op.key);
    const current = entry?.revision ?? 0;
    const expected = op.op === 'check' ? op.revision : op.op === 'incr' ? undefined : op.ifRevision;
    if (expected !== undefined && expected !== current) {
      codes.add('ERR_CONFLICT');
      keys.add(op.key);
    }
    switch (op.op) {
      case 'check':
        revisions.push(current);
        break;
      case 'set':
        next.set(op.key, { value: op.value, revision: ++revision });
        revisions.push(revision);
        break;
      case 'delete':
        if (entry) {
          next.delete(op.key);
          revisions.push(++revision);
        } else revisions.push(0);
        break;
      case 'incr': {
        const old = entry ? entry.value : 0;
        if (typeof old !== 'number') {
          codes.add('ERR_TYPE');
          keys.add(op.key);
          break;
        }
        next.set(op.key, { value: old + (op.by ?? 1), revision: ++revision });
        revisions.push(revision);
        break;
      }
    }
  }
  return codes.size > 0 ? { ok: false, codes, keys } : { ok: true, revisions, state: next, revision };
}

/** Runs `steps` on `store` and on the model, comparing every result and the state after each step. */
async function runAgainstModel(store: MainStore, steps: Step[]): Promise<void> {
  // Revisions are store-wide: start the model where this store's counter is.
  let revision = await store.set('model:base', 0);
  await store.delete('model:base');
  revision++;
  let state = new Map<string, ModelEntry>();
  for (const step of steps) {
    if (step.kind === 'set') {
      const r = await store.set(step.key, step.value);
      expect(r).toBe(++revision);
      state.set(step.key, { value: step.value, revision });
    } else {
      const ops = resolve(step.ops, state);
      const expected = model(ops, state, revision);
      const outcome = await store.transaction(ops).then(
        (revisions) => ({ ok: true as const, revisions }),
        (error: { code?: string; message?: string }) => ({ ok: false as const, error }),
      );
      const what = JSON.stringify(ops);
      if (expected.ok) {
        expect(outcome, what).toEqual({ ok: true, revisions: expected.revisions });
        state = expected.state;
        revision = expected.revision;
      } else {
        expect(outcome.ok, `${what} should fail with ${[...expected.codes].join(' or ')}`).toBe(false);
        const error = (outcome as { error: { code?: string; message?: string } }).error;
        expect([...expected.codes], `${what}: ${error.message}`).toContain(error.code);
        // The error names a key whose precondition (or type) failed.
        expect(
          [...expected.keys].some((key) => error.message?.includes(JSON.stringify(key)) || error.message?.includes(key)),
          `${what}: ${error.message} names none of ${[...expected.keys].join(', ')}`,
        ).toBe(true);
      }
    }
    // The whole state, read at one instant, and each key's revision.
    const values = await store.getMany([...KEYS]);
    expect(values, JSON.stringify(step)).toEqual(KEYS.map((key) => state.get(key)?.value));
    for (const key of KEYS) expect(await store.getEntry(key), key).toEqual(state.get(key));
  }
}

const stepsArb = (maxLength: number) => fc.array(stepArb, { minLength: 1, maxLength });

describe('transactions against a Map model: memory', () => {
  it('give the same revisions, errors, values and per-key revisions for random sequences', async () => {
    await fc.assert(
      fc.asyncProperty(stepsArb(20), async (steps) => {
        const store = createStore({ backend: memoryBackend() });
        try {
          await runAgainstModel(store, steps);
        } finally {
          await store.close();
        }
      }),
      { numRuns: 150 },
    );
  });
});

describeRedis('transactions against a Map model: redis', () => {
  const redis = useRedisServer({ raw: false });

  it('give the same revisions, errors, values and per-key revisions for random sequences (a few short runs)', async () => {
    await fc.assert(
      fc.asyncProperty(stepsArb(10), async (steps) => {
        const store = createStore({ backend: redis.backend(), namespace: uniqueNamespace('txmodel') });
        try {
          await runAgainstModel(store, steps);
        } finally {
          await store.close();
        }
      }),
      { numRuns: 20 },
    );
  });
});
