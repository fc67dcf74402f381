import { map, Observable, Subject } from 'rxjs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { IterableObservable } from '../../src/api/iterable-observable.js';
import { isKvbusError, type KvbusObservable, type PeerEvent } from '../../src/index.js';
import { useStores } from '../helpers/use-stores.js';
import { waitForStats } from '../helpers/wait.js';

const { newStore } = useStores();

/** A subject and an iterable view of it with the given buffer. */
function source<T>(buffer?: ConstructorParameters<typeof IterableObservable<T>>[1]) {
  const subject = new Subject<T>();
  return { subject, iterable: IterableObservable.from(subject, buffer) };
}

/** Waits for a promise's fate without letting a test hang on it. */
async function settled<T>(promise: Promise<T>): Promise<'pending' | 'settled'> {
  const pending = Symbol('pending');
  const first = await Promise.race([
    promise.then(
      () => 'settled' as const,
      () => 'settled' as const,
    ),
    new Promise((r) => setImmediate(() => r(pending))),
  ]);
  return first === pending ? 'pending' : 'settled';
}

describe('IterableObservable', () => {
  it('hands out values in order, and completion ends the loop', async () => {
    const { subject, iterable } = source<number>();
    const seen: number[] = [];
    const loop = (async () => {
      for await (const n of iterable) seen.push(n);
    })();
    subject.next(1);
    subject.next(2);
    subject.next(3);
    subject.complete();
    await loop;
    expect(seen).toEqual([1, 2, 3]);
  });

  it('unsubscribes when the loop breaks', async () => {
    const { subject, iterable } = source<number>();
    const loop = (async () => {
      for await (const n of iterable) if (n === 2) break;
    })();
    expect(subject.observed).toBe(true);
    subject.next(1);
    subject.next(2);
    await loop;
    expect(subject.observed).toBe(false);
  });

  it('unsubscribes when the loop body throws, and the throw reaches the caller', async () => {
    const { subject, iterable } = source<number>();
    const loop = (async () => {
      for await (const _ of iterable) throw new Error('body failed');
    })();
    subject.next(1);
    await expect(loop).rejects.toThrow('body failed');
    expect(subject.observed).toBe(false);
  });

  it("rejects the waiting next() with the observable's error", async () => {
    const { subject, iterable } = source<number>();
    const it = iterable[Symbol.asyncIterator]();
    const next = it.next();
    expect(await settled(next)).toBe('pending');
    subject.error(new Error('boom'));
    await expect(next).rejects.toThrow('boom');
    // After the error the iterator is done.
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('delivers the values that came before an error, then the error', async () => {
    const { subject, iterable } = source<number>();
    const seen: number[] = [];
    const loop = (async () => {
      for await (const n of iterable) seen.push(n);
    })();
    subject.next(1);
    subject.next(2);
    subject.error(new Error('late'));
    await expect(loop).rejects.toThrow('late');
    expect(seen).toEqual([1, 2]);
  });

  it("keeps at most `size` values: 'drop-oldest' forgets the oldest", async () => {
    const { subject, iterable } = source<number>({ size: 3, overflow: 'drop-oldest' });
    const it = iterable[Symbol.asyncIterator]();
    for (let i = 1; i <= 10; i++) subject.next(i);
    subject.complete();
    const seen: number[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) seen.push(r.value);
    expect(seen).toEqual([8, 9, 10]);
  });

  it("'drop-newest' keeps the first values", async () => {
    const { subject, iterable } = source<number>({ size: 3, overflow: 'drop-newest' });
    const it = iterable[Symbol.asyncIterator]();
    for (let i = 1; i <= 10; i++) subject.next(i);
    subject.complete();
    const seen: number[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) seen.push(r.value);
    expect(seen).toEqual([1, 2, 3]);
  });

  it("'error' ends the loop with ERR_DISCONNECTED once it falls behind, after the values it kept", async () => {
    const { subject, iterable } = source<number>({ size: 2, overflow: 'error' });
    const it = iterable[Symbol.asyncIterator]();
    for (let i = 1; i <= 3; i++) subject.next(i);
    expect(subject.observed).toBe(false);
    expect(await it.next()).toEqual({ done: false, value: 1 });
    expect(await it.next()).toEqual({ done: false, value: 2 });
    const error = await it.next().catch((e: unknown) => e);
    expect(isKvbusError(error) && error.code).toBe('ERR_DISCONNECTED');
  });

  it("'latest' keeps only the newest value", async () => {
    const { subject, iterable } = source<string>('latest');
    const it = iterable[Symbol.asyncIterator]();
    subject.next('a');
    subject.next('b');
    subject.next('c');
    expect(await it.next()).toEqual({ done: false, value: 'c' });
    subject.next('d');
    expect(await it.next()).toEqual({ done: false, value: 'd' });
  });

  it('reads a long queue in order (the queue is compacted as it is read)', async () => {
    const { subject, iterable } = source<number>({ size: 10_000, overflow: 'drop-oldest' });
    const it = iterable[Symbol.asyncIterator]();
    for (let i = 0; i < 5000; i++) subject.next(i);
    let expected = 0;
    for (let i = 0; i < 3000; i++) expect((await it.next()).value).toBe(expected++);
    for (let i = 5000; i < 6000; i++) subject.next(i);
    subject.complete();
    for (let r = await it.next(); !r.done; r = await it.next()) expect(r.value).toBe(expected++);
    expect(expected).toBe(6000);
  });

  it('is still an Observable: subscribe and pipe work', () => {
    const { subject, iterable } = source<number>();
    const seen: number[] = [];
    const sub = iterable.pipe(map((n) => n * 2)).subscribe((n) => seen.push(n));
    subject.next(21);
    sub.unsubscribe();
    expect(seen).toEqual([42]);
    expect(iterable).toBeInstanceOf(Observable);
  });

  it('each loop subscribes on its own', async () => {
    const { subject, iterable } = source<number>();
    const a = iterable[Symbol.asyncIterator]();
    const b = iterable[Symbol.asyncIterator]();
    subject.next(1);
    expect(await a.next()).toEqual({ done: false, value: 1 });
    expect(await b.next()).toEqual({ done: false, value: 1 });
    await a.return?.();
    expect(subject.observed).toBe(true);
    await b.return?.();
    expect(subject.observed).toBe(false);
  });
});

describe('store observables are AsyncIterable', () => {
  it('types say so', () => {
    const store = newStore();
    expectTypeOf(store.channel<number>('c')).toMatchTypeOf<KvbusObservable<number>>();
    expectTypeOf(store.watch<string>('k')).toMatchTypeOf<AsyncIterable<string | undefined>>();
    expectTypeOf(store.peers()).toMatchTypeOf<AsyncIterable<PeerEvent>>();
    expectTypeOf(store.changes()).toMatchTypeOf<Observable<unknown>>();
  });

  it('channel: for await receives messages; break removes the subscription from the store', async () => {
    const store = newStore();
    const seen: unknown[] = [];
    const loop = (async () => {
      for await (const m of store.channel<number>('c')) {
        seen.push(m);
        if (m === 3) break;
      }
    })();
    await waitForStats(store, (s) => s.subscriptions === 1, 'the loop to subscribe');
    for (let i = 1; i <= 5; i++) await store.publish('c', i);
    await loop;
    expect(seen).toEqual([1, 2, 3]);
    expect((await store.stats()).subscriptions).toBe(0);
  });

  it('pattern and changes iterate too', async () => {
    const store = newStore();
    const pattern = store.pattern<string>('job:*')[Symbol.asyncIterator]();
    const changes = store.changes('k*')[Symbol.asyncIterator]();
    await store.publish('job:1', 'x');
    await store.set('k1', 'v');
    expect(await pattern.next()).toEqual({ done: false, value: { channel: 'job:1', data: 'x' } });
    expect((await changes.next()).value).toMatchObject({ type: 'set', key: 'k1', value: 'v' });
    await pattern.return?.();
    await changes.return?.();
    expect((await store.stats()).subscriptions).toBe(0);
  });

  it('watch: a slow loop skips to the latest value', async () => {
    const store = newStore();
    await store.set('n', 0);
    const it = store.watch<number>('n')[Symbol.asyncIterator]();
    expect(await it.next()).toEqual({ done: false, value: 0 });
    for (let i = 1; i <= 50; i++) await store.set('n', i);
    expect(await it.next()).toEqual({ done: false, value: 50 });
    await it.return?.();
  });

  it('closing the store ends the loop', async () => {
    const store = newStore();
    const seen: unknown[] = [];
    const loop = (async () => {
      for await (const m of store.channel('c')) seen.push(m);
    })();
    await waitForStats(store, (s) => s.subscriptions === 1, 'the loop to subscribe');
    await store.publish('c', 'last');
    await store.close();
    await loop;
    expect(seen).toEqual(['last']);
  });

  it("uses the store's subscriberBuffer for its loops", async () => {
    const store = newStore({ subscriberBuffer: { size: 2, overflow: 'drop-oldest' } });
    const it = store.channel<number>('c')[Symbol.asyncIterator]();
    for (let i = 1; i <= 5; i++) await store.publish('c', i);
    expect((await it.next()).value).toBe(4);
    expect((await it.next()).value).toBe(5);
    await it.return?.();
  });

  it('peers() iterates on the main thread', async () => {
    const store = newStore();
    const it = store.peers()[Symbol.asyncIterator]();
    const next = it.next();
    expect(await settled(next)).toBe('pending');
    await it.return?.();
    expect(await next).toEqual({ done: true, value: undefined });
  });
});
