import { config } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ChangeEvent, KvbusError, type PatternMessage } from '../../src/index.js';
import { useStores } from '../helpers/use-stores.js';

const { newStore } = useStores();

/** Lets promise callbacks and zero-delay timers (RxJS error reports) run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('channel', () => {
  it('delivers published data to a subscriber', async () => {
    const store = newStore();
    const received: unknown[] = [];
    store.channel('news').subscribe((d) => received.push(d));
    await store.publish('news', { title: 'hello' });
    await store.publish('other', 'not for us');
    expect(received).toEqual([{ title: 'hello' }]);
  });

  it('subscribing is a command: a publish awaited right after subscribe is received', async () => {
    const store = newStore();
    const received: unknown[] = [];
    store.channel('x').subscribe((d) => received.push(d));
    expect(await store.publish('x', 1)).toBe(1);
    expect(received).toEqual([1]);
  });

  it('publish resolves to the number of receivers: each main-thread observer once', async () => {
    const store = newStore();
    expect(await store.publish('c', 0)).toBe(0);
    const obs = store.channel('c');
    obs.subscribe(() => {});
    obs.subscribe(() => {});
    store.pattern('c*').subscribe(() => {});
    store.onSubscriberReceive('c', () => {});
    store.channel('d').subscribe(() => {});
    expect(await store.publish('c', 1)).toBe(4);
    expect(await store.publish('d', 1)).toBe(1);
    expect(await store.publish('cx', 1)).toBe(1);
  });

  it("keeps each publisher's order", async () => {
    const store = newStore();
    const received: number[] = [];
    store.channel<number>('seq').subscribe((n) => received.push(n));
    const sends = Array.from({ length: 200 }, (_, i) => store.publish('seq', i));
    await Promise.all(sends);
    expect(received).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('unsubscribe stops delivery and lowers stats().subscriptions', async () => {
    const store = newStore();
    const base = (await store.stats()).subscriptions;
    const a: unknown[] = [];
    const b: unknown[] = [];
    const subA = store.channel('c').subscribe((d) => a.push(d));
    store.channel('c').subscribe((d) => b.push(d));
    expect((await store.stats()).subscriptions).toBe(base + 2);
    await store.publish('c', 1);
    subA.unsubscribe();
    expect((await store.stats()).subscriptions).toBe(base + 1);
    expect(await store.publish('c', 2)).toBe(1);
    expect(a).toEqual([1]);
    expect(b).toEqual([1, 2]);
  });

  it('every kind of subscription counts in stats() and goes away on unsubscribe', async () => {
    const store = newStore();
    const base = (await store.stats()).subscriptions;
    const subs = [
      store.channel('c').subscribe(),
      store.pattern('c*').subscribe(),
      store.watch('k').subscribe(),
      store.changes('k*').subscribe(),
    ];
    const off = store.onSubscriberReceive('c', () => {});
    expect((await store.stats()).subscriptions).toBe(base + 5);
    for (const s of subs) s.unsubscribe();
    off();
    expect((await store.stats()).subscriptions).toBe(base);
  });
});

describe('pattern', () => {
  it('delivers { channel, data } for every matching channel', async () => {
    const store = newStore();
    const received: PatternMessage[] = [];
    store.pattern('news.*').subscribe((m) => received.push(m));
    await store.publish('news.sport', 1);
    await store.publish('weather', 2);
    await store.publish('news.tech', { a: 1 });
    expect(received).toEqual([
      { channel: 'news.sport', data: 1 },
      { channel: 'news.tech', data: { a: 1 } },
    ]);
  });

  it('uses Redis glob rules: ?, [a-z] and escapes', async () => {
    const store = newStore();
    const received: string[] = [];
    store.pattern('ch?').subscribe((m) => received.push(m.channel));
    store.pattern('room[0-3]').subscribe((m) => received.push(m.channel));
    store.pattern('lit\\*').subscribe((m) => received.push(m.channel));
    for (const ch of ['ch1', 'ch12', 'room2', 'room7', 'lit*', 'litx']) await store.publish(ch, 0);
    expect(received).toEqual(['ch1', 'room2', 'lit*']);
  });
});

describe('watch', () => {
  it('emits the current value first, then each set and delete', async () => {
    const store = newStore();
    await store.set('k', 1);
    const seen: unknown[] = [];
    store.watch('k').subscribe((v) => seen.push(v));
    expect(seen).toEqual([1]);
    await store.set('k', 2);
    await store.set('other', 'x');
    await store.delete('k');
    await store.set('k', 3);
    expect(seen).toEqual([1, 2, undefined, 3]);
  });

  it('emits undefined first for an absent key', async () => {
    const store = newStore();
    const seen: unknown[] = [];
    store.watch('k').subscribe((v) => seen.push(v));
    expect(seen).toEqual([undefined]);
  });

  it('sees incr, apply and update', async () => {
    const store = newStore();
    store.defineOp('neg', (old: number | undefined) => -(old ?? 0));
    const seen: unknown[] = [];
    store.watch('n').subscribe((v) => seen.push(v));
    await store.incr('n', 5);
    await store.apply('n', 'neg');
    await store.update<number>('n', (v) => (v ?? 0) * 2);
    expect(seen).toEqual([undefined, 5, -5, -10]);
  });

  it('a clear emits undefined for a watched key that existed', async () => {
    const store = newStore();
    await store.set('k', 1);
    const seen: unknown[] = [];
    store.watch('k').subscribe((v) => seen.push(v));
    await store.clear();
    expect(seen).toEqual([1, undefined]);
  });

  it('a clear emits nothing for a watched key that did not exist', async () => {
    const store = newStore();
    await store.set('other', 1);
    const absent: unknown[] = [];
    store.watch('k').subscribe((v) => absent.push(v));
    const deleted: unknown[] = [];
    await store.set('d', 1);
    store.watch('d').subscribe((v) => deleted.push(v));
    await store.delete('d');
    await store.clear();
    expect(absent).toEqual([undefined]);
    expect(deleted).toEqual([1, undefined]);
  });

  it('a key set to null emits null, not undefined', async () => {
    const store = newStore();
    const seen: unknown[] = [];
    store.watch('k').subscribe((v) => seen.push(v));
    await store.set('k', null);
    await store.clear();
    expect(seen).toEqual([undefined, null, undefined]);
  });
});

describe('changes', () => {
  it('emits set, delete and clear events with revisions', async () => {
    const store = newStore();
    const events: ChangeEvent[] = [];
    store.changes().subscribe((e) => events.push(e));
    const r1 = await store.set('a', { v: 1 });
    await store.delete('a');
    await store.clear();
    expect(events).toEqual([
      { type: 'set', key: 'a', value: { v: 1 }, revision: r1 },
      { type: 'delete', key: 'a', revision: r1 + 1 },
      { type: 'clear', key: '*', revision: r1 + 2 },
    ]);
  });

  it('filters by glob but sees clear (key "*") whatever the glob', async () => {
    const store = newStore();
    const users: ChangeEvent[] = [];
    const exact: ChangeEvent[] = [];
    store.changes('user:*').subscribe((e) => users.push(e));
    store.changes('only-this').subscribe((e) => exact.push(e));
    await store.set('user:1', 1);
    await store.set('order:1', 1);
    await store.delete('order:1');
    await store.clear();
    expect(users.map((e) => `${e.type} ${e.key}`)).toEqual(['set user:1', 'clear *']);
    expect(exact.map((e) => `${e.type} ${e.key}`)).toEqual(['clear *']);
  });

  it('does not emit for a delete of an absent key', async () => {
    const store = newStore();
    const events: ChangeEvent[] = [];
    store.changes().subscribe((e) => events.push(e));
    await store.delete('nothing');
    expect(events).toEqual([]);
  });
});

describe('onSubscriberReceive', () => {
  it('calls the handler for each message and stops after unsubscribe', async () => {
    const store = newStore();
    const received: unknown[] = [];
    const off = store.onSubscriberReceive('c', (d) => {
      received.push(d);
    });
    await store.publish('c', 1);
    off();
    await store.publish('c', 2);
    expect(received).toEqual([1]);
  });

  it('a throwing handler is reported to onError and stops neither other subscribers nor the actor', async () => {
    const errors: Array<{ error: unknown; context: string }> = [];
    const store = newStore({ onError: (error, context) => errors.push({ error, context }) });
    const boom = new Error('handler failed');
    store.onSubscriberReceive('c', () => {
      throw boom;
    });
    const others: unknown[] = [];
    store.onSubscriberReceive('c', (d) => {
      others.push(d);
    });
    const rx: unknown[] = [];
    store.channel('c').subscribe((d) => rx.push(d));
    await store.publish('c', 1);
    await store.publish('c', 2);
    expect(others).toEqual([1, 2]);
    expect(rx).toEqual([1, 2]);
    expect(errors).toHaveLength(2);
    expect(errors[0]!.error).toBe(boom);
    expect(errors[0]!.context).toContain('c');
    await store.set('still', 'alive');
    expect(await store.get('still')).toBe('alive');
  });

  it('a rejecting async handler is reported to onError and stops nothing', async () => {
    const errors: unknown[] = [];
    const store = newStore({ onError: (error) => errors.push(error) });
    const boom = new Error('async handler failed');
    store.onSubscriberReceive('c', async () => {
      await Promise.resolve();
      throw boom;
    });
    const others: unknown[] = [];
    store.onSubscriberReceive('c', async (d) => {
      others.push(d);
    });
    await store.publish('c', 1);
    await store.publish('c', 2);
    await settle();
    expect(errors).toEqual([boom, boom]);
    expect(others).toEqual([1, 2]);
    expect(await store.incr('n')).toBe(1);
  });
});

describe('observer errors', () => {
  let unhandled: unknown[];
  let previous: typeof config.onUnhandledError;
  beforeEach(() => {
    unhandled = [];
    previous = config.onUnhandledError;
    config.onUnhandledError = (error) => unhandled.push(error);
  });
  afterEach(() => {
    config.onUnhandledError = previous;
  });

  it('an RxJS observer whose next throws stops neither the actor nor other subscribers', async () => {
    const store = newStore();
    const boom = new Error('observer failed');
    store.channel('c').subscribe(() => {
      throw boom;
    });
    const others: unknown[] = [];
    store.channel('c').subscribe((d) => others.push(d));
    const watchers: unknown[] = [];
    store.watch('k').subscribe(() => {
      throw boom;
    });
    store.watch('k').subscribe((v) => watchers.push(v));
    expect(await store.publish('c', 1)).toBe(2);
    await store.publish('c', 2);
    await store.set('k', 'v');
    expect(others).toEqual([1, 2]);
    expect(watchers).toEqual([undefined, 'v']);
    expect(await store.get('k')).toBe('v');
    await vi.waitFor(() => expect(unhandled.length).toBeGreaterThanOrEqual(4));
    expect(unhandled.every((e) => e === boom)).toBe(true);
  });
});

describe('re-entrancy', () => {
  it('a command issued from a changes() callback runs after the current command', async () => {
    const store = newStore();
    const first: string[] = [];
    const second: string[] = [];
    let inner: Promise<number> | undefined;
    store.changes().subscribe((e) => {
      first.push(`${e.type} ${e.key}`);
      if (e.key === 'a') inner = store.set('b', 'from callback');
    });
    store.changes().subscribe((e) => second.push(`${e.type} ${e.key}`));
    const outer = await store.set('a', 1);
    // every observer saw all of a's events before any of b's
    expect(second).toEqual(['set a', 'set b']);
    expect(first).toEqual(['set a', 'set b']);
    expect(await inner!).toBeGreaterThan(outer);
    expect(await store.get('b')).toBe('from callback');
  });

  it('a command issued from a watch callback does not interleave with a clear', async () => {
    const store = newStore();
    await store.set('a', 1);
    await store.set('b', 1);
    const order: string[] = [];
    store.watch('a').subscribe((v) => {
      order.push(`watch a=${String(v)}`);
      if (v === undefined) void store.set('a', 'again');
    });
    store.watch('b').subscribe((v) => order.push(`watch b=${String(v)}`));
    await store.clear();
    await store.get('a');
    expect(order).toEqual(['watch a=1', 'watch b=1', 'watch a=undefined', 'watch b=undefined', 'watch a=again']);
  });

  it('a publish from a channel callback is delivered after the current publish reached everyone', async () => {
    const store = newStore();
    const log: string[] = [];
    store.channel<string>('c').subscribe((d) => {
      log.push(`A ${d}`);
      if (d === 'first') void store.publish('c', 'second');
    });
    store.channel<string>('c').subscribe((d) => log.push(`B ${d}`));
    await store.publish('c', 'first');
    await store.get('x');
    expect(log).toEqual(['A first', 'B first', 'A second', 'B second']);
  });
});

describe('close', () => {
  it('completes every observable', async () => {
    const store = newStore();
    const completed: string[] = [];
    store.channel('c').subscribe({ complete: () => completed.push('channel') });
    store.pattern('c*').subscribe({ complete: () => completed.push('pattern') });
    store.watch('k').subscribe({ complete: () => completed.push('watch') });
    store.changes().subscribe({ complete: () => completed.push('changes') });
    store.changes('x*').subscribe({ complete: () => completed.push('changes x*') });
    await store.close();
    expect(completed.sort()).toEqual(['changes', 'changes x*', 'channel', 'pattern', 'watch']);
  });

  it('rejects every later call with ERR_CLOSED', async () => {
    const store = newStore();
    store.defineOp('op', () => 1);
    await store.set('k', 1);
    await store.close();
    expect(store.closed).toBe(true);
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['get', () => store.get('k')],
      ['getEntry', () => store.getEntry('k')],
      ['set', () => store.set('k', 2)],
      ['delete', () => store.delete('k')],
      ['has', () => store.has('k')],
      ['keys', () => store.keys()],
      ['getAll', () => store.getAll()],
      ['clear', () => store.clear()],
      ['incr', () => store.incr('n')],
      ['update', () => store.update('k', () => 3)],
      ['apply', () => store.apply('k', 'op')],
      ['publish', () => store.publish('c', 1)],
      ['stats', () => store.stats()],
    ];
    for (const [name, call] of calls) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, name).toBeInstanceOf(KvbusError);
      expect((error as KvbusError).code, name).toBe('ERR_CLOSED');
    }
  });

  it('a subscription made after close errors with ERR_CLOSED', async () => {
    const store = newStore();
    await store.close();
    const error = await new Promise((resolve) => {
      store.channel('c').subscribe({ error: resolve, complete: () => resolve('completed') });
    });
    expect(error).toBeInstanceOf(KvbusError);
    expect((error as KvbusError).code).toBe('ERR_CLOSED');
  });

  it('rejects calls still pending at close with ERR_CLOSED', async () => {
    const store = newStore();
    const pending: Array<Promise<unknown>> = [];
    store.channel('trigger').subscribe(() => {
      // issued while the actor is busy with the publish: they wait in the mailbox
      pending.push(store.set('k', 1), store.get('k'), store.incr('n'));
      void store.close();
    });
    await store.publish('trigger', 0);
    expect(pending).toHaveLength(3);
    for (const p of pending) await expect(p).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('close twice is harmless', async () => {
    const store = newStore();
    await store.close();
    await expect(store.close()).resolves.toBeUndefined();
  });
});
