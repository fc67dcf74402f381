// The conformance tests of coordination (SPEC §7 "Coordination"), run unchanged
// on every backend, like suite.ts: getMany, transaction, lock / withLock with
// leases and fencing. Each test gets fresh stores in a namespace of its own.
//
// Written for the slowest backend: change events may arrive after the writer's
// `await` resolves, so "no other event" is proven with a sentinel write made
// after the one that must not show (one writer's events arrive in order).
// Waits on leases are bounded, never timed from below.
import { describe, expect, it } from 'vitest';
import type { MainStore } from '../../src/index.js';
import type { ChangeEvent, Lock, TransactionOp } from '../../src/types.js';
import { expectCode, rejectionOf } from '../helpers/errors.js';
import { type Recorder, sleep, WAIT_MS } from '../helpers/wait.js';
import { type MakeStore, suiteStores } from './suite.js';

/** A short lease, and how long its expiry may take to be noticed (Redis: a timer or a keyspace event). */
const LEASE_MS = 400;
const LEASE_WAIT_MS = 5_000;

/** What a promise settled as, without waiting longer than `ms` (`'pending'` then). */
async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<'pending' | { value: T } | { error: unknown }> {
  return Promise.race([
    promise.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    ),
    sleep(ms).then(() => 'pending' as const),
  ]);
}

/** Calls `fn`, turning a synchronous throw into a rejection (validation may happen on either side). */
const attempt = <T>(fn: () => Promise<T>): Promise<T> => Promise.resolve().then(fn);

/**
 * Registers the coordination tests for one backend.
 * @param name - the backend's name, for test titles
 * @param makeStore - a fresh store on that backend
 */
export function coordConformance(name: string, makeStore: MakeStore): void {
  describe(`conformance: ${name}: coordination`, () => {
    const { newStore, changesOf } = suiteStores(name, makeStore);

    /** Writes a sentinel key and waits for its event: every event of an earlier write has arrived by then. */
    async function eventsUpToSentinel(store: MainStore, recorder: Recorder<ChangeEvent>): Promise<ChangeEvent[]> {
      const sentinel = `sentinel:${Math.random().toString(36).slice(2)}`;
      await store.set(sentinel, true);
      await recorder.some((e) => e.key === sentinel, 'the sentinel event');
      return recorder.values.slice(
        0,
        recorder.values.findIndex((e) => e.key === sentinel),
      );
    }

    describe('getMany', () => {
      it('returns the values in the order of the keys, undefined where absent, copies of what is stored', async () => {
        const store = await newStore();
        await store.set('a', { n: 1 });
        await store.set('b', 'two');
        await store.set('zero', 0);
        await store.set('nil', null);
        const got = await store.getMany(['b', 'missing', 'a', 'zero', 'nil', 'a']);
        expect(got).toEqual(['two', undefined, { n: 1 }, 0, null, { n: 1 }]);
        expect(got).toHaveLength(6);
        (got[2] as { n: number }).n = 99;
        expect(await store.get('a')).toEqual({ n: 1 });
        expect(await store.getMany([])).toEqual([]);
        await store.delete('b');
        expect(await store.getMany(['b', 'a'])).toEqual([undefined, { n: 1 }]);
      });

      it('reads at one instant: pairs written together by transactions are never seen half-written', async () => {
        const store = await newStore();
        await store.transaction([
          { op: 'set', key: 'x', value: 0 },
          { op: 'set', key: 'y', value: 0 },
        ]);
        // Writes and reads all in flight together, interleaved in the store's order.
        const writes: Array<Promise<unknown>> = [];
        const reads: Array<Promise<unknown[]>> = [];
        for (let i = 1; i <= 150; i++) {
          writes.push(
            store.transaction([
              { op: 'set', key: 'x', value: i },
              { op: 'set', key: 'y', value: -i },
            ]),
          );
          reads.push(store.getMany(['x', 'y']));
        }
        await Promise.all(writes);
        const seen = await Promise.all(reads);
        for (const [x, y] of seen) expect((x as number) + (y as number), `x=${String(x)} y=${String(y)}`).toBe(0);
        expect(await store.getMany(['x', 'y'])).toEqual([150, -150]);
      });

      it('refuses what is not an array of keys', async () => {
        const store = await newStore();
        await expectCode(
          attempt(() => store.getMany('a' as unknown as string[])),
          'ERR_BAD_ARGUMENT',
        );
        await expectCode(
          attempt(() => store.getMany(undefined as unknown as string[])),
          'ERR_BAD_ARGUMENT',
        );
        await expectCode(
          attempt(() => store.getMany(['a', ''])),
          'ERR_BAD_KEY',
        );
        await expectCode(
          attempt(() => store.getMany(['a', 7 as unknown as string])),
          'ERR_BAD_KEY',
        );
      });
    });

    describe('transaction', () => {
      it('applies set, delete, incr and check together; resolves to each op’s revision', async () => {
        const store = await newStore();
        const rOld = await store.set('old', 'bye');
        const rKeep = await store.set('keep', 'me');
        await store.set('n', 10);
        const revs = await store.transaction([
          { op: 'check', key: 'keep', revision: rKeep },
          { op: 'set', key: 'a', value: { deep: [1, 2] } },
          { op: 'incr', key: 'n', by: 5 },
          { op: 'incr', key: 'fresh' },
          { op: 'delete', key: 'old', ifRevision: rOld },
          { op: 'check', key: 'nothing', revision: 0 },
        ]);
        expect(revs).toHaveLength(6);
        const [check, set, incr, incrFresh, del, checkAbsent] = revs as [number, number, number, number, number, number];
        expect(check).toBe(rKeep);
        expect(checkAbsent).toBe(0);
        expect(set).toBeGreaterThan(rKeep);
        expect([incr, incrFresh, del]).toEqual([set + 1, set + 2, set + 3]);
        expect(await store.getMany(['a', 'n', 'fresh', 'old', 'keep'])).toEqual([{ deep: [1, 2] }, 15, 1, undefined, 'me']);
        expect(await store.getEntry('a')).toEqual({ value: { deep: [1, 2] }, revision: set });
        expect(await store.getEntry('n')).toEqual({ value: 15, revision: incr });
        expect(await store.getEntry('fresh')).toEqual({ value: 1, revision: incrFresh });
        // The store's counter moved on past the transaction.
        expect(await store.set('after', 1)).toBeGreaterThan(del);
      });

      it('applies its ops in order: a later op sees an earlier one’s write', async () => {
        const store = await newStore();
        const [r1, r2, r3] = (await store.transaction([
          { op: 'set', key: 'c', value: 1 },
          { op: 'incr', key: 'c', by: 2 },
          { op: 'incr', key: 'c', by: 3 },
        ])) as [number, number, number];
        expect([r2, r3]).toEqual([r1 + 1, r1 + 2]);
        expect(await store.getEntry('c')).toEqual({ value: 6, revision: r3 });
        const [d, s] = (await store.transaction([
          { op: 'delete', key: 'c' },
          { op: 'set', key: 'c', value: 'again' },
        ])) as [number, number];
        expect(s).toBe(d + 1);
        expect(await store.getEntry('c')).toEqual({ value: 'again', revision: s });
      });

      it('a failed check rejects with ERR_CONFLICT naming its key, and writes nothing (no value, no event)', async () => {
        const store = await newStore();
        const rGuard = await store.set('guard:key', 'v1');
        await store.set('guard:key', 'v2');
        await store.set('n', 1);
        const changes = await changesOf(store);
        const error = await expectCode(
          store.transaction([
            { op: 'set', key: 'a', value: 1 },
            { op: 'incr', key: 'n' },
            { op: 'delete', key: 'n' },
            { op: 'check', key: 'guard:key', revision: rGuard },
          ]),
          'ERR_CONFLICT',
        );
        expect(error.message).toContain('guard:key');
        await expect(store.getMany(['a', 'n', 'guard:key'])).resolves.toEqual([undefined, 1, 'v2']);
        const absentCheck = await expectCode(
          store.transaction([
            { op: 'set', key: 'a', value: 1 },
            { op: 'check', key: 'never:there', revision: 3 },
          ]),
          'ERR_CONFLICT',
        );
        expect(absentCheck.message).toContain('never:there');
        const presentButZero = await expectCode(
          store.transaction([
            { op: 'check', key: 'guard:key', revision: 0 },
            { op: 'set', key: 'a', value: 1 },
          ]),
          'ERR_CONFLICT',
        );
        expect(presentButZero.message).toContain('guard:key');
        expect(await store.has('a')).toBe(false);
        expect(await eventsUpToSentinel(store, changes)).toEqual([]);
      });

      it('ifRevision on set and delete: a stale one rejects with ERR_CONFLICT naming the key, nothing written', async () => {
        const store = await newStore();
        const r1 = await store.set('cas:key', 1);
        const r2 = await store.set('cas:key', 2);
        const changes = await changesOf(store);
        const staleSet = await expectCode(
          store.transaction([
            { op: 'set', key: 'other', value: 'x' },
            { op: 'set', key: 'cas:key', value: 3, ifRevision: r1 },
          ]),
          'ERR_CONFLICT',
        );
        expect(staleSet.message).toContain('cas:key');
        const staleDelete = await expectCode(
          store.transaction([
            { op: 'incr', key: 'counter' },
            { op: 'delete', key: 'cas:key', ifRevision: r1 },
          ]),
          'ERR_CONFLICT',
        );
        expect(staleDelete.message).toContain('cas:key');
        const notAbsent = await expectCode(store.transaction([{ op: 'set', key: 'cas:key', value: 0, ifRevision: 0 }]), 'ERR_CONFLICT');
        expect(notAbsent.message).toContain('cas:key');
        expect(await store.getMany(['cas:key', 'other', 'counter'])).toEqual([2, undefined, undefined]);
        expect(await eventsUpToSentinel(store, changes)).toEqual([]);
        // The current revision, or 0 for an absent key, passes.
        const [r3, rNew] = (await store.transaction([
          { op: 'set', key: 'cas:key', value: 3, ifRevision: r2 },
          { op: 'set', key: 'new:key', value: 'n', ifRevision: 0 },
        ])) as [number, number];
        expect(rNew).toBe(r3 + 1);
        const [rDel] = (await store.transaction([{ op: 'delete', key: 'cas:key', ifRevision: r3 }])) as [number];
        expect(rDel).toBe(rNew + 1);
        expect(await store.getMany(['cas:key', 'new:key'])).toEqual([undefined, 'n']);
      });

      it('a delete of an absent key resolves to 0 and takes no revision and no event; the other writes stay consecutive', async () => {
        const store = await newStore();
        const changes = await changesOf(store);
        const [a, none, b] = (await store.transaction([
          { op: 'set', key: 'a', value: 1 },
          { op: 'delete', key: 'none' },
          { op: 'set', key: 'b', value: 2 },
        ])) as [number, number, number];
        expect(none).toBe(0);
        expect(b).toBe(a + 1);
        expect(await store.transaction([{ op: 'delete', key: 'none' }])).toEqual([0]);
        const events = await eventsUpToSentinel(store, changes);
        expect(events).toEqual([
          { type: 'set', key: 'a', value: 1, revision: a },
          { type: 'set', key: 'b', value: 2, revision: b },
        ]);
      });

      it('check resolves to the key’s current revision (0 when absent) and writes nothing', async () => {
        const store = await newStore();
        const r = await store.set('k', 'v');
        const changes = await changesOf(store);
        expect(
          await store.transaction([
            { op: 'check', key: 'k', revision: r },
            { op: 'check', key: 'absent', revision: 0 },
          ]),
        ).toEqual([r, 0]);
        expect(await store.getEntry('k')).toEqual({ value: 'v', revision: r });
        expect(await eventsUpToSentinel(store, changes)).toEqual([]);
      });

      it('one change event per write, with consecutive revisions, in op order, seen whole by changes()', async () => {
        const store = await newStore();
        await store.set('old', 'x');
        const changes = await changesOf(store);
        const revs = (await store.transaction([
          { op: 'set', key: 's', value: { v: 1 } },
          { op: 'incr', key: 'n', by: 41 },
          { op: 'delete', key: 'never' },
          { op: 'delete', key: 'old' },
          { op: 'set', key: 'never', value: 'now' },
        ])) as [number, number, number, number, number];
        const [s, n, never, old, now] = revs;
        expect(never).toBe(0);
        expect([n, old, now]).toEqual([s + 1, s + 2, s + 3]);
        expect(await eventsUpToSentinel(store, changes)).toEqual([
          { type: 'set', key: 's', value: { v: 1 }, revision: s },
          { type: 'set', key: 'n', value: 41, revision: n },
          { type: 'delete', key: 'old', revision: old },
          { type: 'set', key: 'never', value: 'now', revision: now },
        ]);
      });

      it('a set in a transaction takes ttlMs (and without it removes a TTL); incr keeps it', async () => {
        const store = await newStore();
        await store.set('keeps', 1, { ttlMs: 60_000 });
        await store.set('loses', 1, { ttlMs: 60_000 });
        await store.transaction([
          { op: 'set', key: 'timed', value: 'v', ttlMs: 60_000 },
          { op: 'incr', key: 'keeps' },
          { op: 'set', key: 'loses', value: 2 },
        ]);
        const ttls = await Promise.all(['timed', 'keeps', 'loses'].map((key) => store.ttl(key)));
        expect(ttls[0]).toBeGreaterThan(50_000);
        expect(ttls[1]).toBeGreaterThan(50_000);
        expect(ttls[2]).toBe(Number.POSITIVE_INFINITY);
      });

      it('an incr on a non-number fails the whole transaction (ERR_TYPE), nothing written', async () => {
        const store = await newStore();
        await store.set('text', 'abc');
        await expectCode(
          store.transaction([
            { op: 'set', key: 'a', value: 1 },
            { op: 'incr', key: 'text' },
          ]),
          'ERR_TYPE',
        );
        expect(await store.getMany(['a', 'text'])).toEqual([undefined, 'abc']);
      });

      it('bad input rejects with ERR_BAD_ARGUMENT (ERR_BAD_KEY for a bad key) and writes nothing', async () => {
        const store = await newStore();
        const ok: TransactionOp = { op: 'set', key: 'written', value: 1 };
        const bad: unknown[] = [
          { op: 'frob', key: 'a' },
          { op: 'set', key: 'a' },
          { op: 'set', key: 'a', value: undefined },
          { op: 'set', key: 'a', value: 1, ttlMs: -5 },
          { op: 'set', key: 'a', value: 1, ifRevision: -1 },
          { op: 'delete', key: 'a', ifRevision: 1.5 },
          { op: 'incr', key: 'a', by: 'one' },
          { op: 'incr', key: 'a', by: Number.NaN },
          { op: 'check', key: 'a' },
          { op: 'check', key: 'a', revision: -1 },
          null,
          'set a 1',
        ];
        for (const op of bad) {
          await expectCode(
            attempt(() => store.transaction([ok, op as TransactionOp])),
            'ERR_BAD_ARGUMENT',
            undefined,
          ).catch((error) => {
            throw new Error(`${JSON.stringify(op)}: ${(error as Error).message}`);
          });
        }
        await expectCode(
          attempt(() => store.transaction('nope' as unknown as TransactionOp[])),
          'ERR_BAD_ARGUMENT',
        );
        await expectCode(
          attempt(() => store.transaction(undefined as unknown as TransactionOp[])),
          'ERR_BAD_ARGUMENT',
        );
        await expectCode(
          attempt(() => store.transaction([ok, { op: 'set', key: '', value: 1 }])),
          'ERR_BAD_KEY',
        );
        await expectCode(
          attempt(() => store.transaction([ok, { op: 'incr', key: 42 as unknown as string }])),
          'ERR_BAD_KEY',
        );
        await expectCode(
          attempt(() => store.transaction([ok], { fence: 'lock' as never })),
          'ERR_BAD_ARGUMENT',
        );
        await expectCode(
          attempt(() => store.transaction([{ op: 'set', key: 'f', value: () => 1 }])),
          'ERR_NOT_CLONEABLE',
        );
        expect(await store.has('written')).toBe(false);
        expect(await store.keys()).toEqual([]);
      });
    });

    describe('lock', () => {
      it('grants a Lock { name, token } at once when free; release resolves true, then false', async () => {
        const store = await newStore();
        const lock = await store.lock('job');
        expect(lock.name).toBe('job');
        expect(Number.isSafeInteger(lock.token) && lock.token > 0).toBe(true);
        expect(await lock.release()).toBe(true);
        expect(await lock.release()).toBe(false);
        // Free again: granted at once.
        const again = await store.lock('job', { waitMs: WAIT_MS });
        expect(await again.release()).toBe(true);
      });

      it('fencing tokens strictly increase for each grant of a name', async () => {
        const store = await newStore();
        const tokens: number[] = [];
        for (let i = 0; i < 5; i++) {
          const lock = await store.lock('fenced');
          tokens.push(lock.token);
          // Another name's grants in between do not break the order.
          const side = await store.lock(`side:${i}`);
          await side.release();
          await lock.release();
        }
        for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
      });

      it('is not reentrant: a second lock of a held name from the same client waits until the first is released', async () => {
        const store = await newStore();
        const first = await store.lock('re');
        const second = store.lock('re');
        expect(await settledWithin(second, 300)).toBe('pending');
        expect(await first.release()).toBe(true);
        const got = await second;
        expect(got.token).toBeGreaterThan(first.token);
        expect(await got.release()).toBe(true);
      });

      it('serves waiters first come, first served (3 waiters)', async () => {
        const store = await newStore();
        const holder = await store.lock('fifo');
        const order: string[] = [];
        const waiters: Array<Promise<Lock>> = [];
        for (const who of ['w1', 'w2', 'w3']) {
          waiters.push(
            store.lock('fifo').then((lock) => {
              order.push(who);
              return lock;
            }),
          );
          await store.stats(); // the lock request is applied before the next one is sent
        }
        expect(await settledWithin(Promise.race(waiters), 100)).toBe('pending');
        await holder.release();
        const tokens: number[] = [holder.token];
        for (const [i, waiter] of waiters.entries()) {
          const lock = await waiter;
          expect(order).toEqual(['w1', 'w2', 'w3'].slice(0, i + 1));
          tokens.push(lock.token);
          // The next one is not granted while this one holds.
          if (i < 2) expect(await settledWithin(waiters[i + 1]!, 100)).toBe('pending');
          await lock.release();
        }
        expect([...tokens].sort((x, y) => x - y)).toEqual(tokens);
        expect(new Set(tokens).size).toBe(4);
      });

      it('waitMs passing rejects with ERR_TIMEOUT; the timed-out waiter never gets the lock', async () => {
        const store = await newStore();
        const holder = await store.lock('busy');
        const error = await expectCode(store.lock('busy', { waitMs: 150 }), 'ERR_TIMEOUT');
        expect(error.message).toContain('busy');
        const after = store.lock('busy', { waitMs: WAIT_MS });
        await holder.release();
        // The next waiter (not the timed-out one) is granted, and nothing else holds it.
        const next = await after;
        expect(await next.release()).toBe(true);
        const free = await store.lock('busy', { waitMs: 1_000 });
        await free.release();
      });

      it('waitMs 0 on a free lock grants it; on a held one rejects ERR_TIMEOUT at once', async () => {
        const store = await newStore();
        const lock = await store.lock('zero', { waitMs: 0 });
        await expectCode(store.lock('zero', { waitMs: 0 }), 'ERR_TIMEOUT');
        await lock.release();
      });

      it('an already aborted signal rejects with ERR_ABORTED and takes nothing, even when the lock is free', async () => {
        const store = await newStore();
        const controller = new AbortController();
        controller.abort();
        await expectCode(store.lock('free', { signal: controller.signal }), 'ERR_ABORTED');
        // Nothing was taken: another lock is granted at once.
        const lock = await store.lock('free', { waitMs: 1_000 });
        await lock.release();
      });

      it('aborting the signal while waiting rejects with ERR_ABORTED; the aborted waiter is skipped', async () => {
        const store = await newStore();
        const holder = await store.lock('ab');
        const controller = new AbortController();
        const aborted = store.lock('ab', { signal: controller.signal });
        await store.stats();
        const after = store.lock('ab');
        await store.stats();
        expect(await settledWithin(aborted, 100)).toBe('pending');
        controller.abort();
        await expectCode(aborted, 'ERR_ABORTED');
        await holder.release();
        const next = await after;
        expect(next.token).toBeGreaterThan(holder.token);
        expect(await next.release()).toBe(true);
      });

      it('a lease runs out: the next waiter is granted, and the old holder’s fenced set/delete/incr/transaction fail with ERR_CONFLICT, changing nothing', async () => {
        const store = await newStore();
        const old = await store.lock('lease', { ttlMs: LEASE_MS });
        // While held, fenced writes with it pass.
        await store.set('guarded', 'v1', { fence: old });
        await store.incr('count', 1, { fence: old });
        await store.set('doomed', 'x', { fence: old });
        await store.transaction([{ op: 'set', key: 'tx', value: 1 }], { fence: old });
        const next = await store.lock('lease', { waitMs: LEASE_WAIT_MS });
        expect(next.token).toBeGreaterThan(old.token);
        const changes = await changesOf(store);
        const before = await store.getAll();
        const conflicts = await Promise.all([
          rejectionOf(store.set('guarded', 'stale', { fence: old })),
          rejectionOf(store.delete('doomed', { fence: old })),
          rejectionOf(store.incr('count', 100, { fence: old })),
          rejectionOf(store.transaction([{ op: 'set', key: 'tx', value: 'stale' }], { fence: old })),
          rejectionOf(store.set('fresh', 1, { fence: { name: 'lease', token: old.token } })),
        ]);
        for (const error of conflicts) expect((error as { code?: string }).code, String(error)).toBe('ERR_CONFLICT');
        expect(await store.getAll()).toEqual(before);
        expect(await eventsUpToSentinel(store, changes)).toEqual([]);
        // The old holder's release and extend say it no longer holds it.
        expect(await old.release()).toBe(false);
        await expectCode(old.extend(), 'ERR_CONFLICT');
        // The new holder writes fenced.
        await store.set('guarded', 'v2', { fence: next });
        expect(await store.get('guarded')).toBe('v2');
        expect(await next.release()).toBe(true);
        // Released: fencing with a released lock fails too.
        await expectCode(store.set('guarded', 'late', { fence: next }), 'ERR_CONFLICT');
        expect(await store.get('guarded')).toBe('v2');
      });

      it('a fence of a lock of another name, or a made-up token, fails with ERR_CONFLICT', async () => {
        const store = await newStore();
        const lock = await store.lock('real');
        await expectCode(store.set('k', 1, { fence: { name: 'unheld', token: lock.token } }), 'ERR_CONFLICT');
        await expectCode(store.set('k', 1, { fence: { name: 'real', token: lock.token + 1000 } }), 'ERR_CONFLICT');
        expect(await store.has('k')).toBe(false);
        await store.set('k', 1, { fence: { name: 'real', token: lock.token } });
        expect(await store.get('k')).toBe(1);
        await expectCode(
          attempt(() => store.set('k', 2, { fence: { name: 'real' } as never })),
          'ERR_BAD_ARGUMENT',
        );
        await lock.release();
      });

      it('extend renews the lease: an extended lock outlives its first lease; extend of a lost lock rejects ERR_CONFLICT', async () => {
        const store = await newStore();
        const lock = await store.lock('ext', { ttlMs: LEASE_MS });
        await lock.extend(10_000);
        await sleep(LEASE_MS * 3);
        await expectCode(store.lock('ext', { waitMs: 100 }), 'ERR_TIMEOUT');
        await store.set('still', 'mine', { fence: lock });
        // extend() without ttlMs renews for the lock's own lease.
        await lock.extend();
        await expectCode(
          attempt(() => lock.extend(-1)),
          'ERR_BAD_ARGUMENT',
        );
        const next = store.lock('ext', { waitMs: LEASE_WAIT_MS });
        const granted = await next;
        expect(granted.token).toBeGreaterThan(lock.token);
        await expectCode(lock.extend(10_000), 'ERR_CONFLICT');
        await granted.release();
      });

      it('refuses bad options with ERR_BAD_ARGUMENT', async () => {
        const store = await newStore();
        const bad: unknown[] = [
          { ttlMs: 0 },
          { ttlMs: -1 },
          { ttlMs: Number.NaN },
          { waitMs: -1 },
          { waitMs: 'soon' },
          { signal: 'x' },
          'opts',
        ];
        for (const options of bad) {
          await expectCode(
            attempt(() => store.lock('x', options as never)),
            'ERR_BAD_ARGUMENT',
          ).catch((error) => {
            throw new Error(`${JSON.stringify(options)}: ${(error as Error).message}`);
          });
        }
        for (const lockName of ['', 7, undefined]) {
          const error = await rejectionOf(attempt(() => store.lock(lockName as never)));
          expect(['ERR_BAD_ARGUMENT', 'ERR_BAD_KEY']).toContain((error as { code?: string }).code);
        }
        await expectCode(
          attempt(() => store.withLock('x', 'fn' as never)),
          'ERR_BAD_ARGUMENT',
        );
        // Nothing was taken by the refused calls.
        const lock = await store.lock('x', { waitMs: 1_000 });
        await lock.release();
      });
    });

    describe('withLock', () => {
      it('runs fn holding the lock and resolves to what fn resolved to; the lock is free after', async () => {
        const store = await newStore();
        const result = await store.withLock('w', async (lock) => {
          expect(lock.name).toBe('w');
          await store.set('inside', 1, { fence: lock });
          // Held meanwhile.
          await expectCode(store.lock('w', { waitMs: 50 }), 'ERR_TIMEOUT');
          return { done: lock.token };
        });
        expect(result).toEqual({ done: expect.any(Number) });
        expect(await store.withLock('w', () => 'sync value')).toBe('sync value');
        const free = await store.lock('w', { waitMs: 1_000 });
        expect(free.token).toBeGreaterThan(result.done);
        await free.release();
      });

      it('releases the lock when fn throws, and rejects with fn’s error', async () => {
        const store = await newStore();
        const boom = new Error('boom');
        let seen: Lock | undefined;
        await expect(
          store.withLock('t', async (lock) => {
            seen = lock;
            throw boom;
          }),
        ).rejects.toBe(boom);
        await expect(store.withLock('t', () => Promise.reject(new TypeError('sync-ish')))).rejects.toThrow(TypeError);
        const free = await store.lock('t', { waitMs: 1_000 });
        expect(free.token).toBeGreaterThan(seen!.token);
        await expectCode(store.set('k', 1, { fence: seen! }), 'ERR_CONFLICT');
        await free.release();
      });

      it('serialises read-modify-writes of one key (get then set) from concurrent callers', async () => {
        const store = await newStore();
        await store.set('total', 0);
        const bump = (s: MainStore) =>
          s.withLock('rmw', async () => {
            const value = (await s.get<number>('total')) ?? 0;
            await sleep(1);
            await s.set('total', value + 1);
          });
        await Promise.all(Array.from({ length: 20 }, () => bump(store)));
        expect(await store.get('total')).toBe(20);
      });

      it('passes options on: waitMs expires with ERR_TIMEOUT without running fn', async () => {
        const store = await newStore();
        const holder = await store.lock('opt');
        let ran = false;
        await expectCode(
          store.withLock(
            'opt',
            () => {
              ran = true;
            },
            { waitMs: 100 },
          ),
          'ERR_TIMEOUT',
        );
        expect(ran).toBe(false);
        await holder.release();
      });
    });

    describe('Symbol.asyncDispose', () => {
      it('await using releases the lock at the end of the scope, even on a throw', async () => {
        const store = await newStore();
        let token = 0;
        {
          await using lock = await store.lock('scoped');
          token = lock.token;
          await expectCode(store.lock('scoped', { waitMs: 50 }), 'ERR_TIMEOUT');
        }
        const next = await store.lock('scoped', { waitMs: 1_000 });
        expect(next.token).toBeGreaterThan(token);
        await next.release();
        const thrown = await (async () => {
          await using lock = await store.lock('scoped');
          token = lock.token;
          throw new Error('inside');
        })().catch((error: Error) => error.message);
        expect(thrown).toBe('inside');
        const free = await store.lock('scoped', { waitMs: 1_000 });
        expect(free.token).toBeGreaterThan(token);
        // Disposing a released lock is harmless.
        await free.release();
        await expect(free[Symbol.asyncDispose]()).resolves.toBeUndefined();
      });
    });
  });
}
