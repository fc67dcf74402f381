// Change feeds across threads and processes (SPEC §7), with the built package:
// ERR_COMPACTED keeps its oldestRevision in a worker and a child; a slow worker
// subscriber loses nothing (it pauses and resumes from history); a watch that
// falls behind ends on the latest value; a follower's snapshot-then-follow
// under concurrent writers from a pool's workers misses and repeats nothing.
import { Worker } from 'node:worker_threads';
import { createPool, type KvbusError } from 'kvbus';
import { afterEach, describe, expect, it } from 'vitest';
import { messageFrom } from '../helpers/processes.js';
import { Resources } from '../helpers/resources.js';
import { record, waitUntil } from '../helpers/wait.js';

const CLIENT = new URL('./feeds-fixtures/feed-client.mjs', import.meta.url);
const WRITERS = new URL('./feeds-fixtures/writer-tasks.mjs', import.meta.url).href;
const LONG_MS = 60_000;

const res = new Resources();
afterEach(() => res.cleanup());

const isType = (type: string) => (m: { type?: string } | undefined) => m?.type === type;

describe('change feeds across threads and processes', () => {
  it('ERR_COMPACTED carries oldestRevision from the main thread, a worker and a forked child', async () => {
    const store = res.store({ history: { maxEvents: 10 } });
    for (let i = 0; i < 100; i++) await store.set(`k${i % 7}`, i);

    const main = record(store.changes('*', { since: 5 }));
    await waitUntil(() => main.error !== undefined, 'the main feed to error');
    expect((main.error as KvbusError).code).toBe('ERR_COMPACTED');
    expect((main.error as KvbusError & { oldestRevision: number }).oldestRevision).toBe(91);

    const worker = res.worker(new Worker(CLIENT, { workerData: { mode: 'compacted', since: 5 } }));
    const fromWorker = messageFrom(worker, isType('error'), 'the worker feed to error');
    store.attach(worker);
    expect(await fromWorker).toMatchObject({ code: 'ERR_COMPACTED', oldestRevision: 91 });

    const child = res.child(store.fork(new URL(CLIENT).pathname, [JSON.stringify({ mode: 'compacted', since: 5 })]));
    const fromChild = await messageFrom(child, isType('error'), 'the child feed to error');
    expect(fromChild).toMatchObject({ code: 'ERR_COMPACTED', oldestRevision: 91 });
    expect(fromChild.message).toMatch(/starts at revision 91/);
  });

  it('snapshot(glob) from a worker and a forked child: the same entries and revision as in the main thread', async () => {
    const store = res.store();
    for (let i = 0; i < 30; i++) await store.set(`s:${i % 12}`, { i });
    await store.set('other', 1);
    const main = await store.snapshot('s:*');
    const expected = { type: 'snapshot', revision: main.revision, entries: [...main.entries], bad: 'ERR_BAD_ARGUMENT' };

    const worker = res.worker(new Worker(CLIENT, { workerData: { mode: 'snapshot', glob: 's:*' } }));
    const fromWorker = messageFrom(worker, isType('snapshot'), 'the worker snapshot');
    store.attach(worker);
    expect(await fromWorker).toEqual(expected);

    const child = res.child(store.fork(new URL(CLIENT).pathname, [JSON.stringify({ mode: 'snapshot', glob: 's:*' })]));
    expect(await messageFrom(child, isType('snapshot'), 'the child snapshot')).toEqual(expected);
  });

  it('a slow worker subscriber with a 1 000-message buffer receives all 50 000 changes, once each, in order', async () => {
    const COUNT = 50_000;
    const store = res.store({ history: { maxEvents: 60_000 }, subscriberBuffer: { size: 1_000 } });
    const flags = new Int32Array(new SharedArrayBuffer(4));
    const worker = res.worker(new Worker(CLIENT, { workerData: { mode: 'slow-changes', glob: 'n:*', lastKey: 'n:done', flags } }));
    const ready = messageFrom(worker, isType('ready'), 'the subscriber to be ready');
    store.attach(worker);
    await ready;
    const result = messageFrom<{ revisions: number[]; ended: unknown }>(worker, isType('result'), 'all the changes', LONG_MS);

    const written: number[] = [];
    for (let i = 0; i < COUNT; i += 1_000) {
      const burst = Array.from({ length: 1_000 }, (_, j) => store.set(`n:${(i + j) % 2_000}`, i + j));
      written.push(...(await Promise.all(burst)));
    }
    await store.set('other', 'not followed');
    written.push(await store.set('n:done', true));
    Atomics.store(flags, 0, 1); // the subscriber runs again
    const { revisions, ended } = await result;
    expect(ended).toBeNull();
    expect(revisions.length).toBe(COUNT + 1);
    expect(revisions).toEqual(written);
    expect((await store.stats()).dropped).toBe(0);
  }, 90_000);

  it('a slow child process subscriber with a 100-message buffer receives all 10 000 changes, once each, in order', async () => {
    const COUNT = 10_000;
    const store = res.store({ subscriberBuffer: { size: 100 } });
    const options = { mode: 'slow-changes', glob: 'n:*', lastKey: 'n:done', blockMs: 1_000 };
    const child = res.child(store.fork(new URL(CLIENT).pathname, [JSON.stringify(options)]));
    await messageFrom(child, isType('ready'), 'the subscriber to be ready');
    const result = messageFrom<{ revisions: number[]; ended: unknown }>(child, isType('result'), 'all the changes', LONG_MS);
    const written: number[] = [];
    for (let i = 0; i < COUNT; i += 500) {
      written.push(...(await Promise.all(Array.from({ length: 500 }, (_, j) => store.set(`n:${(i + j) % 300}`, i + j)))));
    }
    written.push(await store.set('n:done', true));
    const { revisions, ended } = await result;
    expect(ended).toBeNull();
    expect(revisions).toEqual(written);
    expect((await store.stats()).dropped).toBe(0);
  });

  it('a paused feed whose position history has dropped meanwhile ends with ERR_COMPACTED and oldestRevision', async () => {
    const store = res.store({ history: { maxEvents: 500 }, subscriberBuffer: { size: 100 } });
    const flags = new Int32Array(new SharedArrayBuffer(4));
    const worker = res.worker(new Worker(CLIENT, { workerData: { mode: 'slow-changes', glob: 'n:*', lastKey: 'n:done', flags } }));
    const ready = messageFrom(worker, isType('ready'), 'the subscriber to be ready');
    store.attach(worker);
    await ready;
    const result = messageFrom<{ revisions: number[]; ended: { code: string; oldestRevision: number } | null }>(
      worker,
      isType('result'),
      'the feed to end',
      LONG_MS,
    );
    let last = 0;
    for (let i = 0; i < 2_000; i++) last = await store.set(`n:${i % 50}`, i);
    Atomics.store(flags, 0, 1);
    const { revisions, ended } = await result;
    expect(ended).toMatchObject({ code: 'ERR_COMPACTED', oldestRevision: last - 500 + 1 });
    // What it received before the pause came in order, with no gap.
    expect(revisions).toEqual(Array.from({ length: revisions.length }, (_, i) => i + 1));
    expect(revisions.length).toBeLessThan(2_000);
  });

  it("a channel's drop-oldest next to a feed drops only the channel's messages, never the feed's changes", async () => {
    const store = res.store({ history: { maxEvents: 20_000 }, subscriberBuffer: { size: 100, overflow: 'drop-oldest' } });
    const flags = new Int32Array(new SharedArrayBuffer(4));
    const worker = res.worker(
      new Worker(CLIENT, { workerData: { mode: 'slow-mixed', channel: 'flood', glob: 'c:*', lastKey: 'c:done', flags } }),
    );
    const ready = messageFrom(worker, isType('ready'), 'the subscriber to be ready');
    store.attach(worker);
    await ready;
    const result = messageFrom<{ messages: number[]; revisions: number[] }>(worker, isType('result'), 'the feed to end', LONG_MS);
    const written: number[] = [];
    for (let i = 0; i < 3_000; i++) {
      written.push(await store.set(`c:${i % 10}`, i));
      await store.publish('flood', i);
      await store.publish('flood', -i);
    }
    written.push(await store.set('c:done', true));
    Atomics.store(flags, 0, 1);
    const { messages, revisions } = await result;
    expect(revisions).toEqual(written);
    expect(messages.length).toBeLessThan(6_000); // the channel did overflow and drop
    expect((await store.stats()).dropped).toBe(6_000 - messages.length);
  });

  it("a watch that falls behind ends on the key's latest value", async () => {
    const store = res.store({ subscriberBuffer: { size: 100 } });
    const flags = new Int32Array(new SharedArrayBuffer(4));
    const worker = res.worker(new Worker(CLIENT, { workerData: { mode: 'slow-watch', key: 'w', last: 10_000, flags } }));
    const ready = messageFrom(worker, isType('ready'), 'the watcher to be ready');
    store.attach(worker);
    await ready;
    const result = messageFrom<{ seen: unknown[] }>(worker, isType('result'), 'the latest value', LONG_MS);
    for (let i = 1; i <= 10_000; i++) await store.set('w', i);
    Atomics.store(flags, 0, 1);
    const { seen } = await result;
    expect(seen.at(-1)).toBe(10_000);
    expect(seen.length).toBeLessThan(10_000); // it skipped, rather than replaying every value
    const numbers = seen.filter((v): v is number => typeof v === 'number');
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
  });

  it("a worker's snapshot-then-follow under concurrent writers from a pool misses nothing and repeats nothing", async () => {
    const store = res.store();
    // Everything, as the main thread sees it live from the start.
    const all = record(store.changes('f:*'));
    await store.stats();
    for (let i = 0; i < 20; i++) await store.set(`f:seed${i}`, i);
    const pool = res.pool(createPool({ filename: WRITERS, maxThreads: 2, minThreads: 2, store }));
    const writing = Promise.all(['f:a', 'f:b', 'f:c'].map((prefix) => pool.run({ prefix, count: 3_000, keys: 40 })));
    await waitUntil(async () => ((await store.get<number>('f:an')) ?? 0) > 50, 'the writers to be under way');

    // The follower starts while the writers write.
    const follower = res.worker(new Worker(CLIENT, { workerData: { mode: 'follow', glob: 'f:*', lastKey: 'f:done' } }));
    const ready = messageFrom<{ from: number }>(follower, isType('ready'), 'the follower to be ready', LONG_MS);
    const result = messageFrom<{ from: number; view: Array<[string, unknown]>; revisions: number[] }>(
      follower,
      isType('result'),
      'the follower to reach the end',
      LONG_MS,
    );
    store.attach(follower);
    const { from } = await ready;
    expect(await writing).toEqual([3_000, 3_000, 3_000]);
    const done = await store.set('f:done', true);
    const { view, revisions } = await result;

    await waitUntil(() => all.values.some((e) => e.revision === done), 'the main feed to see the end');
    expect(revisions).toEqual(all.values.map((e) => e.revision).filter((r) => r > from));
    const byKey = (entries: Iterable<[string, unknown]>) => [...entries].sort(([a], [b]) => (a < b ? -1 : 1));
    expect(byKey(view)).toEqual(byKey(await store.getAll('f:*')));
  }, 90_000);
});
