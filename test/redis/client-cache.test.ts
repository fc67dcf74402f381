// The Redis backend's client-side cache, at the Backend level: reads answered
// without a command, a process's own writes read back at once (awaited or
// not), its own TTLs honoured, and its options validated.
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { redisBackend } from '../../src/redis.js';
import { expectCode } from '../helpers/errors.js';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { sleep, waitUntil } from '../helpers/wait.js';
import { useCachedBackends } from './client-cache-helpers.js';

describe('redisBackend({ clientCache }) options', () => {
  it('rejects what is not true, false or { maxEntries?, ttlMs? }, and node-redis’s own clientSideCache', () => {
    const bad: unknown[] = [1, 'yes', null, [], { maxEntries: 0 }, { maxEntries: 1.5 }, { ttlMs: -1 }, { ttlMs: Number.NaN }, { max: 3 }];
    for (const clientCache of bad) {
      expect(() => redisBackend({ clientCache } as never), JSON.stringify(clientCache)).toThrow(
        expect.objectContaining({ code: 'ERR_BAD_ARGUMENT', message: expect.stringMatching(/clientCache/) }),
      );
    }
    expect(() => redisBackend({ RESP: 3, clientSideCache: { maxEntries: 10 } })).toThrow(
      /Expected `clientCache: \{ maxEntries\?, ttlMs\? \}`/,
    );
    for (const clientCache of [undefined, false, true, {}, { maxEntries: 5, ttlMs: 1000 }]) {
      expect(() => redisBackend({ clientCache })).not.toThrow();
    }
  });
});

describeRedis('redis: the client-side cache answers this process’s reads', () => {
  const redis = useRedisServer();
  const { open, calls, reads } = useCachedBackends(redis);

  it('reads a key from Redis once, then from the cache: get, has and getMany send no command, and hand out copies', async () => {
    const { backend } = await open(uniqueNamespace('hits'));
    await backend.set('a', { n: 1 }, {});
    await backend.set('b', 2, {});
    expect(await backend.get('a')).toMatchObject({ value: { n: 1 } });
    expect(await backend.get('b')).toMatchObject({ value: 2 });
    expect(await backend.get('none')).toBeUndefined();
    const before = await reads();
    const first = (await backend.get('a'))!;
    const second = (await backend.get('a'))!;
    expect(second).toEqual(first);
    expect(second.value).not.toBe(first.value); // a copy each time
    expect(await backend.has('a')).toBe(true);
    expect(await backend.has('none')).toBe(false);
    expect(await backend.getMany(['a', 'b', 'none'])).toEqual([{ n: 1 }, 2, undefined]);
    expect(await reads()).toBe(before);
    // A getMany with a key not cached yet reads them all in one MGET (one instant).
    const mgets = await calls('MGET');
    expect(await backend.getMany(['a', 'c'])).toEqual([{ n: 1 }, undefined]);
    expect(await calls('MGET')).toBe(mgets + 1);
  });

  it('keeps at most maxEntries values (least recently used out), and none longer than ttlMs', async () => {
    const { backend } = await open(uniqueNamespace('bounds'), { clientCache: { maxEntries: 2 } });
    for (const key of ['a', 'b', 'c']) await backend.set(key, key, {});
    for (const key of ['a', 'b', 'a', 'c']) await backend.get(key); // b is the least recently used
    let before = await reads();
    await backend.get('a');
    await backend.get('c');
    expect(await reads()).toBe(before);
    await backend.get('b');
    expect(await reads()).toBe(before + 1);

    const aged = await open(uniqueNamespace('aged'), { clientCache: { ttlMs: 30 } });
    await aged.backend.set('k', 1, {});
    await aged.backend.get('k');
    before = await reads();
    await aged.backend.get('k');
    expect(await reads()).toBe(before);
    await sleep(40);
    await aged.backend.get('k');
    expect(await reads()).toBe(before + 1);
  });

  it('without clientCache, every read is a command', async () => {
    const { backend } = await open(uniqueNamespace('uncached'), {});
    await backend.set('a', 1, {});
    await backend.get('a');
    const before = await reads();
    await backend.get('a');
    await backend.get('a');
    expect(await reads()).toBe(before + 2);
  });

  it('reads its own awaited writes at once, whichever kind: set, delete, incr, apply, transaction, clear', async () => {
    const { backend } = await open(uniqueNamespace('ryw'));
    const cached = async (key: string) => {
      await backend.get(key);
      return (await backend.get(key))?.value;
    };
    for (let i = 1; i <= 200; i++) {
      expect(await cached('k')).toBe(i === 1 ? undefined : i - 1);
      await backend.set('k', i, {});
      expect((await backend.get('k'))?.value).toBe(i);
    }
    await cached('k');
    await backend.incr('k', 5);
    expect(await cached('k')).toBe(205);
    await backend.apply('k', (old) => (old as number) + 1);
    expect(await cached('k')).toBe(206);
    await backend.transaction([{ op: 'set', key: 'k', value: 'tx' }]);
    expect(await cached('k')).toBe('tx');
    expect(await backend.getMany(['k'])).toEqual(['tx']);
    await backend.delete('k');
    expect(await cached('k')).toBeUndefined();
    await backend.set('k', 'again', {});
    expect(await cached('k')).toBe('again');
    await backend.clear();
    expect(await backend.get('k')).toBeUndefined();
    expect(await backend.has('k')).toBe(false);
  });

  it('a read sent after a write that is still in flight waits for it, and sees it', async () => {
    const { backend } = await open(uniqueNamespace('inflight'));
    await backend.set('k', 0, {});
    await backend.get('k');
    for (let i = 1; i <= 50; i++) {
      const write = backend.set('k', i, {});
      const read = backend.get('k');
      const many = backend.getMany(['k']);
      const has = backend.has('k');
      expect((await read)?.value).toBe(i);
      expect(await many).toEqual([i]);
      expect(await has).toBe(true);
      await write;
    }
    const deleting = backend.delete('k');
    expect(await backend.has('k')).toBe(false);
    await deleting;
  });

  it('a key this process set with a TTL is not read from the cache past its TTL', async () => {
    const { backend } = await open(uniqueNamespace('ttl'));
    for (let i = 0; i < 5; i++) {
      await backend.set(`t${i}`, i, { ttlMs: 40 });
      expect((await backend.get(`t${i}`))?.value).toBe(i);
      expect((await backend.get(`t${i}`))?.value).toBe(i);
    }
    await sleep(45);
    // Past its TTL, each read goes to Redis (which may take a few ms more to consider it expired).
    // Counted as GET and MGET only: with history on, the expiry each read makes Redis notice is
    // announced by the EXPIRED script (an EVALSHA, with an EXISTS inside), which is no read of ours.
    const getReads = async () => (await calls('GET')) + (await calls('MGET'));
    const before = await getReads();
    for (let i = 0; i < 5; i++) await backend.get(`t${i}`);
    expect(await getReads()).toBe(before + 5);
    for (let i = 0; i < 5; i++) await waitUntil(async () => (await backend.get(`t${i}`)) === undefined, `t${i} expired`);
  });

  it('works on a client you pass, even a RESP2 one: the cache reads on a RESP3 duplicate of it, and your client is left open', async () => {
    const client = createClient({ url: redis.url, RESP: 2 });
    client.on('error', () => {});
    await client.connect();
    try {
      const { backend } = await open(uniqueNamespace('own-client'), { client, clientCache: { maxEntries: 10 } } as never);
      await backend.set('k', 'v', {});
      await backend.get('k');
      const before = await reads();
      expect(await backend.get('k')).toMatchObject({ value: 'v' });
      expect(await reads()).toBe(before);
      await backend.close();
      expect(client.isOpen).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('refuses a second store on the same backend, as without the cache', async () => {
    const { backend } = await open(uniqueNamespace('twice'));
    await expectCode(
      Promise.resolve().then(() => backend.open({} as never)),
      'ERR_BAD_ARGUMENT',
    );
  });
});
