// Exactly once across reconnects: a follower's `changes()` keeps every revision,
// once, in order, while its Redis connections are killed again and again under
// a writer in another process, and across a Redis restart with an append-only
// file. (pub/sub alone loses what is published while the subscriber is away:
// the feed resumes from the history stream, see change-feed.ts.)
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Backend, isKvbusError, type KeyChange, type KvbusError, type MainStore } from 'kvbus';
import { redisBackend } from 'kvbus/redis';
import { afterEach, expect, it } from 'vitest';
import { testContext } from '../helpers/backend-context.js';
import { messageFrom } from '../helpers/processes.js';
import type { RawClient } from '../helpers/redis-client.js';
import { describeRedis, describeRestartable, uniqueNamespace } from '../helpers/redis-server.js';
import { Resources } from '../helpers/resources.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { sleep, waitUntil } from '../helpers/wait.js';

const WRITER = fileURLToPath(new URL('./fixtures/history-writer.mjs', import.meta.url));
const KEYS = 10_000;

/** Follows `w:*` with `changes()`: the revisions heard, in the order heard. */
async function follow(store: MainStore): Promise<{ heard: number[]; failure(): unknown; stop(): void }> {
  const heard: number[] = [];
  let failure: unknown;
  const subscription = store.changes('w:*').subscribe({ next: (event) => heard.push(event.revision), error: (error) => (failure = error) });
  await store.stats(); // the subscription is active once the next command ran
  return { heard, failure: () => failure, stop: () => subscription.unsubscribe() };
}

/** 1, 2, … n. */
const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

/** Kills every connection of the clients named `name` (CLIENT KILL by ID); returns how many. */
async function killClients(raw: RawClient, name: string): Promise<number> {
  const list = String(await raw.sendCommand(['CLIENT', 'LIST']));
  const ids = list
    .split('\n')
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => /\bid=(\d+)/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined);
  for (const id of ids) await raw.sendCommand(['CLIENT', 'KILL', 'ID', id]).catch(() => {});
  return ids.length;
}

describeRedis('redis: changes() exactly once across killed connections', () => {
  const redis = useRedisServer();
  const res = new Resources();
  afterEach(() => res.cleanup());

  it('repeated CLIENT KILL of the follower while a child process writes 10 000 keys: every revision once, in order', async () => {
    const ns = uniqueNamespace('kill');
    const name = `follower-${process.pid}`;
    const store = res.store({ backend: redisBackend({ url: redis.url, name, commandTimeoutMs: 2_000 }), namespace: ns });
    const follower = await follow(store);
    const child = res.child(fork(WRITER, [redis.url, ns, String(KEYS), '8'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
    await messageFrom(child, (m) => m?.type === 'ready', 'the writer to be ready', 20_000);
    let writing = true;
    const done = messageFrom<{ sets: number; failed: number }>(child, (m) => m?.type === 'done', 'the writer to finish', 60_000);
    done.then(
      () => (writing = false),
      () => (writing = false),
    );
    child.send('go');
    let kills = 0;
    let killedWhileBehind = 0;
    while (writing) {
      await sleep(30);
      const killed = await killClients(redis.raw, name);
      if (killed > 0) kills++;
      if (killed > 0 && follower.heard.length < KEYS) killedWhileBehind++;
    }
    const written = await done;
    expect(written.sets, 'the writer (never killed) to have every set acknowledged').toBe(KEYS);
    expect(kills, 'kills').toBeGreaterThanOrEqual(5);
    expect(killedWhileBehind, 'kills while the follower was behind').toBeGreaterThanOrEqual(5);
    await waitUntil(() => follower.heard.length >= KEYS, `the follower to hear ${KEYS} changes (heard ${follower.heard.length})`, 30_000);
    await sleep(200); // a duplicate would come now
    follower.stop();
    const missing = upTo(KEYS).filter((revision) => !follower.heard.includes(revision));
    const outOfOrder = follower.heard.filter((revision, i) => i > 0 && revision <= follower.heard[i - 1]!);
    expect({ missing, outOfOrder, count: follower.heard.length }).toEqual({ missing: [], outOfOrder: [], count: KEYS });
  }, 120_000);
});

describeRedis('redis: changes() across a long outage (the follower locked out by ACL)', () => {
  const redis = useRedisServer();
  const res = new Resources();
  afterEach(() => res.cleanup());

  it('gets every change written meanwhile; a hole left by a writer without history ends it with ERR_COMPACTED', async () => {
    const ns = uniqueNamespace('acl');
    const user = `follower${process.pid}`;
    await redis.raw.sendCommand(['ACL', 'SETUSER', user, 'on', '>secret', '~*', '&*', '+@all']);
    const url = new URL(redis.url);
    url.username = user;
    url.password = 'secret';
    const follower = await follow(res.store({ backend: redisBackend({ url: url.href, commandTimeoutMs: 500 }), namespace: ns }));
    const writer = res.store({ backend: redisBackend({ url: redis.url }), namespace: ns });
    const blind = res.store({ backend: redisBackend({ url: redis.url, history: { maxEvents: 0 } }), namespace: ns });
    /** Keeps the follower out (it cannot authenticate) while `fn` writes. */
    const outage = async (fn: () => Promise<unknown>) => {
      await redis.raw.sendCommand(['ACL', 'SETUSER', user, 'off']);
      await redis.raw.sendCommand(['CLIENT', 'KILL', 'USER', user]);
      await fn();
      await redis.raw.sendCommand(['ACL', 'SETUSER', user, 'on']);
    };
    await writer.set('w:first', 0); // 1
    await waitUntil(() => follower.heard.length === 1, 'the follower to hear revision 1');
    await outage(() => Promise.all(Array.from({ length: 500 }, (_, i) => writer.set(`w:${i}`, i)))); // 2..501
    await waitUntil(() => follower.heard.length >= 501, `the follower to catch up (heard ${follower.heard.length})`);
    expect(follower.heard).toEqual(upTo(501));
    await outage(() => blind.set('w:blind', 1)); // 502: published while the follower is away, not in the stream
    await writer.set('w:after', 1); // 503
    // The feed lost 502: it must not go on as if whole (lost-changes.ts), so changes() ends, saying
    // where it has every change again (503); the subscriber starts over from a snapshot.
    await waitUntil(() => follower.failure() !== undefined, `changes() to fail (heard ${follower.heard.slice(-3)})`, 20_000);
    const failure = follower.failure() as KvbusError & { oldestRevision?: number };
    expect(isKvbusError(failure)).toBe(true);
    expect(failure.code).toBe('ERR_COMPACTED');
    expect(failure.oldestRevision).toBe(503);
    await writer.set('w:later', 1); // 504: nothing comes after the error
    await sleep(200);
    follower.stop();
    expect(follower.heard).toEqual(upTo(501));
  }, 60_000);
});

describeRedis('redis backend: lost changes are reported, never skipped silently', () => {
  const redis = useRedisServer();
  const res = new Resources();
  afterEach(() => res.cleanup());

  it('a resume that finds revisions in neither the stream nor pub/sub hands them to changesLost, then goes on', async () => {
    const ns = uniqueNamespace('lost');
    const user = `lost${process.pid}`;
    await redis.raw.sendCommand(['ACL', 'SETUSER', user, 'on', '>secret', '~*', '&*', '+@all']);
    const url = new URL(redis.url);
    url.username = user;
    url.password = 'secret';
    // The backend alone, opened with a context of our own: the store does not take changesLost yet.
    const backend = redisBackend({ url: url.href, commandTimeoutMs: 500 });
    const heard: KeyChange[] = [];
    const lost: Array<[number, number]> = [];
    const context = testContext(ns, {
      emitChange: (change) => void heard.push(change),
      watchingKeys: true,
      changesLost: (after, oldest) => void lost.push([after, oldest]),
    });
    await backend.open(context as unknown as Parameters<Backend['open']>[0]);
    try {
      await backend.interest({ kind: 'changes', name: '*' }, true);
      const blind = res.store({ backend: redisBackend({ url: redis.url, history: { maxEvents: 0 } }), namespace: ns });
      const writer = res.store({ backend: redisBackend({ url: redis.url }), namespace: ns });
      await writer.set('a', 1); // 1
      await waitUntil(() => heard.length === 1, 'revision 1');
      await redis.raw.sendCommand(['ACL', 'SETUSER', user, 'off']);
      await redis.raw.sendCommand(['CLIENT', 'KILL', 'USER', user]);
      await writer.set('b', 1); // 2: in the stream
      await blind.set('c', 1); // 3: nowhere the follower can find it
      await blind.set('d', 1); // 4
      await writer.set('e', 1); // 5: in the stream
      await redis.raw.sendCommand(['ACL', 'SETUSER', user, 'on']);
      await waitUntil(() => heard.length === 3, `revisions 2 and 5 (heard ${heard.map((c) => c.revision)})`);
      expect(heard.map((c) => [c.key, c.revision])).toEqual([
        ['a', 1],
        ['b', 2],
        ['e', 5],
      ]);
      expect(lost).toEqual([[2, 5]]);
      await writer.set('f', 1); // 6: live again
      await waitUntil(() => heard.length === 4, 'revision 6');
      expect(lost).toHaveLength(1);
    } finally {
      await backend.close();
    }
  }, 60_000);
});

describeRestartable('redis: changes() resume across a Redis restart (appendonly)', () => {
  const redis = useRedisServer({ persistent: true });
  const res = new Resources();
  afterEach(async () => {
    if (!redis.server.running) await redis.server.start();
    await res.cleanup();
  });

  it('nothing lost, nothing repeated, in order', async () => {
    const ns = uniqueNamespace('aofresume');
    const follower = await follow(res.store({ backend: redisBackend({ url: redis.url, commandTimeoutMs: 500 }), namespace: ns }));
    const writer = res.store({ backend: redisBackend({ url: redis.url, commandTimeoutMs: 500 }), namespace: ns });
    await writer.ready();
    let stop = false;
    let acked = 0;
    let next = 0;
    const lane = async () => {
      while (!stop) {
        try {
          await writer.set(`w:${next++}`, next);
          acked++;
        } catch {
          await sleep(2);
        }
      }
    };
    const lanes = Promise.all([lane(), lane(), lane(), lane()]);
    await waitUntil(() => acked >= 500, '500 writes before the restart');
    await redis.server.kill();
    await sleep(300);
    await redis.server.start();
    const after = acked;
    await waitUntil(() => acked >= after + 2_000, '2 000 writes after the restart', 20_000);
    stop = true;
    await lanes;
    await sleep(1_000); // a write that timed out in node-redis's queue may still land
    const current = Number(await redis.raw.sendCommand(['GET', `${ns}:rev`]));
    expect(current).toBeGreaterThanOrEqual(2_500);
    await waitUntil(
      () => follower.heard.length >= current,
      `the follower to hear ${current} changes (heard ${follower.heard.length})`,
      20_000,
    );
    await sleep(200);
    follower.stop();
    expect(follower.heard).toEqual(upTo(current));
  }, 60_000);
});
