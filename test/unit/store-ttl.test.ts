import { describe, expect, it } from 'vitest';
import { type ChangeEvent, type Clock, createStore, KvbusError, type MainStore } from '../../src/index.js';
import { useStores } from '../helpers/use-stores.js';

/**
 * A manual clock: time moves only on advance() (firing due timers in deadline
 * order, each at its own instant) or jump() (time moves, no timer fires: only
 * lazy expiry can notice).
 */
class FakeClock implements Clock {
  time = 1_700_000_000_000;
  #nextId = 1;
  readonly timers = new Map<number, { at: number; fn: () => void }>();
  maxPending = 0;
  created = 0;

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn });
    this.created++;
    this.maxPending = Math.max(this.maxPending, this.timers.size);
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  get pending(): number {
    return this.timers.size;
  }

  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= target && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.time = Math.max(this.time, next[1].at);
      next[1].fn();
    }
    this.time = target;
  }

  jump(ms: number): void {
    this.time += ms;
  }
}

const { newStore } = useStores((clock?: Clock) => createStore(clock ? { clock } : {}));

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

    it('after the timer fired', async () => {
      const { clock, store } = setup();
      await store.set('k', 'v', { ttlMs: 100 });
      clock.advance(100);
      expect(await store.get('k')).toBeUndefined();
      expect(await store.has('k')).toBe(false);
      expect(await store.getEntry('k')).toBeUndefined();
      expect(await store.keys()).toEqual([]);
      expect((await store.getAll()).size).toBe(0);
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

  it('active expiry emits one expire change event without any read', async () => {
    const { clock, store, events } = setup();
    const r = await store.set('k', 'v', { ttlMs: 100 });
    clock.advance(100);
    // nothing was read: the timer alone expired the key
    const expire = events.filter((e) => e.type === 'expire');
    expect(expire).toEqual([{ type: 'expire', key: 'k', revision: expect.any(Number) }]);
    expect(expire[0]!.revision).toBeGreaterThan(r);
    expect(expire[0]).not.toHaveProperty('value');
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

  it('expire takes a revision: the next write is above it', async () => {
    const { clock, store, events } = setup();
    await store.set('k', 'v', { ttlMs: 100 });
    clock.advance(100);
    const next = await store.set('other', 1);
    const expire = events.find((e) => e.type === 'expire')!;
    expect(next).toBeGreaterThan(expire.revision);
  });

  it('watch emits undefined when the watched key expires', async () => {
    const { clock, store } = setup();
    await store.set('k', 'v', { ttlMs: 100 });
    const seen: unknown[] = [];
    store.watch('k').subscribe((v) => seen.push(v));
    clock.advance(100);
    expect(seen).toEqual(['v', undefined]);
  });

  it('changes(glob) sees the expiry of matching keys only', async () => {
    const { clock, store } = setup();
    const users: ChangeEvent[] = [];
    store.changes('user:*').subscribe((e) => users.push(e));
    await store.set('user:1', 1, { ttlMs: 100 });
    await store.set('order:1', 1, { ttlMs: 100 });
    clock.advance(100);
    expect(expired(users)).toEqual(['user:1']);
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

  it('set without ttlMs removes an existing TTL', async () => {
    const { clock, store, events } = setup();
    await store.set('k', 1, { ttlMs: 100 });
    await store.set('k', 2);
    clock.advance(10_000);
    expect(await store.get('k')).toBe(2);
    expect(expired(events)).toEqual([]);
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

  it('a key re-set with a shorter TTL expires at the new deadline', async () => {
    const { clock, store, events } = setup();
    await store.set('k', 1, { ttlMs: 1000 });
    await store.set('k', 2, { ttlMs: 100 });
    clock.advance(100);
    expect(expired(events)).toEqual(['k']);
  });

  it('a key deleted and re-created without TTL is not expired by the old deadline', async () => {
    const { clock, store, events } = setup();
    await store.set('k', 1, { ttlMs: 100 });
    await store.delete('k');
    await store.set('k', 2);
    clock.advance(1000);
    expect(await store.get('k')).toBe(2);
    expect(expired(events)).toEqual([]);
  });

  it('clear forgets every TTL', async () => {
    const { clock, store, events } = setup();
    await store.set('k', 1, { ttlMs: 100 });
    await store.clear();
    await store.set('k', 2);
    clock.advance(1000);
    expect(await store.get('k')).toBe(2);
    expect(expired(events)).toEqual([]);
  });

  it('incr keeps the TTL', async () => {
    const { clock, store, events } = setup();
    await store.set('n', 1, { ttlMs: 100 });
    clock.advance(50);
    expect(await store.incr('n')).toBe(2);
    clock.advance(49);
    expect(await store.get('n')).toBe(2);
    clock.advance(1);
    expect(expired(events)).toEqual(['n']);
    expect(await store.has('n')).toBe(false);
  });

  it('apply keeps the TTL', async () => {
    const { clock, store, events } = setup();
    store.defineOp('double', (old: number | undefined) => (old ?? 1) * 2);
    await store.set('n', 1, { ttlMs: 100 });
    clock.advance(50);
    expect(await store.apply('n', 'double')).toBe(2);
    clock.advance(50);
    expect(expired(events)).toEqual(['n']);
    expect(await store.has('n')).toBe(false);
  });

  it('update keeps the TTL', async () => {
    const { clock, store, events } = setup();
    await store.set('n', 1, { ttlMs: 100 });
    clock.advance(50);
    expect(await store.update<number>('n', (old) => (old ?? 0) + 1)).toBe(2);
    clock.advance(50);
    expect(expired(events)).toEqual(['n']);
    expect(await store.has('n')).toBe(false);
  });

  it('incr on a key without TTL does not give it one', async () => {
    const { clock, store } = setup();
    await store.incr('n');
    clock.advance(1e9);
    expect(await store.get('n')).toBe(1);
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
    const error = await store.set('k', 1, { ttlMs: ttlMs as number }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KvbusError);
    expect((error as KvbusError).code).toBe('ERR_BAD_ARGUMENT');
    expect((error as KvbusError).message).toMatch(/ttlMs/);
    expect(await store.has('k')).toBe(false);
    expect(events).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('an invalid ttlMs leaves an existing key and its TTL untouched', async () => {
    const { clock, store } = setup();
    const revision = await store.set('k', 1, { ttlMs: 100 });
    await expect(store.set('k', 2, { ttlMs: -1 })).rejects.toMatchObject({ code: 'ERR_BAD_ARGUMENT' });
    expect(await store.getEntry('k')).toEqual({ value: 1, revision });
    clock.advance(100);
    expect(await store.has('k')).toBe(false);
  });

  it('accepts a fractional ttlMs', async () => {
    const { clock, store } = setup();
    await store.set('k', 1, { ttlMs: 0.5 });
    expect(await store.has('k')).toBe(true);
    clock.advance(1);
    expect(await store.has('k')).toBe(false);
  });
});

describe('ttl with the system clock', () => {
  it('expires a key by itself', async () => {
    const store = newStore();
    const events: ChangeEvent[] = [];
    store.changes().subscribe((e) => events.push(e));
    await store.set('k', 'v', { ttlMs: 30 });
    expect(await store.has('k')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 80));
    // the expire event came from the timer, before any read
    expect(expired(events)).toEqual(['k']);
    expect(await store.has('k')).toBe(false);
  });
});
