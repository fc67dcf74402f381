// TTL on the memory backend, on a fake clock: exact deadlines, lazy expiry (a read
// past the deadline, before the timer fired), and one timer for every key. What
// every backend does with a TTL is in the conformance suite (test/conformance/suite.ts, "TTL").
import { describe, expect, it } from 'vitest';
import { type ChangeEvent, type Clock, createStore, type MainStore } from '../../src/index.js';
import { expectCode } from '../helpers/errors.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { useStores } from '../helpers/use-stores.js';

const { newStore } = useStores((clock: Clock) => createStore({ clock }));

function setup(): { clock: FakeClock; store: MainStore; events: ChangeEvent[] } {
  const clock = new FakeClock();
  const store = newStore(clock);
  const events: ChangeEvent[] = [];
  store.changes().subscribe((e) => events.push(e));
  return { clock, store, events };
}

const expired = (events: ChangeEvent[]) => events.filter((e) => e.type === 'expire').map((e) => e.key);

describe('ttl', () => {
  it('keeps a key until its deadline', async () => {
    const { clock, store } = setup();
    await store.set('k', 'v', { ttlMs: 1000 });
    clock.advance(999);
    expect(await store.get('k')).toBe('v');
    expect(await store.has('k')).toBe(true);
  });

  describe('never returns an expired key', () => {
    // jump() moves time without firing the timer: these prove the reads themselves check deadlines.
    it('from get', async () => {
      const { clock, store } = setup();
      await store.set('k', 'v', { ttlMs: 100 });
      clock.jump(100);
      expect(await store.get('k')).toBeUndefined();
      expect(await store.get('k', 'default')).toBe('default');
    });

    it('from has', async () => {
      const { clock, store } = setup();
      await store.set('k', 'v', { ttlMs: 100 });
      clock.jump(150);
      expect(await store.has('k')).toBe(false);
    });

    it('from getEntry', async () => {
      const { clock, store } = setup();
      await store.set('k', 'v', { ttlMs: 100 });
      clock.jump(150);
      expect(await store.getEntry('k')).toBeUndefined();
    });

    it('from keys', async () => {
      const { clock, store } = setup();
      await store.set('k', 'v', { ttlMs: 100 });
      await store.set('stay', 1);
      clock.jump(150);
      expect(await store.keys()).toEqual(['stay']);
      expect(await store.keys('k*')).toEqual([]);
    });

    it('from getAll', async () => {
      const { clock, store } = setup();
      await store.set('k', 'v', { ttlMs: 100 });
      await store.set('stay', 1);
      clock.jump(150);
      expect(await store.getAll()).toEqual(new Map([['stay', 1]]));
    });

    it('from stats().keys', async () => {
      const { clock, store } = setup();
      await store.set('k', 'v', { ttlMs: 100 });
      await store.set('stay', 1);
      clock.jump(150);
      expect((await store.stats()).keys).toBe(1);
    });

    it('and an expired key counts as absent for incr and compare-and-set', async () => {
      const { clock, store } = setup();
      const r = await store.set('n', 41, { ttlMs: 100 });
      await store.set('c', 'x', { ttlMs: 100 });
      clock.jump(150);
      expect(await store.incr('n')).toBe(1);
      await expect(store.set('c', 'y', { ifRevision: r + 1 })).rejects.toMatchObject({ code: 'ERR_CONFLICT' });
      await store.set('c', 'z', { ifRevision: 0 });
      expect(await store.get('c')).toBe('z');
    });
  });

  it('lazy expiry (a read past the deadline) emits the expire event too, once', async () => {
    const { clock, store, events } = setup();
    await store.set('k', 'v', { ttlMs: 100 });
    clock.jump(100);
    await store.get('k');
    await store.get('k');
    clock.advance(1000);
    expect(expired(events)).toEqual(['k']);
  });

  it('expires 1 000 keys through one pending timer', async () => {
    const { clock, store, events } = setup();
    for (let i = 0; i < 1000; i++) {
      // deadlines in both directions, so an earlier deadline arrives after later ones
      const ttlMs = i % 2 === 0 ? 1000 + i : 3000 - i;
      await store.set(`k${i}`, i, { ttlMs });
      expect(clock.pending).toBeLessThanOrEqual(1);
    }
    expect(clock.maxPending).toBe(1);
    clock.advance(500);
    expect(expired(events)).toEqual([]);
    clock.advance(3000);
    expect(clock.maxPending).toBe(1);
    expect(new Set(expired(events)).size).toBe(1000);
    expect(expired(events)).toHaveLength(1000);
    expect((await store.stats()).keys).toBe(0);
  });

  it('expires keys in deadline order', async () => {
    const { clock, store, events } = setup();
    await store.set('c', 1, { ttlMs: 300 });
    await store.set('a', 1, { ttlMs: 100 });
    await store.set('b', 1, { ttlMs: 200 });
    clock.advance(150);
    expect(expired(events)).toEqual(['a']);
    clock.advance(100);
    expect(expired(events)).toEqual(['a', 'b']);
    clock.advance(100);
    expect(expired(events)).toEqual(['a', 'b', 'c']);
  });

  it('leaves no timer pending once every TTL is gone', async () => {
    const { clock, store } = setup();
    await store.set('a', 1, { ttlMs: 100 });
    await store.set('b', 1, { ttlMs: 200 });
    clock.advance(1000);
    expect(clock.pending).toBe(0);
  });

  it('a key re-set with a longer TTL does not expire at the old deadline', async () => {
    const { clock, store, events } = setup();
    await store.set('k', 1, { ttlMs: 100 });
    await store.set('k', 2, { ttlMs: 1000 });
    clock.advance(500);
    expect(expired(events)).toEqual([]);
    expect(await store.get('k')).toBe(2);
    clock.advance(500);
    expect(expired(events)).toEqual(['k']);
    expect(await store.has('k')).toBe(false);
  });

  it.each([
    ['incr', (store: MainStore) => store.incr('n')],
    ['apply', (store: MainStore) => store.apply('n', 'double')],
    ['update', (store: MainStore) => store.update<number>('n', (old) => (old ?? 0) + 1)],
  ])('%s keeps the TTL, its deadline unmoved', async (_name, write) => {
    const { clock, store, events } = setup();
    store.defineOp('double', (old: number | undefined) => (old ?? 1) * 2);
    await store.set('n', 1, { ttlMs: 100 });
    clock.advance(50);
    expect(await write(store)).toBe(2);
    clock.advance(49);
    expect(await store.get('n')).toBe(2);
    clock.advance(1);
    expect(expired(events)).toEqual(['n']);
    expect(await store.has('n')).toBe(false);
  });

  it.each([
    ['0', 0],
    ['negative', -5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a string', '5'],
    ['null', null],
  ])('rejects ttlMs %s with ERR_BAD_ARGUMENT and stores nothing', async (_label, ttlMs) => {
    const { clock, store, events } = setup();
    await expectCode(store.set('k', 1, { ttlMs: ttlMs as number }), 'ERR_BAD_ARGUMENT', /ttlMs/);
    expect(await store.has('k')).toBe(false);
    expect(events).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('accepts a fractional ttlMs', async () => {
    const { clock, store } = setup();
    await store.set('k', 1, { ttlMs: 0.5 });
    expect(await store.has('k')).toBe(true);
    clock.advance(1);
    expect(await store.has('k')).toBe(false);
  });
});
