import { describe, expect, it } from 'vitest';
import { type ChangeEvent, KvbusError } from '../../src/index.js';
import { useStores } from '../helpers/use-stores.js';

const { newStore } = useStores();

async function rejection(promise: Promise<unknown>): Promise<KvbusError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection, but the call resolved');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KvbusError);
  return error as KvbusError;
}

describe('copy semantics (default)', () => {
  it('mutating an object after set does not change the store', async () => {
    const store = newStore();
    const value = { n: 1, nested: { list: [1, 2] } };
    await store.set('k', value);
    value.n = 2;
    value.nested.list.push(3);
    expect(await store.get('k')).toEqual({ n: 1, nested: { list: [1, 2] } });
  });

  it('mutating a value returned by get does not change the store', async () => {
    const store = newStore();
    await store.set('k', { n: 1, list: [1] });
    const got = await store.get<{ n: number; list: number[] }>('k');
    got!.n = 99;
    got!.list.push(2);
    expect(await store.get('k')).toEqual({ n: 1, list: [1] });
  });

  it('two reads give two distinct objects', async () => {
    const store = newStore();
    await store.set('k', { n: 1 });
    const a = await store.get('k');
    const b = await store.get('k');
    expect(a).toEqual(b);
    expect(a).not.toBe(b);
  });

  it('mutating a value from getEntry does not change the store', async () => {
    const store = newStore();
    await store.set('k', { n: 1 });
    const entry = await store.getEntry<{ n: number }>('k');
    entry!.value.n = 5;
    entry!.revision = 0;
    expect(await store.getEntry('k')).toEqual({ value: { n: 1 }, revision: expect.any(Number) });
    expect((await store.getEntry('k'))!.revision).toBeGreaterThan(0);
  });

  it('values delivered by watch do not alias the store', async () => {
    const store = newStore();
    await store.set('k', { n: 1 });
    const seen: Array<{ n: number } | undefined> = [];
    store.watch<{ n: number }>('k').subscribe((v) => seen.push(v));
    await store.set('k', { n: 2 });
    seen[0]!.n = 100;
    seen[1]!.n = 200;
    expect(await store.get('k')).toEqual({ n: 2 });
  });

  it('values delivered by changes do not alias the store', async () => {
    const store = newStore();
    const events: ChangeEvent<{ n: number }>[] = [];
    store.changes<{ n: number }>().subscribe((e) => events.push(e));
    const value = { n: 1 };
    await store.set('k', value);
    expect(events[0]!.value).not.toBe(value);
    events[0]!.value!.n = 100;
    expect(await store.get('k')).toEqual({ n: 1 });
  });

  it('an op in apply works on a copy: the value it receives and returns does not alias the store', async () => {
    const store = newStore();
    let kept: { n: number } | undefined;
    store.defineOp('keep', (old: { n: number } | undefined) => {
      kept = { n: (old?.n ?? 0) + 1 };
      return kept;
    });
    await store.apply('k', 'keep');
    kept!.n = 999;
    expect(await store.get('k')).toEqual({ n: 1 });
  });

  it('the argument of apply is copied', async () => {
    const store = newStore();
    store.defineOp('put', (_old: unknown, arg: unknown) => arg);
    const arg = { n: 1 };
    const returned = await store.apply('k', 'put', arg);
    arg.n = 2;
    expect(await store.get('k')).toEqual({ n: 1 });
    expect(returned).not.toBe(arg);
  });

  it('the value written by update is copied', async () => {
    const store = newStore();
    const next = { n: 1 };
    await store.update('k', () => next);
    next.n = 2;
    expect(await store.get('k')).toEqual({ n: 1 });
  });

  it('published data reaches subscribers as a copy', async () => {
    const store = newStore();
    const received: Array<{ n: number }> = [];
    store.channel<{ n: number }>('c').subscribe((d) => received.push(d));
    const data = { n: 1 };
    await store.publish('c', data);
    data.n = 2;
    expect(received).toEqual([{ n: 1 }]);
    expect(received[0]).not.toBe(data);
  });

  it('round-trips Dates, Maps, Sets, typed arrays, nested objects and special numbers', async () => {
    const store = newStore();
    const date = new Date('2024-05-06T07:08:09.010Z');
    const map = new Map<unknown, unknown>([
      ['a', 1],
      [2, { b: [3] }],
    ]);
    const set = new Set([1, 'two', 3]);
    const bytes = new Uint8Array([1, 2, 255]);
    const floats = new Float64Array([1.5, -0, Number.NaN]);
    const nested = { a: { b: { c: [1, { d: 'e' }] } }, big: 10n ** 20n, re: /x+/gi, neg0: -0, nan: Number.NaN };
    const cases: Array<[string, unknown]> = [
      ['date', date],
      ['map', map],
      ['set', set],
      ['bytes', bytes],
      ['floats', floats],
      ['nested', nested],
      ['buffer', bytes.buffer.slice(0)],
    ];
    for (const [key, value] of cases) {
      await store.set(key, value);
      const back = await store.get(key);
      expect(back, key).toEqual(value);
      expect(back, key).not.toBe(value);
      expect(Object.getPrototypeOf(back), key).toBe(Object.getPrototypeOf(value));
    }
    const backDate = (await store.get<Date>('date'))!;
    expect(backDate.getTime()).toBe(date.getTime());
    const backMap = (await store.get<Map<unknown, unknown>>('map'))!;
    expect(backMap.get(2)).toEqual({ b: [3] });
    const backNested = (await store.get<typeof nested>('nested'))!;
    expect(Object.is(backNested.neg0, -0)).toBe(true);
    expect(backNested.big).toBe(10n ** 20n);
    expect(backNested.re.flags).toBe('gi');
    const all = await store.getAll();
    expect(all.get('set')).toEqual(set);
  });

  it('keeps shared references and cycles inside one value', async () => {
    const store = newStore();
    const shared = { s: 1 };
    const value: Record<string, unknown> = { a: shared, b: shared };
    value.self = value;
    await store.set('k', value);
    const back = (await store.get<Record<string, unknown>>('k'))!;
    expect(back.a).toBe(back.b);
    expect(back.self).toBe(back);
  });
});

describe('copy: false', () => {
  // Opting out trades isolation for speed: the main thread then shares objects
  // with the store, unlike worker code (which always gets copies).
  it('stores by reference: mutating the object after set changes what get returns', async () => {
    const store = newStore({ copy: false });
    const value = { n: 1 };
    await store.set('k', value);
    value.n = 2;
    const got = await store.get<{ n: number }>('k');
    expect(got).toBe(value);
    expect(got).toEqual({ n: 2 });
  });

  it('hands out the stored object itself', async () => {
    const store = newStore({ copy: false });
    await store.set('k', { n: 1 });
    const a = await store.get<{ n: number }>('k');
    a!.n = 5;
    expect(await store.get('k')).toEqual({ n: 5 });
    expect(await store.get('k')).toBe(a);
  });
});

describe('uncloneable values', () => {
  class Handle {
    constructor(readonly fn: () => void) {}
  }
  const uncloneable: Array<[string, unknown]> = [
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
    ['an object holding a function', { ok: 1, cb: () => 2 }],
    ['an array holding a symbol', [1, Symbol('x')]],
    ['a WeakMap', new WeakMap()],
    ['a WeakSet', new WeakSet()],
    ['a class instance holding a function', new Handle(() => {})],
    ['a Map holding a function', new Map([['f', () => 3]])],
  ];

  it.each(uncloneable)('set of %s rejects with ERR_NOT_CLONEABLE naming the key, and stores nothing', async (_label, value) => {
    const store = newStore();
    const events: ChangeEvent[] = [];
    store.changes().subscribe((e) => events.push(e));
    const watched: unknown[] = [];
    store.watch('my-key').subscribe((v) => watched.push(v));
    const error = await rejection(store.set('my-key', value));
    expect(error.code).toBe('ERR_NOT_CLONEABLE');
    expect(error.message).toContain('my-key');
    expect(await store.has('my-key')).toBe(false);
    expect(await store.keys()).toEqual([]);
    expect(events).toEqual([]);
    expect(watched).toEqual([undefined]);
  });

  it('an uncloneable value does not replace an existing one', async () => {
    const store = newStore();
    const revision = await store.set('k', 'old');
    const error = await rejection(store.set('k', { f: () => {} }));
    expect(error.code).toBe('ERR_NOT_CLONEABLE');
    expect(await store.getEntry('k')).toEqual({ value: 'old', revision });
  });

  it('update writing an uncloneable value rejects with ERR_NOT_CLONEABLE and changes nothing', async () => {
    const store = newStore();
    await store.set('k', 1);
    const error = await rejection(store.update('k', () => ({ f: () => {} })));
    expect(error.code).toBe('ERR_NOT_CLONEABLE');
    expect(error.message).toContain('"k"');
    expect(await store.get('k')).toBe(1);
  });

  it('an op returning an uncloneable value rejects with ERR_NOT_CLONEABLE and changes nothing', async () => {
    const store = newStore();
    store.defineOp('fn', () => () => 1);
    await store.set('k', 1);
    const error = await rejection(store.apply('k', 'fn'));
    expect(error.code).toBe('ERR_NOT_CLONEABLE');
    expect(error.message).toContain('"k"');
    expect(await store.get('k')).toBe(1);
  });

  it('an uncloneable apply argument rejects with ERR_NOT_CLONEABLE', async () => {
    const store = newStore();
    let ran = false;
    store.defineOp('put', (_old: unknown, arg: unknown) => ((ran = true), arg));
    const error = await rejection(store.apply('k', 'put', { f: () => {} }));
    expect(error.code).toBe('ERR_NOT_CLONEABLE');
    expect(ran).toBe(false);
    expect(await store.has('k')).toBe(false);
  });

  it('publish of uncloneable data rejects with ERR_NOT_CLONEABLE naming the channel, with no subscriber', async () => {
    const store = newStore();
    const error = await rejection(store.publish('lonely-channel', { f: () => {} }));
    expect(error.code).toBe('ERR_NOT_CLONEABLE');
    expect(error.message).toContain('lonely-channel');
  });

  it('publish of uncloneable data reaches no subscriber', async () => {
    const store = newStore();
    const received: unknown[] = [];
    store.channel('c').subscribe((d) => received.push(d));
    const error = await rejection(store.publish('c', Symbol('nope')));
    expect(error.code).toBe('ERR_NOT_CLONEABLE');
    expect(error.message).toContain('"c"');
    expect(received).toEqual([]);
  });

  it('publish of uncloneable data rejects with ERR_NOT_CLONEABLE even with copy: false', async () => {
    // SPEC §1 (publish): "Uncloneable data rejects with ERR_NOT_CLONEABLE naming the channel, even when nobody listens".
    const store = newStore({ copy: false });
    const error = await rejection(store.publish('lonely-channel', () => 1));
    expect(error.code).toBe('ERR_NOT_CLONEABLE');
    expect(error.message).toContain('lonely-channel');
  });
});
