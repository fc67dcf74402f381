import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ChangeEvent, createStore, type KvbusError, type MainStore, type TransactionOp } from '../../src/index.js';
import { FakeClock } from '../helpers/fake-clock.js';

// Snapshot-then-follow against the store itself: random sets (some with a TTL),
// deletes, incrs, transactions, clock advances (TTL expiries) and clears, with
// followers that start from a random point, each with a snapshot and then
// `changes(glob, { since: snapshot.revision })`, and one that resumes from a
// random earlier revision on top of the view it had then. At the end each
// follower's view of its glob equals the store's, and the revisions it saw
// are increasing with no repeat. History is small or large: a follower that
// resumes from further back than it holds must fail with ERR_COMPACTED, and
// one that starts from a snapshot never does.

const KEYS = ['a', 'ab', 'user:1', 'user:2', 'x'] as const;
const GLOBS = ['*', 'a*', 'user:*', 'x'] as const;

type Cmd =
  | { op: 'set'; key: string; value: number; ttlMs: number | undefined }
  | { op: 'delete'; key: string }
  | { op: 'incr'; key: string; by: number }
  | { op: 'tx'; ops: TransactionOp[] }
  | { op: 'advance'; ms: number }
  | { op: 'clear' };

const keyArb = fc.constantFrom(...KEYS);
const txOpArb: fc.Arbitrary<TransactionOp> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), key: keyArb, value: fc.integer({ min: 0, max: 99 }) }),
  fc.record({ op: fc.constant('delete' as const), key: keyArb }),
  fc.record({ op: fc.constant('incr' as const), key: keyArb, by: fc.integer({ min: 1, max: 3 }) }),
);
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('set' as const),
      key: keyArb,
      value: fc.integer({ min: 0, max: 99 }),
      ttlMs: fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('incr' as const), key: keyArb, by: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('tx' as const), ops: fc.array(txOpArb, { minLength: 1, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 60 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
);

/** A follower: its view of a glob, and the revisions of the changes it applied. */
interface Follower {
  glob: string;
  since: number;
  view: Map<string, unknown>;
  revisions: number[];
  failed: unknown;
}

function apply(view: Map<string, unknown>, event: ChangeEvent): void {
  if (event.type === 'set') view.set(event.key, event.value);
  else if (event.type === 'clear') view.clear();
  else view.delete(event.key);
}

/** Follows `glob` from `since`, on top of `view`. */
function follow(store: MainStore, glob: string, since: number, view: Map<string, unknown>): Follower {
  const follower: Follower = { glob, since, view, revisions: [], failed: undefined };
  store.changes(glob, { since }).subscribe({
    next: (event) => {
      follower.revisions.push(event.revision);
      apply(follower.view, event);
    },
    error: (error) => (follower.failed = error),
  });
  return follower;
}

async function run(store: MainStore, clock: FakeClock, cmd: Cmd): Promise<void> {
  switch (cmd.op) {
    case 'set':
      await store.set(cmd.key, cmd.value, cmd.ttlMs === undefined ? undefined : { ttlMs: cmd.ttlMs });
      return;
    case 'delete':
      await store.delete(cmd.key);
      return;
    case 'incr':
      // A key holding a number goes up; anything else is the store's ERR_TYPE, which changes nothing.
      await store.incr(cmd.key, cmd.by).catch(() => {});
      return;
    case 'tx':
      await store.transaction(cmd.ops).catch(() => {});
      return;
    case 'advance':
      clock.advance(cmd.ms);
      await store.stats(); // the expiries the timer queued have run
      return;
    case 'clear':
      await store.clear();
  }
}

describe('snapshot-then-follow against the store', () => {
  it("a follower's view equals the store's after random writes, deletes, transactions, TTL expiries and clears", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(cmdArb, { maxLength: 60 }),
        fc.array(fc.record({ at: fc.nat(60), glob: fc.constantFrom(...GLOBS) }), { minLength: 1, maxLength: 3 }),
        fc.record({ at: fc.nat(60), back: fc.nat(40), glob: fc.constantFrom(...GLOBS) }),
        fc.constantFrom(1, 4, 16, 10_000),
        async (cmds, starts, resume, maxEvents) => {
          const clock = new FakeClock();
          const store = createStore({ clock, history: { maxEvents } });
          const followers: Follower[] = [];
          // The resuming follower's views by revision: what it had seen up to each revision.
          const resumeViews: Array<{ revision: number; view: Map<string, unknown> }> = [];
          try {
            for (let i = 0; i <= cmds.length; i++) {
              for (const start of starts) {
                if (start.at % (cmds.length + 1) !== i) continue;
                const snap = await store.snapshot(start.glob);
                const view = new Map([...snap.entries].map(([key, entry]) => [key, entry.value]));
                followers.push(follow(store, start.glob, snap.revision, view));
              }
              const snap = await store.snapshot(resume.glob);
              resumeViews.push({ revision: snap.revision, view: new Map([...snap.entries].map(([k, e]) => [k, e.value])) });
              if (resume.at % (cmds.length + 1) === i) {
                // Resume from a view held earlier: the changes since its revision complete it.
                const from = resumeViews[Math.max(0, resumeViews.length - 1 - resume.back)]!;
                followers.push(follow(store, resume.glob, from.revision, new Map(from.view)));
              }
              if (i < cmds.length) await run(store, clock, cmds[i]!);
            }
            await store.stats();
            for (const follower of followers) {
              if (follower.failed !== undefined) {
                // Only a follower resuming from further back than history holds may fail, and only so.
                const error = follower.failed as KvbusError & { oldestRevision: number };
                expect(error.code).toBe('ERR_COMPACTED');
                expect(follower.since + 1).toBeLessThan(error.oldestRevision);
                expect(follower.revisions).toEqual([]);
                continue;
              }
              const actual = await store.getAll(follower.glob);
              expect(new Map([...follower.view].sort())).toEqual(new Map([...actual].sort()));
              const revisions = follower.revisions;
              if (revisions.length > 0) expect(revisions[0]!).toBeGreaterThan(follower.since);
              for (let i = 1; i < revisions.length; i++) expect(revisions[i]!).toBeGreaterThan(revisions[i - 1]!);
            }
          } finally {
            await store.close();
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
