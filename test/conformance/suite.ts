// ONE conformance suite for every backend (SPEC §1–§3): the same tests, unchanged,
// against the memory backend and the Redis backend. Each test gets fresh stores
// with a namespace no other test uses.
//
// Written for the slowest backend: change events and messages may arrive shortly
// after the writer's `await` resolves (Redis delivers them over pub/sub), so every
// wait on an event is bounded, and "nothing else arrived" is proven with a
// sentinel event sent after the one that must not arrive (one publisher's events
// reach a subscriber in order).
import { config } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  type Backend,
  type ChangeEvent,
  type CreateStoreOptions,
  createStore,
  isKvbusError,
  KvbusError,
  type MainStore,
  type PatternMessage,
} from '../../src/index.js';
import { expectCode, expectThrowsCode, rejectionOf } from '../helpers/errors.js';
import { uniqueNamespace } from '../helpers/redis-server.js';
import { useStores } from '../helpers/use-stores.js';
import { type Recorder, sleep, waitUntil } from '../helpers/wait.js';

/** What a backend's test file hands the suite: a fresh store on that backend, in the namespace given. */
export type MakeStore = (options: { namespace: string; onError?: CreateStoreOptions['onError'] }) => MainStore | Promise<MainStore>;

/** The {@link MakeStore} of a backend: `createStore` on a fresh `backend()`. */
export function storesOn(backend: () => Backend): (options: Parameters<MakeStore>[0]) => MainStore {
  return ({ namespace, onError }) => createStore({ backend: backend(), namespace, ...(onError ? { onError } : {}) });
}

/** A short real TTL, and how long an expiry may take to be noticed (Redis expires actively ~10×/s). */
const TTL_MS = 100;
const EXPIRY_WAIT_MS = 3_000;

const sorted = (keys: string[]) => [...keys].sort();

/**
 * The stores of one suite on one backend: `newStore` (closed after each test),
 * `rec` (records an observable), and `changesOf` (a changes(glob) recorder whose
 * subscription is already active in the backend).
 */
export function suiteStores(name: string, makeStore: MakeStore) {
  const { newStore, rec } = useStores(
    async (namespace = uniqueNamespace(name), onError?: CreateStoreOptions['onError']): Promise<MainStore> =>
      makeStore(onError ? { namespace, onError } : { namespace }),
    { close: (store) => store.close().catch(() => {}) },
  );
  async function changesOf(store: MainStore, glob = '*'): Promise<Recorder<ChangeEvent>> {
    const recorder = rec(store.changes(glob));
    await store.stats(); // subscribing is a command: the next command runs after it is active
    return recorder;
  }
  return { newStore, rec, changesOf };
}

/**
 * Registers the conformance suite for one backend.
 * @param name - the backend's name, for test titles
 * @param makeStore - a fresh store on that backend (the suite closes it after each test)
 */
export function conformance(name: string, makeStore: MakeStore): void {
  describe(`conformance: ${name}`, () => {
    const { newStore, rec, changesOf } = suiteStores(name, makeStore);

    describe('get / getEntry / set / delete / has', () => {
      it('get of an absent key is undefined, or the default', async () => {
        const store = await newStore();
        expect(await store.get('nope')).toBeUndefined();
        expect(await store.get('nope', 42)).toBe(42);
        expect(await store.getEntry('nope')).toBeUndefined();
        expect(await store.has('nope')).toBe(false);
      });

      it('ttl: undefined when absent, Infinity without a TTL, the time left with one; set without ttlMs removes it', async () => {
        const store = await newStore();
        expect(await store.ttl('none')).toBeUndefined();
        await store.set('plain', 1);
        expect(await store.ttl('plain')).toBe(Number.POSITIVE_INFINITY);
        await store.set('timed', 1, { ttlMs: 60_000 });
        const left = await store.ttl('timed');
        expect(left).toBeGreaterThan(50_000);
        expect(left).toBeLessThanOrEqual(60_000);
        await store.incr('timed');
        expect(await store.ttl('timed')).toBeGreaterThan(50_000);
        await store.set('timed', 2);
        expect(await store.ttl('timed')).toBe(Number.POSITIVE_INFINITY);
        await expectCode(store.ttl('' as string), 'ERR_BAD_KEY');
      });

      it('set returns a positive revision; get and getEntry read it back', async () => {
        const store = await newStore();
        const r1 = await store.set('a', { n: 1 });
        expect(Number.isSafeInteger(r1) && r1 > 0).toBe(true);
        expect(await store.get('a')).toEqual({ n: 1 });
        expect(await store.get('a', 'default')).toEqual({ n: 1 });
        expect(await store.getEntry('a')).toEqual({ value: { n: 1 }, revision: r1 });
        expect(await store.has('a')).toBe(true);
        const r2 = await store.set('a', 'two');
        expect(r2).toBeGreaterThan(r1);
        expect(await store.getEntry('a')).toEqual({ value: 'two', revision: r2 });
      });

      it('a stored falsy value is returned, not the default', async () => {
        const store = await newStore();
        await store.set('zero', 0);
        await store.set('empty', '');
        await store.set('no', false);
        await store.set('nil', null);
        expect(await store.get('zero', 9)).toBe(0);
        expect(await store.get('empty', 'x')).toBe('');
        expect(await store.get('no', true)).toBe(false);
        expect(await store.get('nil', 'x')).toBeNull();
        for (const key of ['zero', 'empty', 'no', 'nil']) expect(await store.has(key), key).toBe(true);
        expect(await store.getEntry('nil')).toEqual({ value: null, revision: expect.any(Number) });
        expect(sorted(await store.keys())).toEqual(['empty', 'nil', 'no', 'zero']);
      });

      it('delete is true when a key was removed, false otherwise', async () => {
        const store = await newStore();
        await store.set('a', 1);
        expect(await store.delete('a')).toBe(true);
        expect(await store.delete('a')).toBe(false);
        expect(await store.delete('never')).toBe(false);
        expect(await store.get('a')).toBeUndefined();
        expect(await store.has('a')).toBe(false);
      });
    });

    describe('keys / getAll / clear', () => {
      it('keys lists every key, or those matching a Redis glob', async () => {
        const store = await newStore();
        for (const key of ['user:1', 'user:2', 'user:10', 'order:1', 'a', 'b', 'c*', 'c?']) await store.set(key, key);
        await store.delete('b');
        expect(sorted(await store.keys())).toEqual(sorted(['user:1', 'user:2', 'user:10', 'order:1', 'a', 'c*', 'c?']));
        expect(sorted(await store.keys('user:*'))).toEqual(['user:1', 'user:10', 'user:2']);
        expect(sorted(await store.keys('user:?'))).toEqual(['user:1', 'user:2']);
        expect(sorted(await store.keys('[ao]*'))).toEqual(['a', 'order:1']);
        expect(sorted(await store.keys('[^u]*'))).toEqual(['a', 'c*', 'c?', 'order:1']);
        expect(sorted(await store.keys('c\\*'))).toEqual(['c*']);
        expect(sorted(await store.keys('c\\?'))).toEqual(['c?']);
        expect(await store.keys('user:1')).toEqual(['user:1']);
        expect(await store.keys('zzz*')).toEqual([]);
      });

      it('getAll is a snapshot copy as a Map, whole or by glob', async () => {
        const store = await newStore();
        await store.set('x:1', { n: 1 });
        await store.set('x:2', [1, 2]);
        await store.set('y', 'why');
        const all = await store.getAll();
        expect(all).toBeInstanceOf(Map);
        expect(new Map([...all].sort(([a], [b]) => a.localeCompare(b)))).toEqual(
          new Map<string, unknown>([
            ['x:1', { n: 1 }],
            ['x:2', [1, 2]],
            ['y', 'why'],
          ]),
        );
        const xs = await store.getAll<unknown>('x:*');
        expect(sorted([...xs.keys()])).toEqual(['x:1', 'x:2']);
        // Not the live store: mutating the snapshot changes nothing.
        (all.get('x:1') as { n: number }).n = 99;
        all.delete('y');
        all.set('z', 1);
        expect(await store.get('x:1')).toEqual({ n: 1 });
        expect(await store.get('y')).toBe('why');
        expect(await store.has('z')).toBe(false);
        // And later writes do not change a snapshot taken before.
        await store.set('y', 'changed');
        expect(xs.get('x:1')).toEqual({ n: 1 });
        expect((await store.getAll('nothing*')).size).toBe(0);
      });

      it('clear removes every key of the namespace', async () => {
        const store = await newStore();
        for (let i = 0; i < 25; i++) await store.set(`k${i}`, i);
        await store.set('t', 1, { ttlMs: 60_000 });
        expect(await store.clear()).toBeUndefined();
        expect(await store.keys()).toEqual([]);
        expect((await store.getAll()).size).toBe(0);
        expect(await store.has('k3')).toBe(false);
        expect((await store.stats()).keys).toBe(0);
        // The store stays usable.
        await store.set('k3', 'again');
        expect(await store.get('k3')).toBe('again');
      });
    });

    describe('incr', () => {
      it('adds to a number; an absent key counts as 0; by defaults to 1', async () => {
        const store = await newStore();
        expect(await store.incr('n')).toBe(1);
        expect(await store.incr('n', 5)).toBe(6);
        expect(await store.incr('n', -10)).toBe(-4);
        expect(await store.incr('m', 7)).toBe(7);
        expect(await store.get('n')).toBe(-4);
        await store.set('s', 40);
        expect(await store.incr('s', 2)).toBe(42);
      });

      it('adds floats exactly as JavaScript does', async () => {
        const store = await newStore();
        expect(await store.incr('f', 0.1)).toBe(0.1);
        expect(await store.incr('f', 0.2)).toBe(0.1 + 0.2);
        expect(await store.get('f')).toBe(0.1 + 0.2);
        await store.set('g', 1.5);
        expect(await store.incr('g', -0.25)).toBe(1.25);
        await store.set('big', 2 ** 53 - 2);
        expect(await store.incr('big')).toBe(2 ** 53 - 1);
        await store.set('tiny', 1e-300);
        expect(await store.incr('tiny', 1e-300)).toBe(2e-300);
      });

      it('works on every stored number, including -0', async () => {
        const store = await newStore();
        await store.set('negzero', -0);
        expect(await store.incr('negzero', 1)).toBe(1);
        await store.set('huge', 1e21);
        expect(await store.incr('huge', 1e21)).toBe(2e21);
      });

      it('rejects ERR_TYPE naming the key on a non-number, and changes nothing', async () => {
        const store = await newStore();
        const nonNumbers: Array<[string, unknown]> = [
          ['s', '5'],
          ['text', 'abc'],
          ['o', { n: 1 }],
          ['nil', null],
          ['list', [1]],
          ['yes', true],
        ];
        for (const [key, value] of nonNumbers) await store.set(key, value);
        for (const [key, value] of nonNumbers) {
          const before = await store.getEntry(key);
          expect(before?.value).toEqual(value);
          await expectCode(store.incr(key), 'ERR_TYPE', new RegExp(`"${key}"`));
          await expectCode(store.incr(key, 2), 'ERR_TYPE', new RegExp(`"${key}"`));
          expect(await store.getEntry(key), key).toEqual(before);
        }
      });

      it('rejects ERR_BAD_ARGUMENT when the result would not be a finite number, and changes nothing (no revision, no event)', async () => {
        const store = await newStore();
        const changes = await changesOf(store);
        const start = await store.incr('max', Number.MAX_VALUE);
        await store.incr('min', -Number.MAX_VALUE);
        await store.set('inf', Infinity);
        await store.set('nan', Number.NaN);
        const before = new Map(await Promise.all(['max', 'min', 'inf', 'nan'].map(async (k) => [k, await store.getEntry(k)] as const)));
        const revision = await store.set('mark', 1);
        const overflows: Array<[string, number]> = [
          ['max', Number.MAX_VALUE],
          ['min', -Number.MAX_VALUE],
          ['inf', 1],
          ['nan', 1],
          ['max', Number.MAX_VALUE / 2 + Number.MAX_VALUE / 4],
        ];
        for (const [key, by] of overflows) {
          await expectCode(store.incr(key, by), 'ERR_BAD_ARGUMENT', new RegExp(`"${key}".*finite`));
        }
        for (const [key, entry] of before) expect(await store.getEntry(key), key).toEqual(entry);
        expect(start).toBe(Number.MAX_VALUE);
        // No write took a revision, and none was announced.
        expect(await store.set('sentinel', 1)).toBe(revision + 1);
        await changes.some((e) => e.key === 'sentinel', 'the sentinel');
        expect(changes.values.filter((e) => e.revision > revision).map((e) => e.key)).toEqual(['sentinel']);
        // Still a counter.
        expect(await store.incr('max', -Number.MAX_VALUE)).toBe(0);
      });

      it('is atomic: concurrent increments are all counted', async () => {
        const store = await newStore();
        await Promise.all(Array.from({ length: 200 }, () => store.incr('c')));
        expect(await store.get('c')).toBe(200);
      });
    });

    describe('update', () => {
      it('runs fn(old), writes the result and returns it; an absent key is undefined', async () => {
        const store = await newStore();
        const seen: unknown[] = [];
        expect(
          await store.update<number>('n', (old) => {
            seen.push(old);
            return (old ?? 10) + 1;
          }),
        ).toBe(11);
        expect(
          await store.update<number>('n', async (old) => {
            seen.push(old);
            return (old ?? 0) * 2;
          }),
        ).toBe(22);
        expect(seen).toEqual([undefined, 11]);
        expect(await store.get('n')).toBe(22);
      });

      it('fn returning undefined deletes the key', async () => {
        const store = await newStore();
        await store.set('d', 1);
        expect(await store.update('d', () => undefined)).toBeUndefined();
        expect(await store.has('d')).toBe(false);
        // On an absent key it is a no-op.
        expect(await store.update('absent', () => undefined)).toBeUndefined();
        expect(await store.has('absent')).toBe(false);
      });

      it('retries on a real conflict: fn runs again on the new value', async () => {
        const store = await newStore();
        await store.set('k', 1);
        const seen: unknown[] = [];
        const result = await store.update<number>('k', async (old) => {
          seen.push(old);
          // Another writer moves the key on between our read and our write, once.
          if (seen.length === 1) await store.set('k', 100);
          return (old ?? 0) + 1;
        });
        expect(seen).toEqual([1, 100]);
        expect(result).toBe(101);
        expect(await store.get('k')).toBe(101);
      });

      it('retries when another writer creates the absent key in between', async () => {
        const store = await newStore();
        const seen: unknown[] = [];
        const result = await store.update<number>('k', async (old) => {
          seen.push(old);
          if (seen.length === 1) await store.set('k', 7);
          return (old ?? 0) + 1;
        });
        expect(seen).toEqual([undefined, 7]);
        expect(result).toBe(8);
        expect(await store.get('k')).toBe(8);
      });

      it("gives up with ERR_CONFLICT after `retries` (0: no retry), keeping the other writer's value", async () => {
        const store = await newStore();
        for (const retries of [2, 0]) {
          await store.set('k', 0);
          let calls = 0;
          const error = await expectCode(
            store.update<number>(
              'k',
              async (old) => {
                calls++;
                await store.set('k', 1000 + calls);
                return (old ?? 0) + 1;
              },
              { retries },
            ),
            'ERR_CONFLICT',
          );
          expect(error).toBeInstanceOf(KvbusError);
          expect(calls, `retries: ${retries}`).toBe(retries + 1);
          expect(await store.get('k')).toBe(1000 + retries + 1);
        }
      });

      it('a throwing fn rejects with its error and changes nothing', async () => {
        const store = await newStore();
        const revision = await store.set('k', 1);
        const boom = new Error('boom');
        await expect(
          store.update('k', () => {
            throw boom;
          }),
        ).rejects.toBe(boom);
        await expect(
          store.update('k', async () => {
            await sleep(1);
            throw boom;
          }),
        ).rejects.toBe(boom);
        expect(await store.getEntry('k')).toEqual({ value: 1, revision });
      });

      it('concurrent updates lose nothing', async () => {
        const store = await newStore();
        await Promise.all(Array.from({ length: 20 }, (_, i) => store.update<number[]>('list', (old) => [...(old ?? []), i])));
        expect(sorted(((await store.get<number[]>('list')) ?? []).map(String))).toEqual(
          sorted(Array.from({ length: 20 }, (_, i) => String(i))),
        );
      });
    });

    describe('apply / defineOp', () => {
      it('runs a registered op on the old value with its argument and returns the new value', async () => {
        const store = await newStore();
        expect(store.defineOp<string[], string>('push', (old, item) => [...(old ?? []), item])).toBe(store);
        expect(await store.apply('log', 'push', 'a')).toEqual(['a']);
        expect(await store.apply('log', 'push', 'b')).toEqual(['a', 'b']);
        expect(await store.get('log')).toEqual(['a', 'b']);
      });

      it('an op returning undefined deletes the key (a delete change), and on an absent key changes nothing', async () => {
        const store = await newStore();
        store.defineOp('drop', () => undefined);
        await store.set('x', 1);
        const changes = await changesOf(store);
        expect(await store.apply('x', 'drop')).toBeUndefined();
        expect(await store.has('x')).toBe(false);
        expect(await store.apply('never', 'drop')).toBeUndefined();
        expect(await store.has('never')).toBe(false);
        await store.set('sentinel', 1);
        await changes.some((e) => e.key === 'sentinel', 'the sentinel');
        expect(changes.values.map((e) => `${e.type} ${e.key}`)).toEqual(['delete x', 'set sentinel']);
      });

      it('is atomic under concurrency: every apply is counted', async () => {
        const store = await newStore();
        store.defineOp<number[], number>('push', (old, n) => [...(old ?? []), n]);
        await Promise.all(Array.from({ length: 40 }, (_, i) => store.apply('list', 'push', i)));
        const list = (await store.get<number[]>('list')) ?? [];
        expect([...list].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
      });

      it('an unknown op rejects with ERR_BAD_ARGUMENT; a throwing op rejects; neither changes anything', async () => {
        const store = await newStore();
        const revision = await store.set('x', { n: 1 });
        await expectCode(store.apply('x', 'nope'), 'ERR_BAD_ARGUMENT', /nope/);
        const failure = new Error('op failed');
        store.defineOp<{ n: number }>('boom', (old) => {
          if (old) old.n = 666;
          throw failure;
        });
        // The op's own error, on every backend (not one wrapped by the backend).
        expect(await rejectionOf(store.apply('x', 'boom'))).toBe(failure);
        expect(await rejectionOf(store.apply('absent', 'boom'))).toBe(failure);
        expect(await store.getEntry('x')).toEqual({ value: { n: 1 }, revision });
        expect(await store.has('absent')).toBe(false);
        // And the store goes on.
        expect(await store.set('x', 2)).toBeGreaterThan(revision);
      });

      it('a later defineOp with the same name replaces the op', async () => {
        const store = await newStore();
        store.defineOp('op', () => 'one');
        store.defineOp('op', () => 'two');
        expect(await store.apply('k', 'op')).toBe('two');
      });
    });

    describe('publish / channel / pattern / onSubscriberReceive', () => {
      it('publish resolves to 0 with no subscriber, 1 with one; the subscriber gets the data', async () => {
        const store = await newStore();
        expect(await store.publish('news', 'nobody')).toBe(0);
        const news = rec(store.channel<{ title: string; at: Date }>('news'));
        const at = new Date(1_700_000_000_000);
        // Subscribing is a command: a publish awaited right after subscribe reaches it.
        expect(await store.publish('news', { title: 'hello', at })).toBe(1);
        const [message] = await news.count(1);
        expect(message).toEqual({ title: 'hello', at });
        expect(message!.at).toBeInstanceOf(Date);
      });

      it("delivers one publisher's messages in publish order, and only its channel's", async () => {
        const store = await newStore();
        const a = rec(store.channel<number>('a'));
        await store.stats();
        const sends: Array<Promise<number>> = [];
        for (let i = 0; i < 100; i++) {
          sends.push(store.publish('a', i));
          if (i % 10 === 0) sends.push(store.publish('b', -i));
        }
        await Promise.all(sends);
        await a.count(100);
        expect(a.values).toEqual(Array.from({ length: 100 }, (_, i) => i));
      });

      it('an unsubscribed observer stops receiving, and publish counts it no more', async () => {
        const store = await newStore();
        const first = rec(store.channel('c'));
        expect(await store.publish('c', 1)).toBe(1);
        await first.count(1);
        first.unsubscribe();
        expect(await store.publish('c', 2)).toBe(0);
        const second = rec(store.channel('c'));
        expect(await store.publish('c', 3)).toBe(1);
        await second.count(1);
        expect(second.values).toEqual([3]);
        expect(first.values).toEqual([1]);
      });

      it('unsubscribing one observer of a channel leaves the others receiving', async () => {
        const store = await newStore();
        const leaving = rec(store.channel('c'));
        const staying = rec(store.channel('c'));
        await store.stats();
        await store.publish('c', 1);
        await leaving.count(1);
        await staying.count(1);
        leaving.unsubscribe();
        await store.publish('c', 2);
        await staying.count(2);
        expect(staying.values).toEqual([1, 2]);
        expect(leaving.values).toEqual([1]);
      });

      it('uncloneable data rejects with ERR_NOT_CLONEABLE naming the channel, even when nobody listens, and reaches nobody', async () => {
        const store = await newStore();
        await expectCode(
          store.publish('lonely', () => 1),
          'ERR_NOT_CLONEABLE',
          /lonely/,
        );
        await expectCode(store.publish('lonely', { f: Symbol('s') }), 'ERR_NOT_CLONEABLE', /lonely/);
        const heard = rec(store.channel('c'));
        await store.stats();
        await expectCode(store.publish('c', Symbol('nope')), 'ERR_NOT_CLONEABLE', /"c"/);
        await store.publish('c', 'sentinel');
        await heard.count(1);
        expect(heard.values).toEqual(['sentinel']);
      });

      it('pattern delivers { channel, data } for every matching channel, and nothing else', async () => {
        const store = await newStore();
        const events = rec(store.pattern<number>('room:*'));
        const single = rec(store.pattern<number>('room:?'));
        await store.stats();
        await store.publish('room:1', 1);
        await store.publish('lobby', 0);
        await store.publish('room:42', 42);
        await store.publish('roo', -1);
        await store.publish('room:end', 99);
        await events.some((m: PatternMessage<number>) => m.data === 99, 'the last message');
        expect(events.values).toEqual([
          { channel: 'room:1', data: 1 },
          { channel: 'room:42', data: 42 },
          { channel: 'room:end', data: 99 },
        ]);
        await single.count(1);
        expect(single.values).toEqual([{ channel: 'room:1', data: 1 }]);
      });

      it('onSubscriberReceive calls the handler (sync or async), reports a failing one, and unsubscribes', async () => {
        const errors: Array<{ error: unknown; context: string }> = [];
        const store = await newStore(undefined, (error, context) => errors.push({ error, context }));
        const got: unknown[] = [];
        const gotAsync: unknown[] = [];
        const off = store.onSubscriberReceive('jobs', (data) => {
          got.push(data);
        });
        const offAsync = store.onSubscriberReceive('jobs', async (data) => {
          await sleep(1);
          gotAsync.push(data);
        });
        const boom = new Error('handler failed');
        const offBad = store.onSubscriberReceive('jobs', () => {
          throw boom;
        });
        const asyncBoom = new Error('async handler failed');
        const offAsyncBad = store.onSubscriberReceive('jobs', async () => {
          await sleep(1);
          throw asyncBoom;
        });
        // A failing handler stops neither the other handlers nor the channel's observers.
        const observed = rec(store.channel('jobs'));
        await store.stats();
        await store.publish('jobs', { id: 1 });
        await waitUntil(() => got.length === 1 && gotAsync.length === 1 && errors.length === 2, 'the four handlers');
        await observed.count(1);
        expect(got).toEqual([{ id: 1 }]);
        expect(gotAsync).toEqual([{ id: 1 }]);
        expect(errors[0]!.error).toBe(boom);
        expect(errors[1]!.error).toBe(asyncBoom);
        for (const { context } of errors) expect(context).toContain('jobs');
        off();
        offBad();
        offAsyncBad();
        await store.publish('jobs', { id: 2 });
        await waitUntil(() => gotAsync.length === 2, 'the remaining handler');
        await observed.count(2);
        expect(got).toEqual([{ id: 1 }]);
        expect(errors).toHaveLength(2);
        expect(observed.values).toEqual([{ id: 1 }, { id: 2 }]);
        expect(await store.incr('n')).toBe(1);
        offAsync();
      });

      it('an observer whose next throws stops neither the store nor the other observers', async () => {
        const store = await newStore();
        const unhandled: unknown[] = [];
        const previous = config.onUnhandledError;
        config.onUnhandledError = (error) => unhandled.push(error);
        try {
          const boom = new Error('observer failed');
          const throwing = [
            store.channel('c').subscribe(() => {
              throw boom;
            }),
            store.watch('k').subscribe(() => {
              throw boom;
            }),
          ];
          const others = rec(store.channel('c'));
          const watchers = rec(store.watch('k'));
          await store.stats();
          await watchers.count(1);
          await store.publish('c', 1);
          await store.publish('c', 2);
          await store.set('k', 'v');
          await others.count(2);
          await watchers.count(2);
          expect(others.values).toEqual([1, 2]);
          expect(watchers.values).toEqual([undefined, 'v']);
          expect(await store.get('k')).toBe('v');
          // RxJS reports each throw (2 messages, 2 watch values) as unhandled, after a tick.
          await waitUntil(() => unhandled.length >= 4, 'the four unhandled errors');
          expect(unhandled.every((e) => e === boom)).toBe(true);
          for (const subscription of throwing) subscription.unsubscribe();
        } finally {
          config.onUnhandledError = previous;
        }
      });
    });

    describe('watch', () => {
      it('emits the current value first, then each change of that key only (null is a value)', async () => {
        const store = await newStore();
        await store.set('w', 'v0');
        const watch = rec(store.watch<string | null>('w'));
        await watch.count(1, 'the current value');
        await store.set('w', 'v1');
        await store.set('other', 'x');
        await store.set('w', 'v2');
        await store.set('w', null);
        await store.delete('w');
        await store.set('w', 'v3');
        await watch.count(6);
        expect(watch.values).toEqual(['v0', 'v1', 'v2', null, undefined, 'v3']);
      });

      it('an absent key starts with undefined; incr, apply and update are changes too', async () => {
        const store = await newStore();
        store.defineOp<number>('double', (old) => (old ?? 0) * 2);
        const watch = rec(store.watch<number>('n'));
        await watch.count(1);
        expect(watch.values).toEqual([undefined]);
        await store.incr('n', 3);
        await store.apply('n', 'double');
        await store.update<number>('n', (old) => -(old ?? 0));
        await watch.count(4);
        expect(watch.values).toEqual([undefined, 3, 6, -6]);
      });

      it('clear emits undefined to a watched key only when it existed (held null included)', async () => {
        const store = await newStore();
        await store.set('present', 1);
        await store.set('nil', null);
        await store.set('deleted', 1);
        const present = rec(store.watch('present'));
        const nil = rec(store.watch('nil'));
        const absent = rec(store.watch('absent'));
        const deleted = rec(store.watch('deleted'));
        const changes = await changesOf(store);
        await present.count(1);
        await nil.count(1);
        await absent.count(1);
        await deleted.count(1);
        await store.delete('deleted');
        await deleted.count(2);
        await store.clear();
        await changes.some((e) => e.type === 'clear', 'the clear event');
        // Sentinel writes: once they arrive, anything the clear caused has arrived too.
        await store.set('absent', 'later');
        await store.set('deleted', 'later');
        await absent.count(2);
        await deleted.count(3);
        await present.count(2);
        await nil.count(2);
        expect(present.values).toEqual([1, undefined]);
        expect(nil.values).toEqual([null, undefined]);
        expect(absent.values).toEqual([undefined, 'later']);
        expect(deleted.values).toEqual([1, undefined, 'later']);
      });
    });

    describe('changes', () => {
      it('reports set (with value and revision) and delete', async () => {
        const store = await newStore();
        const changes = await changesOf(store);
        const r1 = await store.set('a', { x: 1 });
        await store.incr('n', 2);
        await store.delete('a');
        await changes.count(3);
        expect(changes.values[0]).toEqual({ type: 'set', key: 'a', value: { x: 1 }, revision: r1 });
        expect(changes.values[1]).toMatchObject({ type: 'set', key: 'n', value: 2 });
        expect(changes.values[2]).toMatchObject({ type: 'delete', key: 'a' });
        expect(changes.values[2]!.value).toBeUndefined();
        const revisions = changes.values.map((e) => e.revision);
        expect(revisions).toEqual([...revisions].sort((x, y) => x - y));
        expect(new Set(revisions).size).toBe(3);
      });

      it('filters by glob', async () => {
        const store = await newStore();
        const users = await changesOf(store, 'user:*');
        await store.set('user:1', 1);
        await store.set('order:1', 1);
        await store.set('user', 0);
        await store.delete('order:1');
        await store.set('user:end', 'sentinel');
        await users.some((e) => e.key === 'user:end', 'the sentinel');
        expect(users.values.map((e) => `${e.type} ${e.key}`)).toEqual(['set user:1', 'set user:end']);
      });

      it('reports an expiry as `expire` (no value, a revision of its own), once, to matching globs only, and the key is gone', async () => {
        const store = await newStore();
        const changes = await changesOf(store, 'ttl:*');
        const revision = await store.set('ttl:a', 'soon', { ttlMs: TTL_MS });
        await store.set('other', 'soon', { ttlMs: TTL_MS });
        const expired = await changes.some((e) => e.type === 'expire', 'an expire event', EXPIRY_WAIT_MS);
        expect(expired).toEqual({ type: 'expire', key: 'ttl:a', revision: expired.revision });
        expect(expired).not.toHaveProperty('value');
        expect(expired.revision).toBeGreaterThan(revision);
        expect(await store.get('ttl:a')).toBeUndefined();
        await waitUntil(async () => !(await store.has('other')), 'other to expire', EXPIRY_WAIT_MS);
        expect(await store.set('ttl:z', 'sentinel')).toBeGreaterThan(expired.revision);
        await changes.some((e) => e.key === 'ttl:z');
        expect(changes.values.filter((e) => e.type === 'expire')).toHaveLength(1);
      });

      it('a write that fails or changes nothing emits no change', async () => {
        const store = await newStore();
        store.defineOp('boom', () => {
          throw new Error('op failed');
        });
        const revision = await store.set('k', 1);
        const changes = await changesOf(store);
        const k = rec(store.watch('k'));
        const absent = rec(store.watch('absent'));
        await k.count(1);
        await absent.count(1);
        expect(await store.delete('absent')).toBe(false);
        expect(await store.update('absent', () => undefined)).toBeUndefined();
        await expectCode(store.set('k', 2, { ifRevision: 0 }), 'ERR_CONFLICT');
        await expectCode(store.set('absent', 2, { ifRevision: revision }), 'ERR_CONFLICT');
        await expectCode(
          store.set('k', () => 2),
          'ERR_NOT_CLONEABLE',
        );
        await expectCode(store.set('absent', { f: () => 2 }), 'ERR_NOT_CLONEABLE');
        await expectCode(store.set('k', 2, { ttlMs: -1 }), 'ERR_BAD_ARGUMENT');
        await expectCode(store.set('k', undefined), 'ERR_BAD_ARGUMENT');
        await expect(store.apply('k', 'boom')).rejects.toThrow('op failed');
        await expect(
          store.update('k', () => {
            throw new Error('fn failed');
          }),
        ).rejects.toThrow('fn failed');
        expect(await store.getEntry('k')).toEqual({ value: 1, revision });
        // Sentinel writes to both watched keys: what the calls above caused has arrived before them.
        await store.set('k', 'end');
        await store.set('absent', 'end');
        await k.count(2);
        await absent.count(2);
        await changes.count(2);
        expect(changes.values.map((e) => `${e.type} ${e.key}`)).toEqual(['set k', 'set absent']);
        expect(k.values).toEqual([1, 'end']);
        expect(absent.values).toEqual([undefined, 'end']);
      });

      it("reports clear as one event with key '*', to every changes glob", async () => {
        const store = await newStore();
        await store.set('a', 1);
        const all = await changesOf(store);
        const some = await changesOf(store, 'zzz:*');
        await store.clear();
        await all.some((e) => e.type === 'clear');
        await some.some((e) => e.type === 'clear');
        expect(all.values).toEqual([{ type: 'clear', key: '*', revision: all.values[0]!.revision }]);
        expect(some.values).toHaveLength(1);
        expect(all.values[0]!.revision).toBeGreaterThan(0);
      });
    });

    describe('stats', () => {
      it('counts keys, observers and commands', async () => {
        const store = await newStore();
        const before = await store.stats();
        expect(before).toEqual({
          keys: 0,
          clients: 0,
          subscriptions: 0,
          commands: expect.any(Number),
          queueDepth: expect.any(Number),
          dropped: 0,
          malformed: 0,
        });
        await store.set('a', 1);
        await store.set('b', 2);
        await store.set('c', 3, { ttlMs: 60_000 });
        // Each subscribe() counts, also of one observable; so does each onSubscriberReceive.
        const x = store.channel('x');
        const one = rec(x);
        const others = [rec(x), rec(store.channel('x')), rec(store.watch('a')), rec(store.changes('*')), rec(store.pattern('x*'))];
        const off = store.onSubscriberReceive('x', () => {});
        const after = await store.stats();
        expect(after.keys).toBe(3);
        expect(after.subscriptions).toBe(7);
        expect(after.commands).toBeGreaterThan(before.commands + 3);
        one.unsubscribe();
        one.unsubscribe();
        expect((await store.stats()).subscriptions).toBe(6);
        off();
        for (const recorder of others) recorder.unsubscribe();
        expect((await store.stats()).subscriptions).toBe(0);
      });
    });

    describe('revisions', () => {
      it('are store-wide, unique and increasing across keys and every kind of write, clear included', async () => {
        const store = await newStore();
        store.defineOp<number>('inc', (old) => (old ?? 0) + 1);
        const changes = await changesOf(store);
        const r1 = await store.set('a', 1);
        const r2 = await store.set('b', 1);
        await store.incr('a');
        await store.apply('b', 'inc');
        await store.update<number>('a', (old) => (old ?? 0) + 1);
        await store.delete('b');
        const r3 = await store.set('c', 1);
        expect(r2).toBeGreaterThan(r1);
        await changes.count(7);
        expect((await store.getEntry('a'))!.revision).toBe(changes.values[4]!.revision);
        await store.clear();
        const r4 = await store.set('a', 1);
        await changes.count(9);
        expect(changes.values.map((e) => e.type)).toEqual(['set', 'set', 'set', 'set', 'set', 'delete', 'set', 'clear', 'set']);
        const revisions = changes.values.map((e) => e.revision);
        expect(revisions[0]).toBe(r1);
        expect(revisions[6]).toBe(r3);
        expect(revisions[8]).toBe(r4);
        for (let i = 1; i < revisions.length; i++) expect(revisions[i]).toBeGreaterThan(revisions[i - 1]!);
      });

      it("a key's revision never goes back, even after delete and re-create", async () => {
        const store = await newStore();
        const first = await store.set('k', 'v1');
        await store.set('other', 1);
        await store.delete('k');
        const again = await store.set('k', 'v2');
        expect(again).toBeGreaterThan(first);
        // The delete took a revision of its own.
        expect(again).toBeGreaterThan(first + 2);
        expect((await store.getEntry('k'))!.revision).toBe(again);
      });
    });

    describe('compare-and-set (ifRevision)', () => {
      it('ifRevision 0 writes only if the key is absent', async () => {
        const store = await newStore();
        const r1 = await store.set('lock', 'me', { ifRevision: 0 });
        expect(r1).toBeGreaterThan(0);
        const error = await expectCode(store.set('lock', 'you', { ifRevision: 0 }), 'ERR_CONFLICT', /"lock"/);
        expect(error.message.length).toBeGreaterThan(10);
        expect(await store.getEntry('lock')).toEqual({ value: 'me', revision: r1 });
        await store.delete('lock');
        // Deleted, the key is absent: its old revision conflicts, 0 writes.
        await expectCode(store.set('lock', 'you', { ifRevision: r1 }), 'ERR_CONFLICT');
        expect(await store.set('lock', 'you', { ifRevision: 0 })).toBeGreaterThan(r1);
        expect(await store.get('lock')).toBe('you');
      });

      it('writes when the revision holds, rejects ERR_CONFLICT and changes nothing when it moved on', async () => {
        const store = await newStore();
        const r1 = await store.set('k', 1);
        const r2 = await store.set('k', 2, { ifRevision: r1 });
        expect(r2).toBeGreaterThan(r1);
        await expectCode(store.set('k', 3, { ifRevision: r1 }), 'ERR_CONFLICT');
        await expectCode(store.set('absent', 3, { ifRevision: r2 }), 'ERR_CONFLICT');
        expect(await store.getEntry('k')).toEqual({ value: 2, revision: r2 });
        expect(await store.has('absent')).toBe(false);
      });

      it('only one of many concurrent CAS writers wins', async () => {
        const store = await newStore();
        const r = await store.set('k', 'start');
        const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.set('k', i, { ifRevision: r })));
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        for (const o of outcomes) if (o.status === 'rejected') expect((o.reason as KvbusError).code).toBe('ERR_CONFLICT');
        // Commands from one client apply in the order they were issued: the first wins, and its write is the one kept.
        const winner = outcomes[0]!;
        expect(winner.status).toBe('fulfilled');
        expect(await store.getEntry('k')).toEqual({ value: 0, revision: (winner as PromiseFulfilledResult<number>).value });
      });
    });

    describe('TTL', () => {
      it('an expired key is never returned', async () => {
        const store = await newStore();
        await store.set('t', 'soon', { ttlMs: TTL_MS });
        await store.set('keep', 'forever');
        expect(await store.get('t')).toBe('soon');
        await waitUntil(async () => !(await store.has('t')), 'the key to expire', EXPIRY_WAIT_MS);
        expect(await store.get('t')).toBeUndefined();
        expect(await store.getEntry('t')).toBeUndefined();
        expect(await store.keys()).toEqual(['keep']);
        expect([...(await store.getAll()).keys()]).toEqual(['keep']);
      });

      it('set without ttlMs, delete and clear end a TTL; set with ttlMs replaces it; incr gives none', async () => {
        const store = await newStore();
        const changes = await changesOf(store);
        await store.set('c', 1, { ttlMs: TTL_MS });
        await store.clear();
        await store.set('c', 2);
        await store.set('a', 1, { ttlMs: TTL_MS });
        await store.set('a', 2);
        await store.set('d', 1, { ttlMs: TTL_MS });
        await store.delete('d');
        await store.set('d', 2);
        await store.incr('n');
        await store.set('b', 1, { ttlMs: 60_000 });
        await store.set('b', 2, { ttlMs: TTL_MS });
        // b's deadline is the last of them: once b expired, every old deadline has passed.
        await changes.some((e) => e.type === 'expire' && e.key === 'b', 'b to expire', EXPIRY_WAIT_MS);
        await sleep(TTL_MS);
        expect(await store.has('b')).toBe(false);
        expect(await store.get('a')).toBe(2);
        expect(await store.get('c')).toBe(2);
        expect(await store.get('d')).toBe(2);
        expect(await store.get('n')).toBe(1);
        await store.set('end', 1);
        await changes.some((e) => e.key === 'end', 'the sentinel');
        expect(changes.values.filter((e) => e.type === 'expire').map((e) => e.key)).toEqual(['b']);
      });

      it('incr, apply and update keep the TTL', async () => {
        const store = await newStore();
        store.defineOp<number>('inc', (old) => (old ?? 0) + 1);
        await store.set('i', 1, { ttlMs: 4 * TTL_MS });
        await store.set('p', 1, { ttlMs: 4 * TTL_MS });
        await store.set('u', 1, { ttlMs: 4 * TTL_MS });
        expect(await store.incr('i')).toBe(2);
        expect(await store.apply('p', 'inc')).toBe(2);
        expect(await store.update<number>('u', (old) => (old ?? 0) + 1)).toBe(2);
        await waitUntil(
          async () => !(await store.has('i')) && !(await store.has('p')) && !(await store.has('u')),
          'i, p and u to expire',
          EXPIRY_WAIT_MS,
        );
      });

      it('watch emits undefined when the watched key expires', async () => {
        const store = await newStore();
        const watch = rec(store.watch('k'));
        await watch.count(1);
        await store.set('k', 'v', { ttlMs: TTL_MS });
        await watch.count(3, 'the expiry', EXPIRY_WAIT_MS);
        expect(watch.values).toEqual([undefined, 'v', undefined]);
      });

      it('accepts a fractional ttlMs', async () => {
        const store = await newStore();
        expect(await store.set('f', 1, { ttlMs: TTL_MS + 0.5 })).toBeGreaterThan(0);
        expect(await store.has('f')).toBe(true);
        expect(await store.set('g', 1, { ttlMs: 0.5 })).toBeGreaterThan(0);
        await waitUntil(async () => !(await store.has('f')) && !(await store.has('g')), 'f and g to expire', EXPIRY_WAIT_MS);
      });

      it('rejects a ttlMs that is not a positive finite number, and changes nothing (nor an existing TTL)', async () => {
        const store = await newStore();
        const revision = await store.set('kept', 1, { ttlMs: 5 * TTL_MS });
        for (const ttlMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '100' as unknown as number, null as unknown as number]) {
          await expectCode(store.set('t', 1, { ttlMs }), 'ERR_BAD_ARGUMENT', /ttlMs/);
          await expectCode(store.set('kept', 2, { ttlMs }), 'ERR_BAD_ARGUMENT', /ttlMs/);
        }
        expect(await store.has('t')).toBe(false);
        expect(await store.getEntry('kept')).toEqual({ value: 1, revision });
        await waitUntil(async () => !(await store.has('kept')), 'kept to expire', EXPIRY_WAIT_MS);
      });
    });

    describe('values and keys', () => {
      const values: Array<[string, unknown]> = [
        ['date', new Date(Date.UTC(2024, 1, 29, 12, 0, 0, 123))],
        [
          'map',
          new Map<unknown, unknown>([
            ['a', 1],
            [2, { b: [3] }],
          ]),
        ],
        ['set', new Set([1, 'two', 3])],
        ['u8', new Uint8Array([0, 1, 254, 255])],
        ['buffer', new Uint8Array([1, 2, 255]).buffer],
        ['f64', new Float64Array([1.5, -0, Number.NaN])],
        ['nested', { a: { b: { c: [1, { d: 'deep' }], e: null } }, list: [[], {}, ''] }],
        ['null', null],
        ['true', true],
        ['false', false],
        ['zero', 0],
        ['negzero', -0],
        ['nan', Number.NaN],
        ['inf', Number.POSITIVE_INFINITY],
        ['float', Math.PI],
        ['negative', -42],
        ['bigint', 12345678901234567890n],
        ['empty-string', ''],
        ['unicode-string', 'héllo wörld ✓ 漢字 🚀'],
        ['large-string', `${'x'.repeat(1_000_000)}✓`],
        ['array', [1, 'a', null, [2]]],
        ['regexp', /ab+c/gi],
      ];

      it('round-trips structured-cloneable values with their types', async () => {
        const store = await newStore();
        for (const [key, value] of values) await store.set(key, value);
        for (const [key, value] of values) {
          const got = await store.get(key);
          expect(got, key).toEqual(value);
          if (typeof value === 'number') expect(Object.is(got, value), `${key} is ${String(value)}`).toBe(true);
          if (value !== null && typeof value === 'object')
            expect(Object.getPrototypeOf(got), `${key}'s type`).toBe(Object.getPrototypeOf(value));
        }
        const all = await store.getAll();
        expect(all.get('date')).toBeInstanceOf(Date);
        expect(all.get('map')).toBeInstanceOf(Map);
        expect(all.get('u8')).toBeInstanceOf(Uint8Array);
      });

      it('keeps shared references and cycles inside one value', async () => {
        const store = await newStore();
        const shared = { s: 1 };
        const value: Record<string, unknown> = { a: shared, b: shared };
        value.self = value;
        await store.set('k', value);
        const back = (await store.get<Record<string, unknown>>('k'))!;
        expect(back.a).toEqual({ s: 1 });
        expect(back.a).toBe(back.b);
        expect(back.self).toBe(back);
      });

      it('change events carry values with their types', async () => {
        const store = await newStore();
        const changes = await changesOf(store);
        const when = new Date(0);
        await store.set('d', when);
        await store.set('m', new Map([['k', new Set([1])]]));
        await changes.count(2);
        expect(changes.values[0]!.value).toBeInstanceOf(Date);
        expect(changes.values[0]!.value).toEqual(when);
        expect(changes.values[1]!.value).toEqual(new Map([['k', new Set([1])]]));
      });

      it('unicode keys and __proto__ / constructor are ordinary keys', async () => {
        const store = await newStore();
        const special = ['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'prototype'];
        // Absent in an empty store, whatever Object.prototype holds.
        for (const key of special) {
          expect(await store.has(key), key).toBe(false);
          expect(await store.get(key), key).toBeUndefined();
          expect(await store.getEntry(key), key).toBeUndefined();
          expect(await store.delete(key), key).toBe(false);
        }
        const keys = [
          '__proto__',
          'constructor',
          'hasOwnProperty',
          'toString',
          'prototype',
          'ключ',
          '键',
          '🔑',
          'a b',
          'line\nbreak',
          'tab\there',
          'é',
        ];
        for (const [i, key] of keys.entries()) await store.set(key, { i });
        for (const [i, key] of keys.entries()) {
          expect(await store.get(key), key).toEqual({ i });
          expect(await store.has(key), key).toBe(true);
        }
        expect(sorted(await store.keys())).toEqual(sorted(keys));
        expect(await store.keys('__*')).toEqual(['__proto__']);
        const all = await store.getAll();
        expect(all.size).toBe(keys.length);
        expect(all.get('__proto__')).toEqual({ i: 0 });
        expect(all.get('constructor')).toEqual({ i: 1 });
        expect(await store.getAll('constructor')).toEqual(new Map([['constructor', { i: 1 }]]));
        expect(await store.incr('__proto__:n')).toBe(1);
        expect(await store.delete('__proto__')).toBe(true);
        expect(await store.has('__proto__')).toBe(false);
        expect(await store.incr('__proto__', 2)).toBe(2);
        expect(await store.get('constructor')).toEqual({ i: 1 });
        expect(({} as Record<string, unknown>).i).toBeUndefined();
        expect(await store.get('i')).toBeUndefined();
        const changes = await changesOf(store);
        await store.set('🔑', 'emoji');
        await store.set('ключ', 'cyrillic');
        await changes.count(2);
        expect(changes.values.map((e) => e.key)).toEqual(['🔑', 'ключ']);
      });

      it('stores a copy: mutating after set, or mutating what get returned, changes nothing', async () => {
        const store = await newStore();
        const value = { list: [1, 2], when: new Date(0) };
        await store.set('obj', value);
        value.list.push(3);
        value.when.setTime(99);
        const got = await store.get<{ list: number[]; when: Date }>('obj');
        expect(got).toEqual({ list: [1, 2], when: new Date(0) });
        got!.list.push(4);
        expect(await store.get('obj')).toEqual({ list: [1, 2], when: new Date(0) });
        expect(await store.get('obj')).not.toBe(await store.get('obj'));
        const entry = await store.getEntry<{ list: number[] }>('obj');
        const revision = entry!.revision;
        entry!.value.list.push(5);
        entry!.revision = 0;
        expect(await store.getEntry('obj')).toEqual({ value: { list: [1, 2], when: new Date(0) }, revision });
      });

      it('update and apply store a copy of what they write, and of the argument', async () => {
        const store = await newStore();
        const next = { n: 1 };
        expect(await store.update('u', () => next)).toEqual({ n: 1 });
        next.n = 2;
        expect(await store.get('u')).toEqual({ n: 1 });
        let made: { n: number } | undefined;
        store.defineOp<{ n: number }>('make', (old) => (made = { n: (old?.n ?? 0) + 1 }));
        expect(await store.apply('made', 'make')).toEqual({ n: 1 });
        made!.n = 999;
        expect(await store.get('made')).toEqual({ n: 1 });
        store.defineOp<unknown, unknown>('put', (_old, arg) => arg);
        const arg = { n: 1 };
        expect(await store.apply('put', 'put', arg)).not.toBe(arg);
        arg.n = 2;
        expect(await store.get('put')).toEqual({ n: 1 });
      });

      it('observers get copies: watch, changes and channel data alias neither the store nor the publisher', async () => {
        const store = await newStore();
        await store.set('k', { n: 1 });
        const watch = rec(store.watch<{ n: number }>('k'));
        const changes = rec(store.changes<{ n: number }>('k'));
        const news = rec(store.channel<{ n: number }>('news'));
        await store.stats();
        await watch.count(1);
        const value = { n: 2 };
        await store.set('k', value);
        const data = { n: 3 };
        await store.publish('news', data);
        value.n = 20;
        data.n = 30;
        await watch.count(2);
        await changes.count(1);
        await news.count(1);
        expect(changes.values[0]!.value).not.toBe(value);
        expect(news.values).toEqual([{ n: 3 }]);
        expect(news.values[0]).not.toBe(data);
        watch.values[0]!.n = 100;
        watch.values[1]!.n = 200;
        changes.values[0]!.value!.n = 300;
        expect(await store.get('k')).toEqual({ n: 2 });
      });
    });

    describe('bad input', () => {
      const badKeys: unknown[] = ['', 42, null, undefined, {}, ['a'], Symbol('k'), new String('a')];
      const KEY_MESSAGE = /^Expected `key` to be a non-empty string, got /;
      /** Bad channel, pattern and op names; `undefined` is a bad name too, except for keys(), getAll() and changes() (all). */
      const badNames: unknown[] = ['', 7, null, undefined, {}];

      it('non-string or empty keys reject with ERR_BAD_KEY, change nothing, and the store goes on', async () => {
        const store = await newStore();
        await store.set('a', 1);
        for (const key of badKeys) {
          const k = key as string;
          await expectCode(store.get(k), 'ERR_BAD_KEY', KEY_MESSAGE);
          await expectCode(store.getEntry(k), 'ERR_BAD_KEY', KEY_MESSAGE);
          await expectCode(store.set(k, 1), 'ERR_BAD_KEY', KEY_MESSAGE);
          await expectCode(store.delete(k), 'ERR_BAD_KEY', KEY_MESSAGE);
          await expectCode(store.has(k), 'ERR_BAD_KEY', KEY_MESSAGE);
          await expectCode(store.incr(k), 'ERR_BAD_KEY', KEY_MESSAGE);
          await expectCode(
            store.update(k, () => 1),
            'ERR_BAD_KEY',
            KEY_MESSAGE,
          );
          await expectCode(store.apply(k, 'op'), 'ERR_BAD_KEY', KEY_MESSAGE);
          expectThrowsCode(() => store.watch(k), 'ERR_BAD_KEY');
        }
        expect(await store.getAll()).toEqual(new Map([['a', 1]]));
        expect(await store.incr('n')).toBe(1);
      });

      it('bad arguments of data methods reject with ERR_BAD_ARGUMENT and change nothing', async () => {
        const store = await newStore();
        await store.set('n', 1);
        await expectCode(store.set('k', undefined), 'ERR_BAD_ARGUMENT', /delete/);
        await expectCode(store.set('n', undefined), 'ERR_BAD_ARGUMENT', /delete/);
        for (const ifRevision of [-1, 1.5, '3' as unknown as number, Number.NaN])
          await expectCode(store.set('k', 1, { ifRevision }), 'ERR_BAD_ARGUMENT');
        await expectCode(store.set('k', 1, 'fast' as never), 'ERR_BAD_ARGUMENT');
        await expectCode(store.set('k', 1, null as never), 'ERR_BAD_ARGUMENT');
        for (const by of [Number.NaN, Number.POSITIVE_INFINITY, '1' as unknown as number, null as unknown as number])
          await expectCode(store.incr('n', by), 'ERR_BAD_ARGUMENT', /^Expected `by` to be a finite number, got /);
        await expectCode(store.update('k', 'fn' as never), 'ERR_BAD_ARGUMENT');
        for (const retries of [-1, Number.NaN, '2' as unknown as number])
          await expectCode(
            store.update('k', () => 1, { retries }),
            'ERR_BAD_ARGUMENT',
          );
        expect(await store.has('k')).toBe(false);
        expect(await store.get('n')).toBe(1);
        expect((await store.stats()).keys).toBe(1);
      });

      it('bad channel, pattern, op and handler arguments are rejected with ERR_BAD_ARGUMENT', async () => {
        const store = await newStore();
        for (const name of badNames) {
          const n = name as string;
          await expectCode(store.publish(n, 1), 'ERR_BAD_ARGUMENT', /^Expected `channel` to be .+, got .+/);
          await expectCode(store.apply('k', n), 'ERR_BAD_ARGUMENT');
          expectThrowsCode(() => store.channel(n), 'ERR_BAD_ARGUMENT');
          expectThrowsCode(() => store.pattern(n), 'ERR_BAD_ARGUMENT');
          expectThrowsCode(() => store.onSubscriberReceive(n, () => {}), 'ERR_BAD_ARGUMENT');
          if (name === undefined) continue;
          await expectCode(store.keys(n), 'ERR_BAD_ARGUMENT');
          await expectCode(store.getAll(n), 'ERR_BAD_ARGUMENT');
          expectThrowsCode(() => store.changes(n), 'ERR_BAD_ARGUMENT');
        }
        expectThrowsCode(() => store.onSubscriberReceive('c', 'handler' as never), 'ERR_BAD_ARGUMENT');
        expectThrowsCode(() => store.defineOp('op', 'fn' as never), 'ERR_BAD_ARGUMENT');
        expectThrowsCode(() => store.defineOp('', () => 1), 'ERR_BAD_ARGUMENT');
        expect((await store.stats()).keys).toBe(0);
      });

      it('uncloneable values reject with ERR_NOT_CLONEABLE naming the key, and change nothing', async () => {
        const store = await newStore();
        const revision = await store.set('kept', 'old');
        class Handle {
          constructor(readonly fn: () => void) {}
        }
        const uncloneable = [
          () => 1,
          Symbol('s'),
          { nested: { fn: () => 1 } },
          [1, Symbol('x')],
          new WeakMap(),
          new WeakSet(),
          new Handle(() => {}),
          new Map([['f', () => 3]]),
        ];
        for (const value of uncloneable) {
          await expectCode(store.set('fn-key', value), 'ERR_NOT_CLONEABLE', /fn-key/);
          await expectCode(store.set('kept', value), 'ERR_NOT_CLONEABLE', /kept/);
        }
        store.defineOp('bad', () => () => 1);
        await expectCode(store.apply('kept', 'bad'), 'ERR_NOT_CLONEABLE', /"kept"/);
        await expectCode(
          store.update('kept', () => (() => 1) as never),
          'ERR_NOT_CLONEABLE',
          /"kept"/,
        );
        let ran = false;
        store.defineOp('put', (_old, arg) => ((ran = true), arg));
        await expectCode(store.apply('fn-key', 'put', { f: () => 1 }), 'ERR_NOT_CLONEABLE');
        expect(ran).toBe(false);
        expect(await store.has('fn-key')).toBe(false);
        expect(await store.getEntry('kept')).toEqual({ value: 'old', revision });
        expect(await store.keys()).toEqual(['kept']);
      });

      it('values backed by a SharedArrayBuffer are rejected (ERR_NOT_CLONEABLE naming the key or channel), never shared', async () => {
        const store = await newStore();
        const revision = await store.set('kept', 'old');
        const shared = () => {
          const view = new Int32Array(new SharedArrayBuffer(8));
          return [view, view.buffer, new DataView(view.buffer), { nested: { view } }, [1, view], new Map([['v', view]]), new Set([view])];
        };
        const received = rec(store.channel('c'));
        await store.stats();
        for (const value of shared()) {
          await expectCode(store.set('sab', value), 'ERR_NOT_CLONEABLE', /"sab".*SharedArrayBuffer/);
          await expectCode(store.set('kept', value), 'ERR_NOT_CLONEABLE', /"kept"/);
          await expectCode(
            store.update('kept', () => value),
            'ERR_NOT_CLONEABLE',
            /"kept"/,
          );
          await expectCode(store.publish('c', value), 'ERR_NOT_CLONEABLE', /channel "c"/);
        }
        // The result of an op, and its argument.
        store.defineOp('put', (_old, arg) => arg);
        store.defineOp('make', () => new Int32Array(new SharedArrayBuffer(4)));
        await expectCode(store.apply('kept', 'make'), 'ERR_NOT_CLONEABLE', /"kept"/);
        await expectCode(store.apply('kept', 'put', { view: new Int32Array(new SharedArrayBuffer(4)) }), 'ERR_NOT_CLONEABLE', /"kept"/);
        expect(await store.getEntry('kept')).toEqual({ value: 'old', revision });
        expect(await store.has('sab')).toBe(false);
        // A plain copy is the fix the message names, and it is stored as a copy.
        const view = new Int32Array(new SharedArrayBuffer(8));
        await store.set('sab', view.slice());
        view[0] = 7;
        expect(await store.get('sab')).toEqual(new Int32Array(2));
        await store.publish('c', 'sentinel');
        await received.some((m) => m === 'sentinel', 'the sentinel');
        expect(received.values).toEqual(['sentinel']);
      });

      it('a value whose getter throws rejects with ERR_NOT_CLONEABLE naming the key or channel, with the cause', async () => {
        const store = await newStore();
        const boom = new Error('boom');
        const getter = () => ({
          ok: 1,
          get x(): number {
            throw boom;
          },
        });
        const errors = [
          await expectCode(store.set('g', getter()), 'ERR_NOT_CLONEABLE', /"g"/),
          await expectCode(store.set('g', { deep: [getter()] }), 'ERR_NOT_CLONEABLE', /"g"/),
          await expectCode(
            store.update('g', () => getter()),
            'ERR_NOT_CLONEABLE',
            /"g"/,
          ),
          await expectCode(store.apply('g', 'anything', getter()), 'ERR_NOT_CLONEABLE', /"g"/),
          await expectCode(store.publish('ch', getter()), 'ERR_NOT_CLONEABLE', /channel "ch"/),
        ];
        for (const error of errors) expect(error.cause).toBe(boom);
        expect(await store.has('g')).toBe(false);
      });

      it('errors are KvbusErrors with a stable code and name, recognised by isKvbusError', async () => {
        const store = await newStore();
        await store.set('s', 'text');
        const cases: Array<[() => Promise<unknown>, string]> = [
          [() => store.get(1 as never), 'ERR_BAD_KEY'],
          [() => store.set('k', undefined), 'ERR_BAD_ARGUMENT'],
          [() => store.set('k', () => 1), 'ERR_NOT_CLONEABLE'],
          [() => store.incr('s'), 'ERR_TYPE'],
          [() => store.set('s', 1, { ifRevision: 0 }), 'ERR_CONFLICT'],
        ];
        for (const [call, code] of cases) {
          const error = await expectCode(call(), code);
          expect(isKvbusError(error)).toBe(true);
          expect(error.name).toBe('KvbusError');
        }
      });
    });

    describe('close', () => {
      it('completes every observable', async () => {
        const store = await newStore();
        await store.set('w', 1);
        const recorders = [rec(store.channel('c')), rec(store.pattern('c*')), rec(store.watch('w')), rec(store.changes('*'))];
        await recorders[2]!.count(1);
        await store.close();
        await waitUntil(() => recorders.every((r) => r.completed), 'every observable to complete');
        expect(recorders.map((r) => r.error)).toEqual([undefined, undefined, undefined, undefined]);
      });

      it('later calls reject with ERR_CLOSED; close is idempotent', async () => {
        const store = await newStore();
        store.defineOp('op', () => 1);
        await store.set('k', 1);
        await store.close();
        await store.close();
        expect(store.closed).toBe(true);
        await expectCode(store.get('k'), 'ERR_CLOSED');
        await expectCode(store.getEntry('k'), 'ERR_CLOSED');
        await expectCode(store.set('k', 2), 'ERR_CLOSED');
        await expectCode(store.delete('k'), 'ERR_CLOSED');
        await expectCode(store.has('k'), 'ERR_CLOSED');
        await expectCode(store.incr('n'), 'ERR_CLOSED');
        await expectCode(
          store.update('k', () => 3),
          'ERR_CLOSED',
        );
        await expectCode(store.apply('k', 'op'), 'ERR_CLOSED');
        await expectCode(store.keys(), 'ERR_CLOSED');
        await expectCode(store.getAll(), 'ERR_CLOSED');
        await expectCode(store.clear(), 'ERR_CLOSED');
        await expectCode(store.publish('c', 1), 'ERR_CLOSED');
        await expectCode(store.stats(), 'ERR_CLOSED');
      });

      it('a subscription made after close errors with ERR_CLOSED', async () => {
        const store = await newStore();
        await store.close();
        const channel = rec(store.channel('c'));
        await waitUntil(() => channel.error !== undefined || channel.completed, 'the subscription to end');
        expect(channel.completed).toBe(false);
        expect(channel.error).toBeInstanceOf(KvbusError);
        expect((channel.error as KvbusError).code).toBe('ERR_CLOSED');
      });
    });

    describe('namespaces', () => {
      it('isolate two stores on the same backend: keys, clear, changes and publish never cross', async () => {
        const base = uniqueNamespace('ns');
        // Glob characters in a namespace must be escaped: unescaped, `a*[b]` would match `aZZb`.
        const a = await newStore(`${base}a*[b]`);
        const b = await newStore(`${base}aZZb`);
        const aChanges = await changesOf(a);
        const aMessages = rec(a.channel('news'));
        const aPattern = rec(a.pattern('*'));
        await a.stats();
        await a.set('shared', 'a');
        await b.set('shared', 'b');
        await b.set('only-b', 1);
        expect(await a.get('shared')).toBe('a');
        expect(await b.get('shared')).toBe('b');
        expect(await a.keys()).toEqual(['shared']);
        expect(await a.keys('*')).toEqual(['shared']);
        expect(sorted(await b.keys())).toEqual(['only-b', 'shared']);
        expect(await a.has('only-b')).toBe(false);
        expect([...(await a.getAll()).keys()]).toEqual(['shared']);
        expect((await a.stats()).keys).toBe(1);

        expect(await b.publish('news', 'from b')).toBe(0);
        await b.clear();
        expect(await a.get('shared')).toBe('a');
        expect(await b.keys()).toEqual([]);

        await a.publish('news', 'sentinel');
        await aMessages.count(1);
        await aPattern.count(1);
        expect(aMessages.values).toEqual(['sentinel']);
        expect(aPattern.values).toEqual([{ channel: 'news', data: 'sentinel' }]);
        await a.set('sentinel', 1);
        await aChanges.some((e) => e.key === 'sentinel');
        expect(aChanges.values.map((e) => `${e.type} ${e.key}`)).toEqual(['set shared', 'set sentinel']);
        await a.clear();
        expect(await a.keys()).toEqual([]);
      });

      it('stay apart even when one namespace extends another', async () => {
        const base = uniqueNamespace('nx');
        const outer = await newStore(base);
        const inner = await newStore(`${base}:k:x`);
        const channelNs = await newStore(`${base}:c:x`);
        const heard = rec(outer.pattern('*'));
        await outer.stats();
        await inner.set('y', 'inner');
        expect(await outer.keys()).toEqual([]);
        expect(await outer.get('x:k:y')).toBeUndefined();
        await outer.set('x:k:z', 'outer');
        expect(await inner.keys()).toEqual(['y']);
        expect(await inner.get('z')).toBeUndefined();
        await outer.clear();
        expect(await inner.get('y')).toBe('inner');
        await channelNs.publish('y', 'other app');
        await outer.publish('end', 'sentinel');
        await heard.count(1);
        expect(heard.values).toEqual([{ channel: 'end', data: 'sentinel' }]);
      });
    });
  });
}
