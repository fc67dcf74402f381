// snapshot() on Redis: entries with their revisions and the revision they were
// read at, in one step (the SNAPSHOT script), even while another process writes;
// snapshot then changesSince(revision) rebuilds the keyspace exactly.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Backend, Entry, MainStore } from 'kvbus';
import { redisBackend } from 'kvbus/redis';
import { afterEach, expect, it } from 'vitest';
import { messageFrom } from '../helpers/processes.js';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { Resources } from '../helpers/resources.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { sleep, waitUntil } from '../helpers/wait.js';

const WRITER = fileURLToPath(new URL('./fixtures/history-writer.mjs', import.meta.url));
const KEYS = 10_000;

type Snap = { revision: number; entries: Map<string, Entry> };

describeRedis('redis: snapshot', () => {
  const redis = useRedisServer();
  const res = new Resources();
  afterEach(() => res.cleanup());

  async function open(): Promise<{ store: MainStore; backend: Backend; ns: string }> {
    const ns = uniqueNamespace('snap');
    const backend = redisBackend({ url: redis.url });
    const store = res.store({ backend, namespace: ns });
    await store.ready();
    return { store, backend, ns };
  }

  it('reads the matching entries with their revisions, and the revision they were read at', async () => {
    const { store, backend } = await open();
    await store.set('a:1', { x: 1 });
    await store.set('b:1', 'b');
    await store.set('a:gone', 1, { ttlMs: 30 });
    const r = await store.set('a:2', [2]);
    await sleep(80); // a:gone has expired in Redis (whether or not it was removed yet)
    const snap = await backend.snapshot('a:*');
    expect(snap.revision).toBeGreaterThanOrEqual(r);
    expect([...snap.entries].sort(([a], [b]) => a.localeCompare(b))).toEqual([
      ['a:1', { value: { x: 1 }, revision: 1 }],
      ['a:2', { value: [2], revision: r }],
    ]);
    const all = await backend.snapshot(undefined);
    expect([...all.entries.keys()].sort()).toEqual(['a:1', 'a:2', 'b:1']);
  });

  it('is one instant while another process writes 10 000 keys; snapshot + changesSince(revision) rebuilds the keyspace', async () => {
    const { backend, ns } = await open();
    const child = res.child(fork(WRITER, [redis.url, ns, String(KEYS), '8'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
    await messageFrom(child, (m) => m?.type === 'ready', 'the writer to be ready', 20_000);
    let writing = true;
    const done = messageFrom(child, (m) => m?.type === 'done', 'the writer to finish', 60_000);
    done.then(
      () => (writing = false),
      () => (writing = false),
    );
    child.send('go');
    const snaps: Snap[] = [];
    while (writing) {
      snaps.push(await backend.snapshot('w:*'));
      await sleep(25);
    }
    await done;
    const midway = snaps.filter((s) => s.entries.size > 0 && s.entries.size < KEYS);
    expect(midway.length).toBeGreaterThanOrEqual(3);

    // Each key was written once: its revision is in the history.
    const history = await backend.changesSince(0, 'w:*');
    expect(history).toHaveLength(KEYS);
    const written = new Map(history.map((c) => [c.key, c.revision]));
    for (const snap of midway) {
      const expected = [...written].filter(([, revision]) => revision <= snap.revision).map(([key]) => key);
      expect(snap.entries.size).toBe(expected.length);
      for (const [key, entry] of snap.entries) {
        expect(entry.revision).toBe(written.get(key));
        expect(entry.value).toBe(Number(key.slice(2)));
      }
    }
    // Snapshot then follow: applying the changes after a midway snapshot gives the final keyspace.
    const start = midway[Math.floor(midway.length / 2)]!;
    const view = new Map([...start.entries].map(([key, entry]) => [key, entry.value]));
    for (const change of await backend.changesSince(start.revision, 'w:*')) {
      if (change.type === 'set') view.set(change.key, change.value);
      else if (change.type === 'clear') view.clear();
      else view.delete(change.key);
    }
    const final = await backend.snapshot('w:*');
    expect(view).toEqual(new Map([...final.entries].map(([key, entry]) => [key, entry.value])));
    await waitUntil(() => child.exitCode !== null, 'the writer to exit');
  }, 120_000);
});
