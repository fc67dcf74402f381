// What the memory backend does beyond the conformance suite (test/conformance/suite.ts,
// which runs on this backend too): change events and messages reach main-thread
// observers before the writer's `await` resolves, `publish` counts every
// main-thread receiver, one actor runs commands one at a time (a command from a
// callback waits its turn), revisions go up by exactly 1 per write, an op's
// applies run in call order and its error comes back as thrown, and `copy: false`
// shares objects. TTL on the memory backend: memory-ttl.test.ts.
import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../../src/index.js';
import { expectCode } from '../helpers/errors.js';
import { useStores } from '../helpers/use-stores.js';

const { newStore } = useStores();

describe('delivery before the write resolves', () => {
  it('subscribing is a command: a publish awaited right after subscribe has been received', async () => {
    const store = newStore();
    const received: unknown[] = [];
    store.channel('x').subscribe((d) => received.push(d));
    expect(await store.publish('x', 1)).toBe(1);
    expect(received).toEqual([1]);
  });

  it('changes emits set, delete and clear events, their revisions 1 apart, before each write resolves', async () => {
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
});

describe('publish', () => {
  it('resolves to the number of receivers: each main-thread observer once', async () => {
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
});

describe('revisions', () => {
  it('go up by 1 per write; a failed compare-and-set takes none', async () => {
    const store = newStore();
    const r1 = await store.set('k', 1);
    const r2 = await store.set('k', 2);
    expect(r2).toBe(r1 + 1);
    await expectCode(store.set('k', 'stale', { ifRevision: r1 }), 'ERR_CONFLICT');
    expect(await store.set('other', 1)).toBe(r2 + 1);
  });
});

describe('apply', () => {
  it('concurrent applies from one caller run in call order, and lose nothing', async () => {
    const store = newStore();
    store.defineOp('push', (list: number[] = [], item: number) => [...list, item]);
    await Promise.all(Array.from({ length: 100 }, (_, i) => store.apply('list', 'push', i)));
    expect(await store.get('list')).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it("a throwing op rejects with the op's own error (Redis: an ERR_BACKEND naming it), and changes nothing", async () => {
    const store = newStore();
    const boom = new Error('op failed');
    store.defineOp('bad', (old: { n: number } | undefined) => {
      if (old) old.n = 999;
      throw boom;
    });
    const revision = await store.set('k', { n: 1 });
    await expect(store.apply('k', 'bad')).rejects.toBe(boom);
    expect(await store.getEntry('k')).toEqual({ value: { n: 1 }, revision });
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

  it('publish of uncloneable data still rejects with ERR_NOT_CLONEABLE naming the channel', async () => {
    // SPEC §1 (publish): "Uncloneable data rejects with ERR_NOT_CLONEABLE naming the channel, even when nobody listens".
    const store = newStore({ copy: false });
    await expectCode(
      store.publish('lonely-channel', () => 1),
      'ERR_NOT_CLONEABLE',
      /lonely-channel/,
    );
  });
});
