// What KeyvKvbus adds to the compliance suite: namespaces with glob characters,
// TTLs kept by the store itself, the batch methods, 'error' events, input
// checks, the default store, and cache-manager on top.
import { createCache } from 'cache-manager';
import Keyv from 'keyv';
import { getStore, isKvbusError, type MainStore } from 'kvbus';
import { KeyvKvbus } from 'kvbus/keyv';
import { afterEach, describe, expect, it } from 'vitest';
import { Resources } from '../helpers/resources.js';
import { waitUntil } from '../helpers/wait.js';

const res = new Resources();
afterEach(() => res.cleanup());

const keyvOn = (store: MainStore, namespace?: string, adapter = new KeyvKvbus(store)) => new Keyv({ store: adapter, namespace });

describe('KeyvKvbus', () => {
  it('clear() removes only its namespace, even when the namespace holds glob characters', async () => {
    const store = res.store();
    const tricky = ['a*b', 'a?b', '[ab]', 'a\\b'];
    for (const namespace of tricky) await keyvOn(store, namespace).set('k', namespace);
    // Keys each of those namespaces would take if its glob characters were not escaped.
    const bystanders = ['aXb:k', 'ab:k', 'a:k', 'b:k', 'aab:k'];
    for (const key of bystanders) await store.set(key, 'not keyv');
    await keyvOn(store, 'other').set('k', 'other');

    await keyvOn(store, 'a*b').clear();
    await keyvOn(store, 'a?b').clear();
    await keyvOn(store, '[ab]').clear();
    await keyvOn(store, 'a\\b').clear();

    expect((await store.keys()).sort()).toEqual([...bystanders, 'other:k'].sort());
  });

  it('iterates only its namespace, a scan chunk at a time', async () => {
    const store = res.store();
    const keyv = keyvOn(store, 'n*', new KeyvKvbus(store, { scanCount: 3 }));
    for (let i = 0; i < 10; i++) await keyv.set(`k${i}`, i);
    await store.set('nX:k', 'not keyv');
    const seen = new Map<string, unknown>();
    for await (const [key, value] of keyv.iterator?.(undefined) ?? []) seen.set(key, value);
    expect(seen).toEqual(new Map(Array.from({ length: 10 }, (_, i) => [`k${i}`, i])));
  });

  it('gives the TTL to the store, which removes the key (not only Keyv, which hides it)', async () => {
    const store = res.store();
    const keyv = keyvOn(store, 'ttl');
    await keyv.set('short', 'v', 40);
    await keyv.set('kept', 'v');
    expect(await store.has('ttl:short')).toBe(true);
    await waitUntil(async () => !(await store.has('ttl:short')), 'the store to expire ttl:short');
    expect(await store.has('ttl:kept')).toBe(true);
    // set without a TTL removes an existing one, as Keyv expects of Redis.
    await keyv.set('kept', 'v', 40);
    await keyv.set('kept', 'v2');
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(await keyv.get('kept')).toBe('v2');
  });

  it('answers the batch methods per key: setMany, get([...]), has([...]), delete([...])', async () => {
    const store = res.store();
    const keyv = keyvOn(store, 'batch');
    expect(
      await keyv.setMany([
        { key: 'a', value: 1 },
        { key: 'b', value: 2, ttl: 60_000 },
      ]),
    ).toEqual([true, true]);
    expect(await keyv.get(['a', 'missing', 'b'])).toEqual([1, undefined, 2]);
    expect(await keyv.has(['a', 'missing', 'b'])).toEqual([true, false, true]);
    expect(await keyv.delete(['a', 'missing'])).toBe(false); // every key must go for true, as Keyv's own fallback says
    expect(await keyv.delete(['b'])).toBe(true);
    expect(await store.keys('batch:*')).toEqual([]);
  });

  it("emits a failure as an 'error' event that Keyv forwards, and answers as for an absent key", async () => {
    const store = res.store();
    const keyv = keyvOn(store, 'err');
    await keyv.set('k', 'v');
    const errors: unknown[] = [];
    keyv.on('error', (error) => errors.push(error));
    await store.close();
    expect(await keyv.get('k')).toBeUndefined();
    expect(await keyv.set('k', 'v')).toBe(false);
    expect(await keyv.has('k')).toBe(false);
    expect(errors.length).toBe(3);
    expect(errors.every((error) => isKvbusError(error) && error.code === 'ERR_CLOSED')).toBe(true);
  });

  it('rejects with the error too when throwOnErrors is set', async () => {
    const store = res.store();
    const adapter = new KeyvKvbus(store, { throwOnErrors: true });
    const errors: unknown[] = [];
    adapter.on('error', (error) => errors.push(error));
    await expect(adapter.set('k', 'v', -1)).rejects.toMatchObject({ code: 'ERR_BAD_ARGUMENT', message: expect.stringMatching(/ttlMs/) });
    expect(errors).toHaveLength(1);
  });

  it('checks its arguments: a store that is not a kvbus store, and bad options', () => {
    const bad = (f: () => unknown, pattern: RegExp) =>
      expect(f).toThrow(expect.objectContaining({ code: 'ERR_BAD_ARGUMENT', message: expect.stringMatching(pattern) }));
    bad(() => new KeyvKvbus(new Map() as never), /KeyvKvbus: expected `store` to be a kvbus Store .* without a scan\(\) method/);
    bad(
      () => new KeyvKvbus('redis://localhost' as never),
      /got the string "redis:\/\/localhost": pass a store, not a URL \(for Redis: createStore\(\{ backend: redisBackend/,
    );
    const store = res.store();
    bad(() => new KeyvKvbus(store, { scanCount: 0 }), /expected `scanCount` to be a positive integer, got number 0/);
    bad(() => new KeyvKvbus(store, { throwOnErrors: 'yes' as never }), /expected `throwOnErrors` to be a boolean/);
  });

  it("uses getStore() when given no store (the main thread's default store here)", async () => {
    const keyv = new Keyv({ store: new KeyvKvbus(), namespace: 'default' });
    try {
      await keyv.set('k', 'v');
      expect(await getStore().has('default:k')).toBe(true);
    } finally {
      await getStore().close();
    }
  });

  it('carries cache-manager: wrap() computes once, then every cache-manager on the store hits', async () => {
    const store = res.store();
    const cacheOn = () => createCache({ stores: [keyvOn(store, 'cm')] });
    let computed = 0;
    const compute = async () => {
      computed++;
      return { rows: [1, 2, 3] };
    };
    expect(await cacheOn().wrap('report', compute, 60_000)).toEqual({ rows: [1, 2, 3] });
    expect(await cacheOn().wrap('report', compute, 60_000)).toEqual({ rows: [1, 2, 3] });
    expect(computed).toBe(1);
    expect(await store.has('cm:report')).toBe(true);
  });
});
