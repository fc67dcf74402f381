// Connection faults on the Redis backend: Redis down (commands fail with
// ERR_BACKEND within a bound), Redis restarted on the same port (writes and
// every subscription go on, with no re-subscribing by hand), and connections
// dropped while the server lives on (no acknowledged write is lost).
import { expect, it } from 'vitest';
import { createStore, KvbusError, type MainStore } from '../../src/index.js';
import { rejectionOf } from '../helpers/errors.js';
import { numSub } from '../helpers/redis-client.js';
import { describeRestartable, uniqueNamespace } from '../helpers/redis-server.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { useStores } from '../helpers/use-stores.js';
import { eventually, sleep, waitUntil } from '../helpers/wait.js';

/** How fast a command must fail while Redis is down: commandTimeoutMs plus slack for a loaded machine. */
const COMMAND_TIMEOUT_MS = 500;
const FAIL_WITHIN_MS = 2_500;
/** node-redis reconnects with a backoff of at most ~2.2 s. */
const RECOVER_WITHIN_MS = 10_000;

describeRestartable('redis: connection faults', () => {
  const redis = useRedisServer();
  const { newStore, rec } = useStores(
    (namespace = uniqueNamespace('fault')) => createStore({ backend: redis.backend({ commandTimeoutMs: COMMAND_TIMEOUT_MS }), namespace }),
    {
      // Closing waits on the connections: bring the server back first.
      beforeClose: async () => {
        if (!redis.server.running) await redis.server.start();
      },
      close: (store) => closeWithin(store, 3_000),
    },
  );

  /** Teardown must not hang the suite when close() itself hangs (that is tested on its own below). */
  async function closeWithin(store: MainStore, ms: number): Promise<void> {
    await Promise.race([store.close().catch(() => {}), sleep(ms)]);
  }

  async function expectBackendErrorWithin(promise: Promise<unknown>, ms: number, what: string): Promise<void> {
    const started = Date.now();
    const error = await Promise.race([
      rejectionOf(promise),
      sleep(ms + 1_000).then(() => {
        throw new Error(`${what} neither resolved nor rejected within ${ms + 1_000} ms`);
      }),
    ]);
    const elapsed = Date.now() - started;
    expect(error, `${what}: ${String(error)}`).toBeInstanceOf(KvbusError);
    expect(error.code, what).toBe('ERR_BACKEND');
    expect(elapsed, `${what} took ${elapsed} ms`).toBeLessThan(ms);
  }

  it('while Redis is down a command rejects with ERR_BACKEND within a bound; after a restart writes work again (and the data is gone)', async () => {
    const store = newStore();
    await store.set('before', 'x');
    await redis.server.kill();
    await expectBackendErrorWithin(store.get('before'), FAIL_WITHIN_MS, 'get');
    await expectBackendErrorWithin(store.set('during', 1), FAIL_WITHIN_MS, 'set');
    await expectBackendErrorWithin(store.publish('c', 1), FAIL_WITHIN_MS, 'publish');
    await redis.server.start();
    await eventually(() => store.set('after', 'y'), 'a write after the restart', RECOVER_WITHIN_MS);
    expect(await store.get('after')).toBe('y');
    // No persistence: the restart lost what was written before.
    expect(await store.get('before')).toBeUndefined();
    // Lua scripts are loaded again by themselves (NOSCRIPT after a restart).
    expect(await store.incr('n')).toBe(1);
    await store.delete('after');
    await store.clear();
  });

  it('channel and pattern subscriptions receive again after a restart, without re-subscribing by hand', async () => {
    const subscriber = newStore();
    const publisher = newStore(subscriber.namespace);
    const channel = rec(subscriber.channel<string>('news'));
    const pattern = rec(subscriber.pattern<string>('ne*'));
    await subscriber.stats();
    await publisher.publish('news', 'before');
    await channel.count(1);
    await redis.server.restart();
    await eventually(
      async () => {
        await publisher.publish('news', 'after');
        await waitUntil(
          () => channel.values.includes('after') && pattern.values.some((m) => m.data === 'after'),
          'messages after the restart',
          200,
        );
      },
      'the channel and the pattern to receive after the restart',
      RECOVER_WITHIN_MS,
      0,
    );
    expect(await numSub(redis.raw, `${subscriber.namespace}:c:news`)).toBe(1);
    // Still exactly one subscription per topic, so each message arrives once.
    const seen = channel.values.length;
    await publisher.publish('news', 'once');
    await channel.some((v) => v === 'once');
    await sleep(50);
    expect(channel.values.length).toBe(seen + 1);
  });

  /** After a restart, writes `write()` until `changes` shows it: pub/sub drops what is published while a subscriber reconnects. */
  async function writeUntilSeen<T>(write: (attempt: number) => Promise<T>, seen: () => boolean, what: string): Promise<T> {
    let attempt = 0;
    let result: T | undefined;
    await eventually(
      async () => {
        result = await write(attempt++);
        await waitUntil(seen, what, 200);
      },
      what,
      RECOVER_WITHIN_MS,
      0,
    );
    return result!;
  }

  it('changes and watch see writes again after a restart, and revisions do not go back', async () => {
    const watcher = newStore();
    const writer = newStore(watcher.namespace);
    const changes = rec(watcher.changes<number>('*'));
    const watch = rec(watcher.watch<number>('k'));
    await watch.count(1);
    for (let i = 1; i <= 10; i++) await writer.set('k', i);
    await watch.some((v) => v === 10, 'the last write before the restart');
    const highest = changes.values.at(-1)!.revision;
    await redis.server.restart();
    const revision = await writeUntilSeen(
      (attempt) => writer.set('k', 100 + attempt),
      () => changes.values.some((e) => (e.value ?? 0) >= 100),
      'the changes subscription to receive a write made after the restart',
    );
    // A restart without persistence loses the counter with the data, but every store that
    // reconnects raises it past the highest revision it has seen: revisions never go back.
    expect(revision).toBeGreaterThan(highest);
    // A watcher of the key must see its new value too, whatever its revision.
    await watch.some((v) => (v ?? 0) >= 100, 'watch to emit a value written after the restart', 2_000);
  });

  it('expire events still arrive after a restart', async () => {
    const store = newStore();
    const changes = rec(store.changes('*'));
    await store.stats();
    await store.set('t1', 1, { ttlMs: 100 });
    await changes.some((e) => e.type === 'expire' && e.key === 't1', 'an expire event before the restart', 3_000);
    await redis.server.restart();
    await writeUntilSeen(
      (attempt) => store.set('sentinel', attempt),
      () => changes.values.some((e) => e.key === 'sentinel'),
      'changes to work again after the restart',
    );
    await store.set('t2', 2, { ttlMs: 100 });
    await waitUntil(async () => !(await store.has('t2')), 't2 to expire', 3_000);
    await changes.some((e) => e.type === 'expire' && e.key === 't2', 'an expire event after the restart', 3_000);
  });

  it('a subscription made while Redis is down does not hold other commands past the bound, and works once Redis is back', async () => {
    const store = newStore();
    const publisher = newStore(store.namespace);
    await store.set('k', 1);
    await redis.server.kill();
    const late = rec(store.channel<string>('late'));
    await expectBackendErrorWithin(store.get('k'), FAIL_WITHIN_MS + COMMAND_TIMEOUT_MS, 'a get issued after the subscription');
    await redis.server.start();
    await eventually(
      async () => {
        await publisher.publish('late', 'hello');
        await waitUntil(() => late.values.includes('hello') || late.error !== undefined, 'the late subscription', 200);
      },
      'the late subscription to receive',
      RECOVER_WITHIN_MS,
      0,
    );
  });

  it('no acknowledged write is lost when connections drop (CLIENT KILL) and the server lives on; subscriptions come back', async () => {
    // CLIENT KILL TYPE normal drops every client of the server: never on one we do not own.
    if (redis.server.external)
      throw new Error(
        `Refusing to CLIENT KILL the connections of the Redis at REDIS_URL (${redis.url}): this test needs a private redis-server`,
      );
    const store = newStore();
    const publisher = newStore(store.namespace);
    const heard = rec(store.channel<string>('bus'));
    await store.stats();
    const acked = new Map<string, number>();
    let failed = 0;
    const writes = Array.from({ length: 400 }, async (_, i) => {
      if (i >= 200) await sleep(5);
      try {
        acked.set(`w${i}`, await store.set(`w${i}`, i));
      } catch (error) {
        expect((error as KvbusError).code).toBe('ERR_BACKEND');
        failed++;
      }
    });
    await waitUntil(() => acked.size >= 50, 'some writes to be acknowledged');
    const killed =
      Number(await redis.raw.sendCommand(['CLIENT', 'KILL', 'TYPE', 'normal'])) +
      Number(await redis.raw.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']));
    expect(killed).toBeGreaterThanOrEqual(2);
    await Promise.all(writes);
    expect(acked.size + failed).toBe(400);
    // Every acknowledged write is there, with the revision it was acknowledged with.
    await eventually(() => store.get('w0'), 'reads after the reconnect', RECOVER_WITHIN_MS);
    for (const [key, revision] of acked) {
      const entry = await store.getEntry(key);
      expect(entry, key).toEqual({ value: Number(key.slice(1)), revision });
    }
    await eventually(
      async () => {
        await publisher.publish('bus', 'back');
        await waitUntil(() => heard.values.includes('back'), 'the channel after CLIENT KILL', 200);
      },
      'the subscription to receive after CLIENT KILL',
      RECOVER_WITHIN_MS,
      0,
    );
  });

  it('close() resolves within a bound while Redis is down, even with a subscription pending', async () => {
    const store = newStore();
    await store.set('k', 1);
    await redis.server.kill();
    const late = rec(store.channel('late'));
    await sleep(COMMAND_TIMEOUT_MS);
    const started = Date.now();
    const closed = await Promise.race([store.close().then(() => true), sleep(3_000).then(() => false)]);
    expect(closed, `close() had not resolved after ${Date.now() - started} ms`).toBe(true);
    // The subscription could not be made within commandTimeoutMs: it failed with ERR_BACKEND
    // (or, had close() come first, completed). Either way it is over, not hanging.
    if (late.error !== undefined) expect((late.error as { code?: string }).code).toBe('ERR_BACKEND');
    else expect(late.completed).toBe(true);
  });
});
