// Locks, fencing, transactions and getMany on the memory backend, through the
// public API of the built package (main thread; workers in locks-workers.test.ts).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type ChangeEvent, isKvbusError, type KvbusError, type Lock } from 'kvbus';
import { afterEach, describe, expect, it } from 'vitest';
import { rejectionOf } from '../helpers/errors.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { fixturePath } from '../helpers/fixtures.js';
import { Resources } from '../helpers/resources.js';
import { sleep, waitUntil } from '../helpers/wait.js';

const res = new Resources();
afterEach(() => res.cleanup());

/** A store whose time moves only when the test says (leases, waits). */
function clockedStore() {
  const clock = new FakeClock();
  return { clock, store: res.store({ clock }) };
}

/** Asserts a rejection with a kvbus error of `code` (of the built package's class) whose message matches. */
async function expectCode(promise: Promise<unknown>, code: string, message?: RegExp): Promise<KvbusError> {
  const error = await rejectionOf(promise);
  expect(isKvbusError(error), `expected ${code}, got ${String(error)}`).toBe(true);
  expect(error.code).toBe(code);
  if (message) expect(error.message).toMatch(message);
  return error as unknown as KvbusError;
}

/** Lets the replies of the actor's turns reach their callers. */
const settle = () => sleep(5);

describe('lock', () => {
  it('grants a free lock at once, releases it (true once), and each grant has a greater token', async () => {
    const store = res.store();
    const first = await store.lock('job');
    expect(first.name).toBe('job');
    expect(first.token).toEqual(expect.any(Number));
    expect(await first.release()).toBe(true);
    expect(await first.release()).toBe(false);
    const second = await store.lock('job');
    expect(second.token).toBeGreaterThan(first.token);
    const other = await store.lock('other');
    expect(other.token).toBeGreaterThan(second.token);
    await second.release();
    // A lock travels as { name, token }: its methods and link stay home.
    expect(structuredClone(other)).toEqual({ name: 'other', token: other.token });
  });

  it('is not reentrant and serves waiters first come, first served', async () => {
    const store = res.store();
    const holder = await store.lock('q');
    const order: number[] = [];
    const waiters = [1, 2, 3].map((n) =>
      store.lock('q').then(async (lock) => {
        order.push(n);
        await sleep(2);
        await lock.release();
        return lock.token;
      }),
    );
    await settle();
    expect(order).toEqual([]);
    await holder.release();
    const tokens = await Promise.all(waiters);
    expect(order).toEqual([1, 2, 3]);
    expect(tokens).toEqual([...tokens].sort((a, b) => a - b));
  });

  it('rejects with ERR_TIMEOUT after waitMs, and the timed-out waiter leaves the queue', async () => {
    const store = res.store();
    const holder = await store.lock('t');
    const started = Date.now();
    await expectCode(store.lock('t', { waitMs: 40 }), 'ERR_TIMEOUT', /"t".*waitMs \(40 ms\)/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
    await expectCode(store.lock('t', { waitMs: 0 }), 'ERR_TIMEOUT');
    await holder.release();
    // Free again, and no ghost of the timed-out waiters holds it: waitMs 0 gets it.
    const again = await store.lock('t', { waitMs: 0 });
    expect(again.token).toBeGreaterThan(holder.token);
  });

  it('rejects with ERR_ABORTED on an already aborted signal, and when aborted while waiting', async () => {
    const store = res.store();
    const aborted = AbortSignal.abort(new Error('no longer needed'));
    const early = await expectCode(store.lock('s', { signal: aborted }), 'ERR_ABORTED');
    expect((early.cause as Error).message).toBe('no longer needed');
    // Nothing was queued by the aborted call: the lock is free.
    const holder = await store.lock('s', { waitMs: 0 });
    const controller = new AbortController();
    const waiting = store.lock('s', { signal: controller.signal });
    const behind = store.lock('s');
    await settle();
    controller.abort();
    await expectCode(waiting, 'ERR_ABORTED', /aborted/);
    await holder.release();
    // The aborted waiter was withdrawn in the store: the one behind it gets the lock.
    const next = await behind;
    expect(next.token).toBeGreaterThan(holder.token);
    await next.release();
  });

  it('runs out its lease: the next waiter gets the lock, and the old holder is fenced off with ERR_CONFLICT, nothing written', async () => {
    const { clock, store } = clockedStore();
    const old = await store.lock('lease', { ttlMs: 1000 });
    await store.set('data', 'before', { fence: old });
    let next: Lock | undefined;
    const waiting = store.lock('lease').then((lock) => (next = lock));
    clock.advance(999);
    await settle();
    expect(next).toBeUndefined();
    clock.advance(1);
    await waiting;
    expect(next!.token).toBeGreaterThan(old.token);
    const refused = await expectCode(store.set('data', 'late', { fence: old }), 'ERR_CONFLICT', /"lease".*token/);
    expect(refused.message).toContain('"data"');
    await expectCode(store.delete('data', { fence: old }), 'ERR_CONFLICT');
    await expectCode(store.incr('n', 1, { fence: old }), 'ERR_CONFLICT');
    await expectCode(store.transaction([{ op: 'set', key: 'data', value: 'tx' }], { fence: old }), 'ERR_CONFLICT');
    expect(await store.getMany(['data', 'n'])).toEqual(['before', undefined]);
    // The new holder's fence is good.
    await store.set('data', 'after', { fence: next! });
    expect(await store.get('data')).toBe('after');
    expect(await old.release()).toBe(false);
    await expectCode(old.extend(), 'ERR_CONFLICT', /no longer held/);
  });

  it('fences off a holder whose lease ran out even before the lock went to anyone else', async () => {
    const { clock, store } = clockedStore();
    const lock = await store.lock('alone', { ttlMs: 100 });
    // Time passes without the lease timer's turn: the fence still sees the lease is over.
    clock.jump(100);
    await expectCode(store.set('k', 1, { fence: lock }), 'ERR_CONFLICT');
    expect(await store.has('k')).toBe(false);
  });

  it('extends the lease: for the given ttlMs, or for its own ttlMs', async () => {
    const { clock, store } = clockedStore();
    const lock = await store.lock('ext', { ttlMs: 1000 });
    clock.advance(800);
    await lock.extend(); // 1000 ms from now
    clock.advance(800);
    await store.set('k', 1, { fence: lock });
    await lock.extend(5000);
    clock.advance(4900);
    await store.set('k', 2, { fence: lock });
    clock.advance(100);
    await expectCode(store.set('k', 3, { fence: lock }), 'ERR_CONFLICT');
    await expectCode(lock.extend(), 'ERR_CONFLICT');
    await expectCode(lock.extend(-1), 'ERR_BAD_ARGUMENT', /ttlMs/);
    expect(await store.get('k')).toBe(2);
  });

  it('releases at the end of an `await using` scope (Symbol.asyncDispose)', async () => {
    const store = res.store();
    const lock = await store.lock('scoped');
    await lock[Symbol.asyncDispose]();
    expect((await store.lock('scoped', { waitMs: 0 })).token).toBeGreaterThan(lock.token);
    // Disposing a lock already released is no error.
    await lock[Symbol.asyncDispose]();
  });

  it('rejects a pending acquire with ERR_CLOSED when the store closes', async () => {
    const store = res.store();
    await store.lock('c');
    const waiting = store.lock('c');
    const timed = store.lock('c', { waitMs: 60_000 });
    await settle();
    await store.close();
    await expectCode(waiting, 'ERR_CLOSED');
    await expectCode(timed, 'ERR_CLOSED');
    await expectCode(store.lock('c'), 'ERR_CLOSED');
  });

  it('checks its arguments in the caller and says what to fix', async () => {
    const store = res.store();
    await expectCode(store.lock(''), 'ERR_BAD_ARGUMENT', /`name`/);
    await expectCode(store.lock('x', { ttlMs: 0 }), 'ERR_BAD_ARGUMENT', /`ttlMs`.*positive/);
    await expectCode(store.lock('x', { ttlMs: Number.POSITIVE_INFINITY }), 'ERR_BAD_ARGUMENT', /`ttlMs`/);
    await expectCode(store.lock('x', { waitMs: -1 }), 'ERR_BAD_ARGUMENT', /`waitMs`/);
    await expectCode(store.lock('x', { signal: {} as AbortSignal }), 'ERR_BAD_ARGUMENT', /AbortSignal/);
    await expectCode(store.set('k', 1, { fence: { name: 'x', token: 0 } }), 'ERR_BAD_ARGUMENT', /fence\.token/);
    await expectCode(store.withLock('x', 'nope' as never), 'ERR_BAD_ARGUMENT', /`fn`/);
  });
});

describe('withLock', () => {
  it("resolves to fn's value and releases the lock", async () => {
    const store = res.store();
    expect(await store.withLock('w', async (lock) => `held ${lock.name}`)).toBe('held w');
    await store.lock('w', { waitMs: 0 });
  });

  it('releases the lock when fn throws, and rejects with its error', async () => {
    const store = res.store();
    const boom = new Error('boom');
    await expect(
      store.withLock('w', () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    await store.lock('w', { waitMs: 0 });
  });

  it('resolves to what fn resolved to even when the lease ran out meanwhile; the fence is what refuses its late write', async () => {
    const { clock, store } = clockedStore();
    const outcome = await store.withLock(
      'slow',
      async (lock) => {
        clock.advance(2000);
        await expectCode(store.set('guarded', 'late', { fence: lock }), 'ERR_CONFLICT');
        return 'done too late';
      },
      { ttlMs: 1000 },
    );
    expect(outcome).toBe('done too late');
    expect(await store.has('guarded')).toBe(false);
  });
});

describe('transaction', () => {
  it('applies nothing when a check fails, and names the key', async () => {
    const store = res.store();
    await store.set('x', 1);
    const before = await store.getEntry('x');
    const error = await expectCode(
      store.transaction([
        { op: 'set', key: 'a', value: 'A' },
        { op: 'incr', key: 'x' },
        { op: 'check', key: 'y', revision: 5 },
      ]),
      'ERR_CONFLICT',
    );
    expect(error.message).toContain('"y"');
    expect(await store.getMany(['a', 'x'])).toEqual([undefined, 1]);
    expect(await store.getEntry('x')).toEqual(before);
    // The next write takes the next revision: the failed transaction used none.
    expect(await store.set('z', 0)).toBe(before!.revision + 1);
  });

  it('applies nothing when an ifRevision or an incr fails', async () => {
    const store = res.store();
    const rev = await store.set('s', 'text');
    await expectCode(
      store.transaction([
        { op: 'set', key: 'a', value: 1 },
        { op: 'incr', key: 's' },
      ]),
      'ERR_TYPE',
      /"s"/,
    );
    await expectCode(
      store.transaction([
        { op: 'set', key: 'a', value: 1 },
        { op: 'delete', key: 's', ifRevision: rev + 7 },
      ]),
      'ERR_CONFLICT',
      /"s"/,
    );
    expect(await store.has('a')).toBe(false);
    expect(await store.get('s')).toBe('text');
  });

  it('writes with consecutive revisions, one change event per write, and answers each op', async () => {
    const store = res.store();
    const base = await store.set('b0', 0);
    const events: ChangeEvent[] = [];
    const sub = store.changes().subscribe((e) => events.push(e));
    const results = await store.transaction([
      { op: 'set', key: 'a', value: { n: 1 } },
      { op: 'set', key: 'b', value: 2, ttlMs: 60_000 },
      { op: 'delete', key: 'a' },
      { op: 'incr', key: 'c', by: 5 },
      { op: 'delete', key: 'never' },
      { op: 'check', key: 'b', revision: base + 2 },
      { op: 'check', key: 'b0', revision: base },
    ]);
    expect(results).toEqual([base + 1, base + 2, base + 3, base + 4, 0, base + 2, base]);
    await waitUntil(() => events.length >= 4, '4 change events');
    sub.unsubscribe();
    expect(events.map((e) => [e.type, e.key, e.revision])).toEqual([
      ['set', 'a', base + 1],
      ['set', 'b', base + 2],
      ['delete', 'a', base + 3],
      ['set', 'c', base + 4],
    ]);
    expect(await store.getMany(['a', 'b', 'c'])).toEqual([undefined, 2, 5]);
    expect(await store.ttl('b')).toBeGreaterThan(59_000);
  });

  it('copies the values in: changing them after the call changes nothing stored', async () => {
    const store = res.store();
    const value = { list: [1] };
    const ops = [{ op: 'set' as const, key: 'v', value }];
    const done = store.transaction(ops);
    value.list.push(2);
    ops.length = 0;
    await done;
    expect(await store.get('v')).toEqual({ list: [1] });
  });

  it('checks every op and says which one is wrong', async () => {
    const store = res.store();
    await expectCode(store.transaction('x' as never), 'ERR_BAD_ARGUMENT', /`ops`/);
    await expectCode(store.transaction([{ op: 'put', key: 'a' } as never]), 'ERR_BAD_ARGUMENT', /ops\[0\]\.op/);
    await expectCode(store.transaction([{ op: 'set', key: '', value: 1 }]), 'ERR_BAD_KEY', /ops\[0\]\.key/);
    await expectCode(
      store.transaction([
        { op: 'check', key: 'a', revision: 0 },
        { op: 'set', key: 'a', value: undefined },
      ]),
      'ERR_BAD_ARGUMENT',
      /ops\[1\]/,
    );
    await expectCode(store.transaction([{ op: 'incr', key: 'a', by: Number.NaN }]), 'ERR_BAD_ARGUMENT', /ops\[0\].*`by`/);
    await expectCode(store.transaction([{ op: 'check', key: 'a', revision: -1 }]), 'ERR_BAD_ARGUMENT', /`revision`/);
    await expectCode(store.transaction([{ op: 'set', key: 'a', value: () => 1 }]), 'ERR_NOT_CLONEABLE');
    expect(await store.transaction([])).toEqual([]);
  });
});

describe('getMany', () => {
  it('reads several keys at once, in order, undefined where absent', async () => {
    const store = res.store();
    await store.set('a', { deep: [1] });
    await store.set('b', 2);
    const values = await store.getMany<unknown>(['b', 'missing', 'a', 'b']);
    expect(values).toEqual([2, undefined, { deep: [1] }, 2]);
    // A copy: changing it changes nothing stored.
    (values[2] as { deep: number[] }).deep.push(9);
    expect(await store.get('a')).toEqual({ deep: [1] });
    await expectCode(store.getMany(['a', ''] as string[]), 'ERR_BAD_KEY', /keys\[1\]/);
    await expectCode(store.getMany('a' as never), 'ERR_BAD_ARGUMENT', /`keys`/);
  });
});

describe('a wait in the main thread', () => {
  it('keeps the process alive until a lease runs out and the lock is granted (the lease timer alone would not)', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [fixturePath('lock-lease-wait.mjs')], { timeout: 20_000 });
    expect(stdout.trim()).toBe('granted true');
  });
});
