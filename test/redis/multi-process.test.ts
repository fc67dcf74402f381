// Several processes as several machines: two separate Node processes (each with
// its OWN createStore on the same Redis URL and namespace; one of them also runs
// a piscina pool whose tasks use getStore()) plus this test process's own store.
// They increment one key concurrently, publish to each other, see each other's
// key changes, and go on after redis-server is killed and restarted mid-run.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ChangeEvent, createStore, type MainStore } from '../../src/index.js';
import { redisBackend } from '../../src/redis.js';
import { Peer } from '../helpers/peer-process.js';
import { cannotRestartRedis, describeRedis, type RedisServer, startRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { eventually, Recorders, sleep, waitUntil } from '../helpers/wait.js';

const RECOVER_WITHIN_MS = 12_000;

describeRedis('redis: several processes as several machines', () => {
  let server: RedisServer;
  let store: MainStore;
  let plain: Peer;
  let pooled: Peer;
  let namespace: string;
  const { rec, unsubscribeAll } = new Recorders();

  beforeAll(async () => {
    server = await startRedis();
    await server.flushAll();
    namespace = uniqueNamespace('mp');
    store = createStore({ backend: redisBackend({ url: server.url, commandTimeoutMs: 1_000 }), namespace });
    plain = new Peer('A', server.url, namespace, false);
    pooled = new Peer('B', server.url, namespace, true);
    await Promise.all([store.ready(), plain.ready(), pooled.ready()]);
  });

  afterAll(async () => {
    unsubscribeAll();
    // Children go whatever happened: asked to exit, killed if they do not.
    await Promise.all([plain?.stop(), pooled?.stop()]);
    if (server && !server.running) await server.start().catch(() => {});
    await Promise.race([store?.close(), sleep(3_000)]);
    await server?.stop();
  });

  it('three processes (one with a piscina pool) incr one key concurrently: the exact total', async () => {
    const times = 300;
    const mine = Promise.all(
      Array.from({ length: 8 }, async (_, lane) => {
        for (let i = lane; i < times; i += 8) await store.incr('counter');
      }),
    );
    const [, fromPlain, fromPool] = await Promise.all([
      mine,
      plain.request<number>('incr', { key: 'counter', times }),
      pooled.request<number>('incr', { key: 'counter', times }),
    ]);
    expect(fromPlain).toBe(times);
    expect(fromPool).toBe(times);
    expect(await pooled.request('poolThreads')).toBeGreaterThanOrEqual(1);
    expect(await store.get('counter')).toBe(3 * times);
    expect(await plain.request('get', { key: 'counter' })).toBe(3 * times);
  });

  it('they publish to each other, and each sees the others’ messages', async () => {
    const heard = rec(store.channel<{ from: string }>('chat'));
    await store.stats();
    await Promise.all([plain.request('subscribe', { channel: 'chat' }), pooled.request('subscribe', { channel: 'chat' })]);
    await store.publish('chat', { from: 'test' });
    await plain.request('publish', { channel: 'chat', data: { from: 'A', at: new Date(1) } });
    await pooled.request('publish', { channel: 'chat', data: { from: 'B' } });
    await heard.some((m) => m.from === 'A', 'A’s message');
    await heard.some((m) => m.from === 'B', 'B’s message');
    for (const peer of [plain, pooled]) {
      for (const from of ['test', 'A', 'B'])
        await peer.event((e) => e.kind === 'message' && (e.data as { from: string }).from === from, `${from}'s message`);
    }
    // Structured values cross processes through Redis intact.
    const fromA = plain.events.find((e) => e.kind === 'message' && (e.data as { from: string }).from === 'A')!;
    expect((fromA.data as { at: Date }).at).toBeInstanceOf(Date);
    // Publish counts Redis receivers: one subscribed connection per process.
    expect(await store.publish('chat', { from: 'count' })).toBe(3);
  });

  it('each sees the others’ key changes via changes()', async () => {
    const changes = rec(store.changes<string>('peer:*'));
    await store.stats();
    await Promise.all([plain.request('changes', { glob: 'peer:*' }), pooled.request('changes', { glob: 'peer:*' })]);
    await store.set('peer:test', 'from test');
    await plain.request('set', { key: 'peer:A', value: 'from A' });
    await pooled.request('set', { key: 'peer:B', value: 'from B' });
    await changes.some((e: ChangeEvent<string>) => e.key === 'peer:A' && e.value === 'from A', 'A’s write');
    await changes.some((e: ChangeEvent<string>) => e.key === 'peer:B' && e.value === 'from B', 'B’s write');
    for (const peer of [plain, pooled]) {
      for (const key of ['peer:test', 'peer:A', 'peer:B']) {
        await peer.event((e) => e.kind === 'change' && e.event?.type === 'set' && e.event.key === key, `the change of ${key}`);
      }
    }
  });

  it.skipIf(cannotRestartRedis())(
    'redis-server killed and restarted mid-run: the children keep running, go on writing, and their subscriptions receive again',
    async () => {
      const heard = rec(store.channel<{ from: string; n: number }>('bus'));
      await store.stats();
      await Promise.all([plain.request('subscribe', { channel: 'bus' }), pooled.request('subscribe', { channel: 'bus' })]);
      await Promise.all([plain.request('changes', { glob: 'after:*' }), pooled.request('changes', { glob: 'after:*' })]);
      await Promise.all([
        plain.request('startTicker', { key: 'tick:A', everyMs: 50 }),
        pooled.request('startTicker', { key: 'tick:B', everyMs: 50 }),
      ]);
      await waitUntil(
        async () => ((await store.get<number>('tick:A')) ?? 0) >= 3 && ((await store.get<number>('tick:B')) ?? 0) >= 3,
        'both tickers to run',
      );

      await store.set('before-restart', 'lost');
      await server.kill();
      // Writes fail while Redis is down (each within the children's 1 s bound)...
      await waitUntil(async () => (await plain.request<{ failed: number }>('tickStats')).failed > 0, 'A to notice the outage');
      const atRestart = await Promise.all([plain.request<{ ok: number }>('tickStats'), pooled.request<{ ok: number }>('tickStats')]);
      await server.start();

      // ...and go on after the restart, in processes that never stopped.
      expect(plain.child.exitCode).toBeNull();
      expect(pooled.child.exitCode).toBeNull();
      await waitUntil(
        async () => {
          const [a, b] = await Promise.all([plain.request<{ ok: number }>('tickStats'), pooled.request<{ ok: number }>('tickStats')]);
          return a.ok > atRestart[0]!.ok + 3 && b.ok > atRestart[1]!.ok + 3;
        },
        'both children to write again after the restart',
        RECOVER_WITHIN_MS,
      );
      // The restart lost the data (no persistence); the counters start again and grow.
      expect(await eventually(() => store.get('before-restart'), 'a read after the restart', RECOVER_WITHIN_MS)).toBeUndefined();
      expect(await store.get<number>('tick:A')).toBeGreaterThan(0);

      // Their channel subscriptions receive again (pub/sub drops what is sent while a subscriber reconnects: retry).
      let n = 0;
      await eventually(
        async () => {
          await store.publish('bus', { from: 'test', n: ++n });
          await waitUntil(
            () =>
              [plain, pooled].every((peer) =>
                peer.events.some((e) => e.kind === 'message' && e.channel === 'bus' && (e.data as { from: string }).from === 'test'),
              ),
            'both children to hear the bus',
            300,
          );
        },
        'both children to receive on the bus after the restart',
        RECOVER_WITHIN_MS,
        0,
      );

      // And the test process hears them.
      await eventually(
        async () => {
          await Promise.all([
            plain.request('publish', { channel: 'bus', data: { from: 'A', n: 0 } }),
            pooled.request('publish', { channel: 'bus', data: { from: 'B', n: 0 } }),
          ]);
          await waitUntil(
            () => heard.values.some((m) => m.from === 'A') && heard.values.some((m) => m.from === 'B'),
            'the test process to hear A and B',
            300,
          );
        },
        'the test process to hear the children after the restart',
        RECOVER_WITHIN_MS,
        0,
      );

      // Their changes() subscriptions see writes made after the restart.
      await eventually(
        async () => {
          await store.set(`after:${++n}`, n);
          await waitUntil(
            () =>
              [plain, pooled].every((peer) => peer.events.some((e) => e.kind === 'change' && e.event?.key.startsWith('after:') === true)),
            'both children to see a change',
            300,
          );
        },
        'both children to see changes after the restart',
        RECOVER_WITHIN_MS,
        0,
      );

      // A child whose feed had not heard the last change before the kill lost it with the data: its
      // changes() ended with ERR_COMPACTED (the fixture follows again), never with anything else.
      for (const peer of [plain, pooled]) {
        for (const e of peer.events.filter((e) => e.kind === 'changes-error'))
          expect(e.error?.code, e.error?.message).toBe('ERR_COMPACTED');
      }
      expect(plain.child.exitCode).toBeNull();
      expect(pooled.child.exitCode).toBeNull();

      // Still three exact incrementers.
      await store.delete('counter2');
      await Promise.all([
        store.incr('counter2', 10),
        plain.request('incr', { key: 'counter2', times: 20 }),
        pooled.request('incr', { key: 'counter2', times: 20 }),
      ]);
      expect(await store.get('counter2')).toBe(50);
    },
  );
});
