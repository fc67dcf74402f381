// Where the Redis backend keeps things, which commands it sends, and the `client` option.
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { createStore } from '../../src/index.js';
import { redisBackend } from '../../src/redis.js';
import { closeRaw, monitoredCommand, monitorWhile, type RawClient, rawScan, rawStored } from '../helpers/redis-client.js';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { useStores } from '../helpers/use-stores.js';
import { record, waitUntil } from '../helpers/wait.js';

describeRedis('redis: key layout, SCAN, and the client option', () => {
  const redis = useRedisServer();
  /** Clients handed to a store with the `client` option: closed after the stores that use them. */
  const clients: RawClient[] = [];
  const { newStore, stores } = useStores((namespace = uniqueNamespace('lay')) => createStore({ backend: redis.backend(), namespace }), {
    afterClose: async () => {
      await Promise.all(clients.splice(0).map((client) => closeRaw(client)));
    },
  });

  describe('layout', () => {
    it('keeps every key of a store under its namespace prefix; values as `<t><revision>|<bytes>` strings read with one GET; TTL as Redis expiry', async () => {
      const store = newStore();
      const ns = store.namespace;
      await store.set('a', { x: 1 });
      await store.set('b', 'two', { ttlMs: 60_000 });
      await store.incr('n');
      await store.delete('a');
      await store.set('user:1', 1);
      const all = await rawScan(redis.raw, `${ns}*`);
      expect(all.length).toBeGreaterThan(0);
      for (const key of all) expect(key.startsWith(`${ns}:`), key).toBe(true);
      expect(all).toContain(`${ns}:k:b`);
      expect(all).toContain(`${ns}:k:n`);
      expect(all).toContain(`${ns}:k:user:1`);
      expect(all).not.toContain(`${ns}:k:a`);
      const hash = await rawStored(redis.raw, `${ns}:k:user:1`);
      expect(Object.keys(hash).sort()).toEqual(['r', 't', 'v']);
      const pttl = Number(await redis.raw.sendCommand(['PTTL', `${ns}:k:b`]));
      expect(pttl).toBeGreaterThan(50_000);
      expect(pttl).toBeLessThanOrEqual(60_000);
      expect(Number(await redis.raw.sendCommand(['PTTL', `${ns}:k:n`]))).toBe(-1);
      // Nothing of this store outside its prefix.
      const everything = await rawScan(redis.raw, '*');
      expect(everything.filter((key) => key.includes(ns) && !key.startsWith(`${ns}:`))).toEqual([]);
    });

    it('uses SCAN, never KEYS, for keys, getAll, clear and stats (MONITOR sees Lua too)', async () => {
      const store = newStore();
      const ns = store.namespace;
      for (let i = 0; i < 30; i++) await store.set(`k${i}`, i);
      const lines = await monitorWhile(redis.url, async () => {
        expect((await store.keys()).length).toBe(30);
        expect((await store.keys('k1*')).length).toBe(11);
        expect((await store.getAll('k2?')).size).toBe(10);
        expect((await store.stats()).keys).toBe(30);
        await store.clear();
        expect(await store.keys()).toEqual([]);
      });
      const commands = lines.map(monitoredCommand);
      expect(commands.length).toBeGreaterThan(0);
      expect(commands).not.toContain('KEYS');
      expect(commands).toContain('SCAN');
      const scans = lines.filter((line) => monitoredCommand(line) === 'SCAN');
      // Every SCAN is limited to this namespace.
      for (const line of scans) expect(line, line).toContain(`"MATCH" "${ns}:`);
    });

    it('a key with glob characters is read exactly (no pattern lookups)', async () => {
      const store = newStore();
      await store.set('a*', 1);
      await store.set('ab', 2);
      expect(await store.get('a*')).toBe(1);
      expect(await store.delete('a*')).toBe(true);
      expect(await store.get('ab')).toBe(2);
      expect(await store.keys()).toEqual(['ab']);
    });
  });

  describe('the client option', () => {
    it('kvbus sends its commands through the given client and does not quit it on close', async () => {
      const client = createClient({ url: redis.url }) as RawClient;
      clients.push(client);
      client.on('error', () => {});
      await client.connect();
      // Which connection ran what: CLIENT LIST shows each connection's last command.
      const id = String(await client.sendCommand(['CLIENT', 'ID']));
      const connections = async () =>
        String(await redis.raw.sendCommand(['CLIENT', 'LIST']))
          .trim()
          .split('\n');
      const before = (await connections()).length;
      const store = createStore({ backend: redisBackend({ client: client as never }), namespace: uniqueNamespace('own') });
      stores.push(store);
      await store.set('k', 'v');
      expect(await store.get('k')).toBe('v');
      expect(await store.keys()).toEqual(['k']);
      const after = await connections();
      // The given client ran kvbus's commands (its last one: the SCAN of keys()), and
      // kvbus opened only its pub/sub connection besides.
      expect(after.find((line) => line.includes(`id=${id} `))).toMatch(/ cmd=scan /);
      expect(after).toHaveLength(before + 1);

      await store.close();
      expect(client.isOpen).toBe(true);
      expect(await client.sendCommand(['PING'])).toBe('PONG');
      expect(await client.exists(`${store.namespace}:k:k`)).toBe(1);
    });

    it('connects a given client that is not connected yet, and still leaves it open', async () => {
      const client = createClient({ url: redis.url }) as RawClient;
      clients.push(client);
      client.on('error', () => {});
      const store = createStore({ backend: redisBackend({ client: client as never }), namespace: uniqueNamespace('own') });
      stores.push(store);
      await store.set('k', 1);
      expect(client.isOpen).toBe(true);
      await store.close();
      expect(client.isOpen).toBe(true);
    });

    it('close() releases the connections kvbus opened itself (its own client and its subscriber)', async () => {
      const before = await clientCount();
      const store = newStore();
      const heard = record(store.channel('x'));
      await store.set('k', 1);
      expect(await clientCount()).toBe(before + 2);
      await store.close();
      stores.splice(stores.indexOf(store), 1);
      await waitUntil(async () => (await clientCount()) === before, 'the connections to close');
      expect(heard.completed).toBe(true);
    });
  });

  async function clientCount(): Promise<number> {
    const list = String(await redis.raw.sendCommand(['CLIENT', 'LIST']));
    return list.split('\n').filter((line) => line.trim().length > 0).length;
  }
});
