import { describe, expect, it } from 'vitest';
import { type ChangeEvent, KvbusError, type MainStore } from '../../src/index.js';
import { useStores } from '../helpers/use-stores.js';

const { newStore } = useStores();

function recordChanges(store: MainStore, glob?: string): ChangeEvent[] {
  const events: ChangeEvent[] = [];
  store.changes(glob).subscribe((e) => events.push(e));
  return events;
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<KvbusError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected a rejection with ${code}, but the call resolved`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KvbusError);
  expect((error as KvbusError).code).toBe(code);
  return error as KvbusError;
}

describe('get / set / has / delete', () => {
  it('returns what was set, and undefined (or the default) for an absent key', async () => {
    const store = newStore();
    await store.set('a', { x: 1 });
    expect(await store.get('a')).toEqual({ x: 1 });
    expect(await store.get('missing')).toBeUndefined();
    expect(await store.get('missing', 'fallback')).toBe('fallback');
    expect(await store.get('a', 'fallback')).toEqual({ x: 1 });
  });

  it('overwrites a value', async () => {
    const store = newStore();
    await store.set('a', 1);
    await store.set('a', 'two');
    expect(await store.get('a')).toBe('two');
  });

  it('treats null as a value, not as absence', async () => {
    const store = newStore();
    await store.set('n', null);
    expect(await store.has('n')).toBe(true);
    expect(await store.get('n')).toBeNull();
    expect(await store.get('n', 'fallback')).toBeNull();
    expect(await store.getEntry('n')).toEqual({ value: null, revision: expect.any(Number) });
    expect(await store.keys()).toEqual(['n']);
  });

  it('stores falsy values (0, empty string, false) as values', async () => {
    const store = newStore();
    await store.set('zero', 0);
    await store.set('empty', '');
    await store.set('no', false);
    expect(await store.get('zero', 99)).toBe(0);
    expect(await store.get('empty', 'x')).toBe('');
    expect(await store.get('no', true)).toBe(false);
    expect(await store.has('zero')).toBe(true);
  });

  it('rejects set(k, undefined) with ERR_BAD_ARGUMENT and stores nothing', async () => {
    const store = newStore();
    await expectCode(store.set('u', undefined), 'ERR_BAD_ARGUMENT');
    expect(await store.has('u')).toBe(false);
    await store.set('u', 1);
    await expectCode(store.set('u', undefined), 'ERR_BAD_ARGUMENT');
    expect(await store.get('u')).toBe(1);
  });

  it('has() tells presence', async () => {
    const store = newStore();
    expect(await store.has('a')).toBe(false);
    await store.set('a', 1);
    expect(await store.has('a')).toBe(true);
    await store.delete('a');
    expect(await store.has('a')).toBe(false);
  });

  it('delete() returns true when a key was removed and false otherwise', async () => {
    const store = newStore();
    expect(await store.delete('a')).toBe(false);
    await store.set('a', 1);
    expect(await store.delete('a')).toBe(true);
    expect(await store.delete('a')).toBe(false);
    expect(await store.get('a')).toBeUndefined();
  });

  it('getEntry() gives value and revision, or undefined when absent', async () => {
    const store = newStore();
    expect(await store.getEntry('a')).toBeUndefined();
    const revision = await store.set('a', [1, 2]);
    expect(await store.getEntry('a')).toEqual({ value: [1, 2], revision });
  });
});

describe('keys / getAll / clear', () => {
  it('keys() lists every key, or those matching a glob', async () => {
    const store = newStore();
    await store.set('user:1', 1);
    await store.set('user:2', 2);
    await store.set('order:1', 3);
    expect((await store.keys()).sort()).toEqual(['order:1', 'user:1', 'user:2']);
    expect((await store.keys('user:*')).sort()).toEqual(['user:1', 'user:2']);
    expect(await store.keys('user:?')).toHaveLength(2);
    expect(await store.keys('order:[0-9]')).toEqual(['order:1']);
    expect(await store.keys('nothing*')).toEqual([]);
  });

  it('getAll() returns a Map of every entry, or those matching a glob', async () => {
    const store = newStore();
    await store.set('user:1', { name: 'ann' });
    await store.set('order:1', 3);
    const all = await store.getAll();
    expect(all).toBeInstanceOf(Map);
    expect(all).toEqual(
      new Map<string, unknown>([
        ['user:1', { name: 'ann' }],
        ['order:1', 3],
      ]),
    );
    expect(await store.getAll('user:*')).toEqual(new Map([['user:1', { name: 'ann' }]]));
  });

  it('getAll() is a snapshot: mutating the Map or its values does not change the store', async () => {
    const store = newStore();
    await store.set('obj', { n: 1, list: [1] });
    await store.set('num', 1);
    const snapshot = await store.getAll<any>();
    snapshot.get('obj').n = 999;
    snapshot.get('obj').list.push(2);
    snapshot.set('num', 42);
    snapshot.set('added', true);
    snapshot.delete('obj');
    expect(await store.get('obj')).toEqual({ n: 1, list: [1] });
    expect(await store.get('num')).toBe(1);
    expect(await store.has('added')).toBe(false);
    // and the snapshot does not follow later writes either
    const later = await store.getAll();
    await store.set('num', 2);
    expect(later.get('num')).toBe(1);
  });

  it('clear() removes every key', async () => {
    const store = newStore();
    await store.set('a', 1);
    await store.set('b', 2);
    expect(await store.clear()).toBeUndefined();
    expect(await store.keys()).toEqual([]);
    expect(await store.has('a')).toBe(false);
    expect((await store.getAll()).size).toBe(0);
    expect((await store.stats()).keys).toBe(0);
  });
});

describe('revisions', () => {
  it('are positive, unique and increasing across the whole store', async () => {
    const store = newStore();
    const revisions: number[] = [];
    revisions.push(await store.set('a', 1));
    revisions.push(await store.set('b', 1));
    revisions.push(await store.set('a', 2));
    expect(await store.incr('c')).toBe(1); // incr returns the number; its revision shows in getEntry
    revisions.push((await store.getEntry('c'))!.revision);
    revisions.push(await store.set('b', 2));
    expect(revisions[0]).toBeGreaterThan(0);
    for (let i = 1; i < revisions.length; i++) expect(revisions[i]!).toBeGreaterThan(revisions[i - 1]!);
    expect(new Set(revisions).size).toBe(revisions.length);
  });

  it('a write to one key moves the store-wide counter seen by another', async () => {
    const store = newStore();
    const a1 = await store.set('a', 1);
    await store.set('b', 1);
    await store.set('b', 2);
    const a2 = await store.set('a', 2);
    expect(a2 - a1).toBeGreaterThanOrEqual(3);
  });

  it("a key's revision never goes back after delete and re-create", async () => {
    const store = newStore();
    const first = await store.set('k', 1);
    await store.set('k', 2);
    const before = (await store.getEntry('k'))!.revision;
    await store.delete('k');
    const recreated = await store.set('k', 3);
    expect(recreated).toBeGreaterThan(before);
    expect(recreated).toBeGreaterThan(first);
  });

  it('delete takes a revision of its own', async () => {
    const store = newStore();
    const events = recordChanges(store);
    const r1 = await store.set('a', 1);
    await store.delete('a');
    const r2 = await store.set('b', 1);
    const deleted = events.find((e) => e.type === 'delete');
    expect(deleted).toMatchObject({ type: 'delete', key: 'a' });
    expect(deleted!.revision).toBeGreaterThan(r1);
    expect(r2).toBeGreaterThan(deleted!.revision);
  });

  it('clear takes a revision of its own', async () => {
    const store = newStore();
    const events = recordChanges(store);
    const r1 = await store.set('a', 1);
    await store.clear();
    const r2 = await store.set('a', 1);
    const cleared = events.find((e) => e.type === 'clear');
    expect(cleared).toMatchObject({ type: 'clear', key: '*' });
    expect(cleared!.revision).toBeGreaterThan(r1);
    expect(r2).toBeGreaterThan(cleared!.revision);
  });

  it('every write of a change stream carries a distinct, increasing revision', async () => {
    const store = newStore();
    store.defineOp('inc', (old: number | undefined) => (old ?? 0) + 1);
    const events = recordChanges(store);
    await store.set('a', 1);
    await store.incr('a');
    await store.apply('a', 'inc');
    await store.update('a', (v: number | undefined) => (v ?? 0) * 10);
    await store.delete('a');
    await store.clear();
    expect(events.map((e) => e.type)).toEqual(['set', 'set', 'set', 'set', 'delete', 'clear']);
    const revs = events.map((e) => e.revision);
    for (let i = 1; i < revs.length; i++) expect(revs[i]!).toBeGreaterThan(revs[i - 1]!);
  });
});

describe('compare-and-set (ifRevision)', () => {
  it('ifRevision 0 writes only when the key is absent', async () => {
    const store = newStore();
    const revision = await store.set('k', 'first', { ifRevision: 0 });
    expect(revision).toBeGreaterThan(0);
    await expectCode(store.set('k', 'second', { ifRevision: 0 }), 'ERR_CONFLICT');
    expect(await store.getEntry('k')).toEqual({ value: 'first', revision });
  });

  it('writes when the revision matches and returns the new revision', async () => {
    const store = newStore();
    const r1 = await store.set('k', 1);
    const r2 = await store.set('k', 2, { ifRevision: r1 });
    expect(r2).toBeGreaterThan(r1);
    expect(await store.getEntry('k')).toEqual({ value: 2, revision: r2 });
  });

  it('rejects with ERR_CONFLICT when the key moved on, and changes nothing', async () => {
    const store = newStore();
    const r1 = await store.set('k', 1);
    const r2 = await store.set('k', 2);
    const events = recordChanges(store);
    const statsBefore = await store.stats();
    const error = await expectCode(store.set('k', 'stale', { ifRevision: r1 }), 'ERR_CONFLICT');
    expect(error.message).toContain('"k"');
    expect(await store.getEntry('k')).toEqual({ value: 2, revision: r2 });
    expect(events).toEqual([]);
    // the failed write took no revision
    const r3 = await store.set('other', 1);
    expect(r3).toBe(r2 + 1);
    expect((await store.stats()).keys).toBe(statsBefore.keys + 1);
  });

  it('rejects a non-zero ifRevision on an absent key', async () => {
    const store = newStore();
    await expectCode(store.set('k', 1, { ifRevision: 5 }), 'ERR_CONFLICT');
    expect(await store.has('k')).toBe(false);
  });

  it('after delete, ifRevision 0 succeeds again and the old revision conflicts', async () => {
    const store = newStore();
    const r1 = await store.set('k', 1);
    await store.delete('k');
    await expectCode(store.set('k', 2, { ifRevision: r1 }), 'ERR_CONFLICT');
    const r2 = await store.set('k', 3, { ifRevision: 0 });
    expect(r2).toBeGreaterThan(r1);
    expect(await store.get('k')).toBe(3);
  });

  it('only one of two racing compare-and-sets on the same revision wins', async () => {
    const store = newStore();
    const r = await store.set('k', 0);
    const results = await Promise.allSettled([store.set('k', 'A', { ifRevision: r }), store.set('k', 'B', { ifRevision: r })]);
    expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.filter((x): x is PromiseRejectedResult => x.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.reason).toMatchObject({ code: 'ERR_CONFLICT' });
    expect(await store.get('k')).toBe('A');
  });
});

describe('incr', () => {
  it('counts an absent key as 0 and returns the new number', async () => {
    const store = newStore();
    expect(await store.incr('n')).toBe(1);
    expect(await store.incr('n')).toBe(2);
    expect(await store.incr('n', 10)).toBe(12);
    expect(await store.incr('n', -20)).toBe(-8);
    expect(await store.incr('f', 0.5)).toBe(0.5);
    expect(await store.get('n')).toBe(-8);
  });

  it('is atomic: many concurrent increments lose nothing', async () => {
    const store = newStore();
    await Promise.all(Array.from({ length: 500 }, () => store.incr('n')));
    expect(await store.get('n')).toBe(500);
  });

  it.each([
    ['a string', 'abc'],
    ['a numeric string', '5'],
    ['null', null],
    ['an object', { n: 1 }],
    ['an array', [1]],
    ['a boolean', true],
  ])('rejects with ERR_TYPE on %s and leaves it unchanged', async (_label, value) => {
    const store = newStore();
    const revision = await store.set('k', value);
    const error = await expectCode(store.incr('k'), 'ERR_TYPE');
    expect(error.message).toContain('"k"');
    expect(await store.getEntry('k')).toEqual({ value, revision });
  });
});

describe('update', () => {
  it('runs fn on the old value and writes its result', async () => {
    const store = newStore();
    await store.set('k', { count: 1 });
    const next = await store.update<{ count: number }>('k', (old) => ({ count: old!.count + 1 }));
    expect(next).toEqual({ count: 2 });
    expect(await store.get('k')).toEqual({ count: 2 });
  });

  it('sees undefined for an absent key and creates it', async () => {
    const store = newStore();
    const seen: unknown[] = [];
    await store.update('k', (old) => {
      seen.push(old);
      return 'created';
    });
    expect(seen).toEqual([undefined]);
    expect(await store.get('k')).toBe('created');
  });

  it('accepts an async fn', async () => {
    const store = newStore();
    await store.set('k', 1);
    expect(await store.update<number>('k', async (old) => (old ?? 0) + 1)).toBe(2);
    expect(await store.get('k')).toBe(2);
  });

  it('retries on a real conflict: fn runs again on the competing value', async () => {
    const store = newStore();
    await store.set('k', 1);
    const calls: Array<number | undefined> = [];
    const result = await store.update<number>('k', async (old) => {
      calls.push(old);
      if (calls.length === 1) await store.set('k', 100); // a competing writer wins the race
      return (old ?? 0) + 1;
    });
    expect(calls).toEqual([1, 100]);
    expect(result).toBe(101);
    expect(await store.get('k')).toBe(101);
  });

  it('retries when a competitor creates an absent key', async () => {
    const store = newStore();
    let calls = 0;
    const result = await store.update<number>('k', async (old) => {
      calls++;
      if (calls === 1) await store.set('k', 7);
      return (old ?? 0) + 1;
    });
    expect(calls).toBe(2);
    expect(result).toBe(8);
    expect(await store.get('k')).toBe(8);
  });

  it('rejects with ERR_CONFLICT when retries: 0 and a conflict happens, keeping the competitor value', async () => {
    const store = newStore();
    await store.set('k', 1);
    let calls = 0;
    await expectCode(
      store.update<number>(
        'k',
        async (old) => {
          calls++;
          await store.set('k', 50);
          return (old ?? 0) + 1;
        },
        { retries: 0 },
      ),
      'ERR_CONFLICT',
    );
    expect(calls).toBe(1);
    expect(await store.get('k')).toBe(50);
  });

  it('gives up after `retries` retries', async () => {
    const store = newStore();
    await store.set('k', 0);
    let calls = 0;
    await expectCode(
      store.update<number>(
        'k',
        async (old) => {
          calls++;
          await store.incr('k');
          return (old ?? 0) + 1000;
        },
        { retries: 2 },
      ),
      'ERR_CONFLICT',
    );
    expect(calls).toBe(3);
    expect(await store.get('k')).toBe(3);
  });

  it('deletes the key when fn returns undefined', async () => {
    const store = newStore();
    await store.set('k', 1);
    const result = await store.update('k', () => undefined);
    expect(result).toBeUndefined();
    expect(await store.has('k')).toBe(false);
  });

  it('returning undefined for an absent key leaves it absent', async () => {
    const store = newStore();
    const events = recordChanges(store);
    expect(await store.update('k', () => undefined)).toBeUndefined();
    expect(await store.has('k')).toBe(false);
    expect(events).toEqual([]);
  });

  it('a throwing fn rejects with its error and changes nothing', async () => {
    const store = newStore();
    await store.set('k', 1);
    const boom = new Error('boom');
    await expect(
      store.update('k', () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await store.get('k')).toBe(1);
  });
});

describe('apply / defineOp', () => {
  it('runs a registered op with the old value and the argument, and returns the new value', async () => {
    const store = newStore();
    expect(store.defineOp('push', (list: unknown[] = [], item: unknown) => [...list, item])).toBe(store);
    expect(await store.apply('log', 'push', 'a')).toEqual(['a']);
    expect(await store.apply('log', 'push', 'b')).toEqual(['a', 'b']);
    expect(await store.get('log')).toEqual(['a', 'b']);
  });

  it('takes a revision for the write', async () => {
    const store = newStore();
    store.defineOp('inc', (old: number | undefined) => (old ?? 0) + 1);
    const r1 = await store.set('n', 1);
    await store.apply('n', 'inc');
    const entry = await store.getEntry('n');
    expect(entry!.value).toBe(2);
    expect(entry!.revision).toBeGreaterThan(r1);
  });

  it('rejects an unknown op with ERR_BAD_ARGUMENT and changes nothing', async () => {
    const store = newStore();
    await store.set('k', 1);
    const error = await expectCode(store.apply('k', 'nope'), 'ERR_BAD_ARGUMENT');
    expect(error.message).toContain('nope');
    expect(await store.get('k')).toBe(1);
  });

  it('deletes the key when the op returns undefined', async () => {
    const store = newStore();
    store.defineOp('drop', () => undefined);
    await store.set('k', 1);
    const events = recordChanges(store);
    expect(await store.apply('k', 'drop')).toBeUndefined();
    expect(await store.has('k')).toBe(false);
    expect(events.map((e) => e.type)).toEqual(['delete']);
  });

  it('a throwing op rejects and changes nothing, even if it mutated the old value first', async () => {
    const store = newStore();
    const boom = new Error('op failed');
    store.defineOp('bad', (old: { n: number } | undefined) => {
      if (old) old.n = 999;
      throw boom;
    });
    const revision = await store.set('k', { n: 1 });
    const events = recordChanges(store);
    await expect(store.apply('k', 'bad')).rejects.toBe(boom);
    expect(await store.getEntry('k')).toEqual({ value: { n: 1 }, revision });
    expect(events).toEqual([]);
    // and the actor keeps working
    expect(await store.set('k', 2)).toBeGreaterThan(revision);
  });

  it('runs atomically: concurrent applies lose nothing', async () => {
    const store = newStore();
    store.defineOp('push', (list: number[] = [], item: number) => [...list, item]);
    await Promise.all(Array.from({ length: 100 }, (_, i) => store.apply('list', 'push', i)));
    expect(await store.get('list')).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('a later defineOp with the same name replaces the op', async () => {
    const store = newStore();
    store.defineOp('op', () => 'one');
    store.defineOp('op', () => 'two');
    expect(await store.apply('k', 'op')).toBe('two');
  });

  it('defineOp rejects a bad name or a non-function synchronously', () => {
    const store = newStore();
    expect(() => store.defineOp('', () => 1)).toThrow(KvbusError);
    expect(() => store.defineOp('x', 42 as any)).toThrow(expect.objectContaining({ code: 'ERR_BAD_ARGUMENT' }));
  });
});

describe('special keys', () => {
  const SPECIAL = ['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'prototype'];

  it('are absent in an empty store', async () => {
    const store = newStore();
    for (const key of SPECIAL) {
      expect(await store.has(key)).toBe(false);
      expect(await store.get(key)).toBeUndefined();
      expect(await store.getEntry(key)).toBeUndefined();
      expect(await store.delete(key)).toBe(false);
    }
  });

  it('are ordinary keys for set/get/has/delete/incr', async () => {
    const store = newStore();
    for (const key of SPECIAL) {
      await store.set(key, { owner: key });
      expect(await store.get(key)).toEqual({ owner: key });
      expect(await store.has(key)).toBe(true);
    }
    expect(await store.incr('__proto__x')).toBe(1);
    await store.delete('__proto__');
    expect(await store.incr('__proto__')).toBe(1);
    expect(await store.incr('__proto__', 2)).toBe(3);
    for (const key of SPECIAL.slice(1)) expect(await store.delete(key)).toBe(true);
    expect((await store.keys()).sort()).toEqual(['__proto__', '__proto__x']);
  });

  it('appear in keys() and getAll() like any other key', async () => {
    const store = newStore();
    for (const key of SPECIAL) await store.set(key, key.length);
    expect((await store.keys()).sort()).toEqual([...SPECIAL].sort());
    const all = await store.getAll();
    expect(all.size).toBe(SPECIAL.length);
    for (const key of SPECIAL) expect(all.get(key)).toBe(key.length);
    expect((await store.keys('__*')).sort()).toEqual(['__proto__']);
    expect(await store.getAll('constructor')).toEqual(new Map([['constructor', 'constructor'.length]]));
  });

  it('do not leak into other keys or Object.prototype', async () => {
    const store = newStore();
    await store.set('__proto__', { polluted: true });
    await store.set('constructor', { prototype: { polluted: true } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await store.get('polluted')).toBeUndefined();
    expect((await store.stats()).keys).toBe(2);
  });
});
