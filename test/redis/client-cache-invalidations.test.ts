// What the client-side cache hears from Redis reaches the actor through
// BackendContext.invalidated (which stamps worker near caches): another
// process's write of a key this process read, a flush, and a lost connection
// (node-redis empties its cache then: invalidations may have been missed).
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { childExit } from '../helpers/processes.js';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { waitUntil } from '../helpers/wait.js';
import { useCachedBackends } from './client-cache-helpers.js';

/** Another process: its own store on the same Redis and namespace sets one key, then exits. */
const WRITER = `
import { createStore } from 'kvbus';
import { redisBackend } from 'kvbus/redis';
const [url, namespace, key, value] = process.argv.slice(1);
const store = createStore({ backend: redisBackend({ url }), namespace });
await store.set(key, JSON.parse(value));
await store.close();
`;

async function writeFromAnotherProcess(url: string, namespace: string, key: string, value: unknown): Promise<void> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', WRITER, url, namespace, key, JSON.stringify(value)], {
    cwd: process.cwd(),
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  expect(await childExit(child)).toEqual({ code: 0, signal: null });
}

describeRedis('redis: invalidations of the client-side cache reach the actor', () => {
  const redis = useRedisServer();
  const { open, calls } = useCachedBackends(redis);

  it('another process’s write of a cached key: invalidated([key]) arrives, and the next read sees the write', async () => {
    const namespace = uniqueNamespace('other');
    const { backend, invalidations } = await open(namespace);
    await backend.set('config', { v: 1 }, {});
    await backend.set('other', 1, {});
    expect(await backend.get('config')).toMatchObject({ value: { v: 1 } });
    expect(await backend.get('config')).toMatchObject({ value: { v: 1 } });
    invalidations.length = 0;

    await writeFromAnotherProcess(redis.url, namespace, 'config', { v: 2 });
    await waitUntil(() => invalidations.some((keys) => keys?.includes('config')), 'invalidated(["config"])');
    expect(invalidations).toContainEqual(['config']);
    expect(invalidations).not.toContainEqual(['other']); // only what changed
    expect(invalidations).not.toContainEqual(null);
    expect(await backend.get('config')).toMatchObject({ value: { v: 2 } });
  });

  it('a write by a plain Redis client, and an expiry in Redis, are invalidations too', async () => {
    const namespace = uniqueNamespace('raw');
    const { backend, invalidations } = await open(namespace);
    await backend.set('k', 1, {});
    await backend.get('k');
    invalidations.length = 0;
    // PEXPIRE writes the key (an invalidation); its expiry, later, is another.
    await redis.raw.sendCommand(['PEXPIRE', `${namespace}:k:k`, '300']);
    await waitUntil(() => invalidations.some((keys) => keys?.includes('k')), 'invalidated(["k"]) on PEXPIRE');
    invalidations.length = 0;
    expect(await backend.get('k')).toMatchObject({ value: 1 });
    await waitUntil(() => invalidations.some((keys) => keys?.includes('k')), 'invalidated(["k"]) on expiry');
    expect(await backend.get('k')).toBeUndefined();
  });

  it('a FLUSHALL: invalidated(null), and reads go to Redis again', async () => {
    const { backend, invalidations } = await open(uniqueNamespace('flush'));
    await backend.set('k', 1, {});
    await backend.get('k');
    invalidations.length = 0;
    await redis.raw.sendCommand(['FLUSHALL']);
    await waitUntil(() => invalidations.includes(null), 'invalidated(null) on FLUSHALL');
    expect(await backend.get('k')).toBeUndefined();
  });

  it('a lost connection: invalidated(null) (invalidations may have been missed); after the reconnect the cache fills and is invalidated again', async () => {
    const namespace = uniqueNamespace('drop');
    const { backend, invalidations } = await open(namespace);
    await backend.set('k', 1, {});
    await backend.get('k');
    invalidations.length = 0;
    // Every connection but the raw client's: the backend's, and its cache's.
    await redis.raw.sendCommand(['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes']);
    await waitUntil(() => invalidations.includes(null), 'invalidated(null) on a lost connection');
    // Written while this process may still be reconnecting: read once connected again, then from the cache.
    await writeFromAnotherProcess(redis.url, namespace, 'k', 'x');
    await waitUntil(async () => (await backend.get('k'))?.value === 'x', 'the value written during the reconnect');
    await waitUntil(async () => {
      await backend.get('k');
      const before = await calls('GET');
      await backend.get('k');
      return (await calls('GET')) === before;
    }, 'a cached read after the reconnect');
    invalidations.length = 0;
    await writeFromAnotherProcess(redis.url, namespace, 'k', 'after');
    await waitUntil(() => invalidations.some((keys) => keys?.includes('k')), 'invalidated(["k"]) after the reconnect');
    expect((await backend.get('k'))?.value).toBe('after');
  });
});
