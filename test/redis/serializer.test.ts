// The `serializer` option of the Redis backend: 'v8' (default), 'json', or your own.
import { deserialize, serialize } from 'node:v8';
import { describe, expect, it, vi } from 'vitest';
import { createStore, KvbusError } from '../../src/index.js';
import { type RedisBackendOptions, redisBackend } from '../../src/redis.js';
import { rejectionOf } from '../helpers/errors.js';
import { rawStored } from '../helpers/redis-client.js';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { useStores } from '../helpers/use-stores.js';
import { record } from '../helpers/wait.js';

describeRedis('redis: serializer option', () => {
  const redis = useRedisServer();
  const { newStore } = useStores((options: Omit<RedisBackendOptions, 'url'> = {}, namespace = uniqueNamespace('ser')) =>
    createStore({ backend: redis.backend(options), namespace }),
  );

  describe("'v8' (the default)", () => {
    it('keeps Dates, Maps, Sets, typed arrays and BigInts, stored as v8.serialize bytes under the namespace', async () => {
      const store = newStore();
      const value = {
        when: new Date(Date.UTC(2020, 0, 1)),
        map: new Map<string, unknown>([['a', new Set([1, 2])]]),
        bytes: new Uint8Array([1, 2, 3]),
        floats: new Float32Array([0.5, -1]),
        big: 2n ** 70n,
        nested: { list: [null, 'x'] },
      };
      await store.set('v', value);
      const got = await store.get<typeof value>('v');
      expect(got).toEqual(value);
      expect(got!.when).toBeInstanceOf(Date);
      expect(got!.map.get('a')).toBeInstanceOf(Set);
      expect(got!.bytes).toBeInstanceOf(Uint8Array);
      expect(got!.floats).toBeInstanceOf(Float32Array);
      const hash = await rawStored(redis.raw, `${store.namespace}:k:v`);
      expect(Object.keys(hash).sort()).toEqual(['r', 't', 'v']);
      expect(deserialize(hash.v!)).toEqual(value);
      // The v8 serialization header (version tag 0xFF), as v8.serialize writes it.
      expect(hash.v![0]).toBe(serialize(value)[0]);
      expect(hash.v![0]).toBe(0xff);
      expect(Number(hash.r!.toString())).toBe((await store.getEntry('v'))!.revision);
    });

    it('stores finite numbers as text, so Redis itself can add to them', async () => {
      const store = newStore();
      await store.set('n', 42.5);
      const hash = await rawStored(redis.raw, `${store.namespace}:k:n`);
      expect(hash.v!.toString()).toBe('42.5');
      expect(await store.incr('n', 0.5)).toBe(43);
    });

    it('carries published Dates and Maps to subscribers', async () => {
      const a = newStore();
      const b = newStore({}, a.namespace);
      const heard = record(b.channel<{ at: Date; m: Map<string, number> }>('c'));
      await b.stats();
      await a.publish('c', { at: new Date(5), m: new Map([['k', 1]]) });
      const [message] = await heard.count(1);
      expect(message!.at).toBeInstanceOf(Date);
      expect(message!.m).toEqual(new Map([['k', 1]]));
      heard.unsubscribe();
    });
  });

  describe("'json'", () => {
    it('stores JSON text (readable from any language); only JSON types survive', async () => {
      const store = newStore({ serializer: 'json' });
      await store.set('doc', { name: 'ada', tags: ['x'], nested: { ok: true }, nothing: null });
      expect(await store.get('doc')).toEqual({ name: 'ada', tags: ['x'], nested: { ok: true }, nothing: null });
      const hash = await rawStored(redis.raw, `${store.namespace}:k:doc`);
      expect(JSON.parse(hash.v!.toString('utf8'))).toEqual({ name: 'ada', tags: ['x'], nested: { ok: true }, nothing: null });
      await store.set('date', new Date(Date.UTC(2020, 0, 1)));
      expect(await store.get('date')).toBe('2020-01-01T00:00:00.000Z');
      await store.set('map', new Map([['a', 1]]));
      expect(await store.get('map')).toEqual({});
      await store.set('s', 'plain');
      expect(await store.get('s')).toBe('plain');
      expect(await store.incr('count', 2)).toBe(2);
    });

    it('publishes JSON text on the Redis channel', async () => {
      const store = newStore({ serializer: 'json' });
      const listener = redis.raw.duplicate();
      listener.on('error', () => {});
      await listener.connect();
      const messages: string[] = [];
      await listener.subscribe(`${store.namespace}:c:news`, (message) => messages.push(message));
      expect(await store.publish('news', { title: 'hi', n: 1 })).toBe(1);
      await vi.waitFor(() => expect(messages).toHaveLength(1), { timeout: 3_000 });
      expect(JSON.parse(messages[0]!)).toEqual({ title: 'hi', n: 1 });
      await listener.close();
    });
  });

  describe('a custom { encode, decode }', () => {
    it('is used for every value and message, both ways', async () => {
      const encode = vi.fn((value: unknown) => `custom:${JSON.stringify(value)}`);
      const decode = vi.fn((bytes: Buffer) => {
        const text = bytes.toString('utf8');
        if (!text.startsWith('custom:')) throw new Error(`not ours: ${text}`);
        return JSON.parse(text.slice('custom:'.length));
      });
      const store = newStore({ serializer: { encode, decode } });
      await store.set('k', { a: 1 });
      expect(encode).toHaveBeenCalledWith({ a: 1 });
      expect((await rawStored(redis.raw, `${store.namespace}:k:k`)).v!.toString()).toBe('custom:{"a":1}');
      expect(await store.get('k')).toEqual({ a: 1 });
      expect(decode).toHaveBeenCalled();

      const heard = record(store.channel('c'));
      await store.stats();
      await store.publish('c', ['m']);
      expect(encode).toHaveBeenCalledWith(['m']);
      expect(await heard.count(1)).toEqual([['m']]);
      heard.unsubscribe();

      // Another process (here: another store) with the same serializer reads it.
      const other = newStore({ serializer: { encode, decode } }, store.namespace);
      expect(await other.get('k')).toEqual({ a: 1 });
    });

    it('rejects a serializer that is not v8, json or { encode, decode }', () => {
      for (const serializer of ['yaml', {}, { encode: () => '' }, null]) {
        let caught: unknown;
        try {
          redisBackend({ url: redis.url, serializer: serializer as never });
        } catch (error) {
          caught = error;
        }
        expect(caught, JSON.stringify(serializer)).toBeInstanceOf(KvbusError);
        expect((caught as KvbusError).code).toBe('ERR_BAD_ARGUMENT');
      }
    });

    it('a decode failure reaches the caller as a KvbusError, and the store keeps working', async () => {
      const store = newStore({
        serializer: {
          encode: (value) => JSON.stringify(value),
          decode: (bytes) => {
            if (bytes.toString() === '"poison"') throw new Error('cannot decode');
            return JSON.parse(bytes.toString());
          },
        },
      });
      await store.set('bad', 'poison');
      const error = await rejectionOf(store.get('bad'));
      expect(error).toBeInstanceOf(KvbusError);
      await store.set('good', 'fine');
      expect(await store.get('good')).toBe('fine');
    });
  });
});
