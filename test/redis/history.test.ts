// The history stream of the Redis backend: every kind of write appends its
// change events to `ns:history` in the same script (one entry per script call,
// its ID the revision of its last event, the value as the serializer gives
// it), the stream is capped near maxEvents,
// changesSince replays it (glob, clear, compaction, holes), and `history` is validated.
import { type Backend, type ChangeEvent, KvbusError, type MainStore } from 'kvbus';
import { redisBackend } from 'kvbus/redis';
import { afterEach, describe, expect, it } from 'vitest';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { Resources } from '../helpers/resources.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { Recorders } from '../helpers/wait.js';

type Raw = Array<[string, string[]]>;

/** 1, 2, … n. */
const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describeRedis('redis: the history stream', () => {
  const redis = useRedisServer();
  const res = new Resources();
  const { rec, unsubscribeAll } = new Recorders();
  afterEach(async () => {
    unsubscribeAll();
    await res.cleanup();
  });

  /** A store on a fresh namespace, and its backend (for changesSince and snapshot, which the actor calls). */
  async function open(options: Parameters<typeof redisBackend>[0] = {}): Promise<{ store: MainStore; backend: Backend; ns: string }> {
    const ns = uniqueNamespace('hist');
    const backend = redisBackend({ url: redis.url, ...options });
    const store = res.store({ backend, namespace: ns });
    await store.ready();
    return { store, backend, ns };
  }

  const xrange = async (ns: string): Promise<Raw> => (await redis.raw.sendCommand(['XRANGE', `${ns}:history`, '-', '+'])) as Raw;

  it('every kind of write appends its events, one entry per script call with its last revision as the ID', async () => {
    const { store, backend, ns } = await open();
    const events = rec(store.changes('*')); // so that expiry is announced (and the EXPIRED script runs)
    const r1 = await store.set('plain', { a: 1 });
    const r2 = await store.set('ttl', 'soon', { ttlMs: 150 });
    const r3 = await store.set('plain', { a: 2 }, { ifRevision: r1 });
    expect(await store.incr('n', 5)).toBe(5);
    expect(await store.delete('plain')).toBe(true);
    const tx = await store.transaction([
      { op: 'set', key: 'tx', value: [1, 2] },
      { op: 'incr', key: 'n', by: 2 },
      { op: 'delete', key: 'n' },
    ]);
    const lock = await store.lock('l');
    await store.set('fenced', 'yes', { fence: lock });
    await lock.release();
    await store.update('tx', (old) => [...(old as number[]), 3]);
    await events.some((e) => e.type === 'expire' && e.key === 'ttl', 'the expiry of ttl');
    await store.clear();
    await events.some((e) => e.type === 'clear', 'the clear');

    const history = await backend.changesSince(0, undefined);
    const brief = history.map((c) => [c.type, c.key, c.type === 'set' ? c.value : undefined]);
    expect(brief).toEqual([
      ['set', 'plain', { a: 1 }],
      ['set', 'ttl', 'soon'],
      ['set', 'plain', { a: 2 }],
      ['set', 'n', 5],
      ['delete', 'plain', undefined],
      ['set', 'tx', [1, 2]],
      ['set', 'n', 7],
      ['delete', 'n', undefined],
      ['set', 'fenced', 'yes'],
      ['set', 'tx', [1, 2, 3]],
      ['expire', 'ttl', undefined],
      ['clear', '*', undefined],
    ]);
    // Revisions: consecutive from 1, the ones the writes answered, and the stream's IDs.
    expect(history.map((c) => c.revision)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect([r1, r2, r3]).toEqual([1, 2, 3]);
    expect(tx).toEqual([6, 7, 8]);
    // The transaction (revisions 6 to 8) is one entry of three events; every other write one of its own.
    const entries = await xrange(ns);
    expect(entries.map(([id]) => String(id))).toEqual(['1-0', '2-0', '3-0', '4-0', '5-0', '8-0', '9-0', '10-0', '11-0', '12-0']);
    expect(entries[5]![1].map(String).filter((_, i) => i % 2 === 0)).toEqual([`${ns}:k:tx`, `${ns}:k:n`, `${ns}:k:n`]);
    expect(entries[5]![1].map(String).filter((_, i) => i % 2 === 1)).toEqual([expect.stringMatching(/^v6\|/), 'n7|7', 'd8']);
    // What the live subscriber heard is what the stream holds.
    expect(events.values.map((e: ChangeEvent) => e.revision)).toEqual(history.map((c) => c.revision));
  });

  it('a tick of sets (BATCH scripts of 128) appends each of them; a replay may start inside an entry', async () => {
    const { store, backend, ns } = await open();
    const revisions = await Promise.all(
      Array.from({ length: 300 }, (_, i) => store.set(`k:${i}`, i, i % 7 === 0 ? { ttlMs: 60_000 } : {})),
    );
    const history = await backend.changesSince(0, undefined);
    expect(history.map((c) => c.revision)).toEqual(revisions);
    expect(history.map((c) => (c.type === 'set' ? c.value : null))).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect((await xrange(ns)).length).toBeLessThan(10); // a few XADDs, not 300
    expect((await backend.changesSince(150, undefined)).map((c) => c.revision)).toEqual(revisions.slice(150));
  });

  it('is capped near maxEvents; since older than the stream is ERR_COMPACTED with the oldest revision', async () => {
    const { store, backend, ns } = await open({ history: { maxEvents: 100 } });
    for (let i = 0; i < 1000; i++) await store.set(`k:${i}`, i); // one entry each
    const length = Number(await redis.raw.sendCommand(['XLEN', `${ns}:history`]));
    // MINID ~ trims whole stream nodes (100 entries each by default): at least maxEvents revisions stay.
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThanOrEqual(300);
    const oldest = 1000 - length + 1;
    const error = await Promise.resolve(backend.changesSince(0, undefined)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KvbusError);
    expect(error).toMatchObject({ code: 'ERR_COMPACTED', oldestRevision: oldest });
    await expect(backend.changesSince(oldest - 2, undefined)).rejects.toMatchObject({ code: 'ERR_COMPACTED', oldestRevision: oldest });
    expect((await backend.changesSince(oldest - 1, undefined)).map((c) => c.revision)).toEqual(upTo(1000).slice(oldest - 1));

    // Batched writes (50 events an entry): still at least maxEvents revisions, and the oldest is the first entry's first event.
    for (let i = 0; i < 1000; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => store.set(`k:${i + j}`, i + j)));
    const entries = await xrange(ns);
    const batchedOldest = Number(/^[a-z](\d+)/.exec(String(entries[0]![1][1]))![1]);
    expect(2000 - batchedOldest + 1).toBeGreaterThanOrEqual(100);
    await expect(backend.changesSince(batchedOldest - 2, undefined)).rejects.toMatchObject({
      code: 'ERR_COMPACTED',
      oldestRevision: batchedOldest,
    });
    expect((await backend.changesSince(1900, undefined)).map((c) => c.revision)).toEqual(upTo(2000).slice(1900));
    expect(await backend.changesSince(2000, undefined)).toEqual([]);
    // Past the current revision (a recreated store): ERR_COMPACTED, never a silent wait.
    await expect(backend.changesSince(5000, undefined)).rejects.toMatchObject({ code: 'ERR_COMPACTED', oldestRevision: 2001 });
  });

  it('filters by glob, and a clear always matches', async () => {
    const { store, backend } = await open();
    await store.set('a:1', 1);
    await store.set('b:1', 1);
    await store.clear();
    await store.set('a:2', 2);
    const replay = await backend.changesSince(1, 'a:*');
    expect(replay.map((c) => [c.type, c.key, c.revision])).toEqual([
      ['clear', '*', 3],
      ['set', 'a:2', 4],
    ]);
  });

  it('maxEvents: 0 keeps no stream; any replay from before now is ERR_COMPACTED at current + 1', async () => {
    const { store, backend, ns } = await open({ history: { maxEvents: 0 } });
    await store.set('a', 1);
    await store.set('b', 2);
    expect(Number(await redis.raw.sendCommand(['EXISTS', `${ns}:history`]))).toBe(0);
    await expect(backend.changesSince(0, undefined)).rejects.toMatchObject({ code: 'ERR_COMPACTED', oldestRevision: 3 });
    expect(await backend.changesSince(2, undefined)).toEqual([]);
  });

  it('a hole left by a process without history fails the replay with ERR_COMPACTED, never hides it', async () => {
    const { store, backend, ns } = await open();
    const blind = res.store({ backend: redisBackend({ url: redis.url, history: { maxEvents: 0 } }), namespace: ns });
    await store.set('a', 1); // 1
    await blind.set('b', 1); // 2: not in the stream
    await store.set('c', 1); // 3
    await store.set('d', 1); // 4
    await expect(backend.changesSince(0, undefined)).rejects.toMatchObject({ code: 'ERR_COMPACTED', oldestRevision: 3 });
    expect((await backend.changesSince(2, undefined)).map((c) => c.revision)).toEqual([3, 4]);
    await blind.set('e', 1); // 5: a hole at the tail
    await expect(backend.changesSince(2, undefined)).rejects.toMatchObject({ code: 'ERR_COMPACTED', oldestRevision: 6 });
  });
});

describe('redisBackend({ history }) validation', () => {
  it.each([['x'], [null], [{ maxEvents: -1 }], [{ maxEvents: 1.5 }], [{ maxEvents: '10' }], [{ maxEvents: Number.NaN }]])(
    'refuses %j with ERR_BAD_ARGUMENT naming the option',
    (history) => {
      expect(() => redisBackend({ url: 'redis://127.0.0.1:1', history: history as never })).toThrow(
        expect.objectContaining({ code: 'ERR_BAD_ARGUMENT', message: expect.stringMatching(/`history(\.maxEvents)?`/) }),
      );
    },
  );
});
