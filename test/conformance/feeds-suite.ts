// Conformance of lossless change feeds (SPEC §7), the same on every backend:
// history, `changes(glob, { since })`, ERR_COMPACTED with `oldestRevision`, and
// `snapshot(glob)`. Every case needs the backend's history and snapshot, so on
// Redis the whole block fails until the Redis Stream history is built (branch
// redisfeeds); on memory it runs now.
import { describe, expect, it } from 'vitest';
import { type Backend, type ChangeEvent, createStore, type KvbusError, type MainStore, memoryBackend } from '../../src/index.js';
import { expectCode, expectThrowsCode } from '../helpers/errors.js';
import { uniqueNamespace } from '../helpers/redis-server.js';
import { type Recorder, sleep, waitUntil } from '../helpers/wait.js';
import { type MakeStore, suiteStores } from './suite.js';

/** A backend of the suite's kind keeping `maxEvents` change events (Redis trims near it). */
export type MakeHistoryBackend = (maxEvents: number) => Backend;

const show = (events: readonly ChangeEvent[]) =>
  events.map((e) => `${e.type}:${e.key}@${e.revision}${e.type === 'set' ? `=${JSON.stringify(e.value)}` : ''}`);

/** Applies one change to a view of the keyspace (the follower's side of snapshot-then-follow). */
export function applyChange(view: Map<string, unknown>, event: ChangeEvent): void {
  if (event.type === 'set') view.set(event.key, event.value);
  else if (event.type === 'clear') view.clear();
  else view.delete(event.key);
}

/**
 * Registers the change-feed conformance cases for one backend.
 * @param name - the backend's name, for test titles
 * @param makeStore - a fresh store on that backend (default history)
 * @param historyBackend - a backend of that kind with a given history size
 */
export function feedsConformance(name: string, makeStore: MakeStore, historyBackend: MakeHistoryBackend): void {
  describe(`change feeds conformance: ${name}`, () => {
    const { newStore, rec } = suiteStores(`${name}-feeds`, makeStore);
    const stores: MainStore[] = [];
    const storeWithHistory = (maxEvents: number) => {
      const store = createStore({ backend: historyBackend(maxEvents), namespace: uniqueNamespace(`${name}-history`) });
      stores.push(store);
      return store;
    };
    const closeAll = async () => {
      for (const store of stores.splice(0)) await store.close().catch(() => {});
    };
    /** Records a feed, and waits until its subscription is active (a catch-up included). */
    const follow = async (store: MainStore, glob: string, since?: number): Promise<Recorder<ChangeEvent>> => {
      const recorder = rec(store.changes(glob, since === undefined ? undefined : { since }));
      await store.stats();
      return recorder;
    };

    describe('snapshot(glob)', () => {
      it('reads the matching entries with their revisions, and the revision they were read at', async () => {
        const store = await newStore();
        const r1 = await store.set('user:1', { name: 'Ada' });
        const r2 = await store.set('user:2', { name: 'Lin' });
        await store.set('job:1', 'queued');
        const snap = await store.snapshot('user:*');
        expect(snap.revision).toBe(r2 + 1);
        expect([...snap.entries].sort()).toEqual([
          ['user:1', { value: { name: 'Ada' }, revision: r1 }],
          ['user:2', { value: { name: 'Lin' }, revision: r2 }],
        ]);
        const all = await store.snapshot();
        expect([...all.entries.keys()].sort()).toEqual(['job:1', 'user:1', 'user:2']);
        expect((await store.snapshot('nothing:*')).entries.size).toBe(0);
      });

      it('answers copies: changing them changes nothing in the store', async () => {
        const store = await newStore();
        await store.set('doc', { n: 1 });
        const snap = await store.snapshot('doc');
        (snap.entries.get('doc')!.value as { n: number }).n = 99;
        expect(await store.get('doc')).toEqual({ n: 1 });
      });

      it('rejects a bad glob', async () => {
        const store = await newStore();
        await expectCode(store.snapshot(''), 'ERR_BAD_ARGUMENT');
        await expectCode(store.snapshot(42 as unknown as string), 'ERR_BAD_ARGUMENT');
      });
    });

    describe('changes(glob, { since })', () => {
      it('replays the retained changes after `since` in revision order, then live ones, none missed or repeated', async () => {
        const store = await newStore();
        const since = await store.set('a', 1);
        await store.set('b', 2);
        await store.delete('a');
        await store.incr('n', 5);
        await store.set('other', 'x');
        const feed = await follow(store, '*', since);
        await store.set('a', 'live');
        await feed.count(5);
        expect(show(feed.values)).toEqual(
          show([
            { type: 'set', key: 'b', value: 2, revision: since + 1 },
            { type: 'delete', key: 'a', revision: since + 2 },
            { type: 'set', key: 'n', value: 5, revision: since + 3 },
            { type: 'set', key: 'other', value: 'x', revision: since + 4 },
            { type: 'set', key: 'a', value: 'live', revision: since + 5 },
          ]),
        );
      });

      it('replays only the keys the glob matches, and every clear', async () => {
        const store = await newStore();
        await store.set('job:1', 'a');
        await store.set('user:1', 'b');
        await store.clear();
        await store.set('job:2', 'c');
        const feed = await follow(store, 'job:*', 0);
        await store.set('job:3', 'live');
        await feed.count(4);
        expect(feed.values.map((e) => `${e.type}:${e.key}`)).toEqual(['set:job:1', 'clear:*', 'set:job:2', 'set:job:3']);
      });

      it('from the current revision: only live changes', async () => {
        const store = await newStore();
        await store.set('a', 1);
        const { revision } = await store.snapshot();
        const feed = await follow(store, '*', revision);
        await store.set('b', 2);
        await feed.count(1);
        await store.set('sentinel', 0);
        await feed.count(2);
        expect(feed.values.map((e) => e.key)).toEqual(['b', 'sentinel']);
      });

      it('replays expiries and deletes of keys with a TTL', async () => {
        const store = await newStore();
        const since = await store.set('short', 1, { ttlMs: 50 });
        await waitUntil(async () => !(await store.has('short')), 'the key to expire', 5_000);
        await sleep(20);
        const feed = await follow(store, '*', since);
        await store.set('sentinel', 0);
        await feed.some((e) => e.key === 'sentinel');
        expect(feed.values.map((e) => `${e.type}:${e.key}`)).toEqual(['expire:short', 'set:sentinel']);
      });

      it('a snapshot then changes from its revision rebuild the keyspace while another writer goes on', async () => {
        const store = await newStore();
        for (let i = 0; i < 50; i++) await store.set(`k:${i % 10}`, i);
        let writing = true;
        const writer = (async () => {
          for (let i = 0; writing && i < 2_000; i++) {
            if (i % 7 === 0) await store.delete(`k:${i % 13}`);
            else await store.set(`k:${i % 13}`, i);
          }
        })();
        await sleep(1);
        const snap = await store.snapshot('k:*');
        const view = new Map([...snap.entries].map(([key, entry]) => [key, entry.value]));
        const feed = await follow(store, 'k:*', snap.revision);
        writing = false;
        await writer;
        const last = await store.set('k:end', 'end');
        await feed.some((e) => e.revision === last);
        for (const event of feed.values) applyChange(view, event);
        expect(new Map([...view].sort())).toEqual(new Map([...(await store.getAll('k:*'))].sort()));
        const revisions = feed.values.map((e) => e.revision);
        expect(revisions).toEqual([...revisions].sort((x, y) => x - y));
        expect(new Set(revisions).size).toBe(revisions.length);
        expect(revisions[0]).toBeGreaterThan(snap.revision);
      });

      it("rejects a bad `since` in the caller's stack", async () => {
        const store = await newStore();
        for (const since of [-1, 1.5, Number.NaN, '3', 2 ** 53]) {
          expectThrowsCode(() => store.changes('*', { since: since as number }), 'ERR_BAD_ARGUMENT', /since/);
        }
        expectThrowsCode(() => store.changes('*', 'x' as unknown as { since: number }), 'ERR_BAD_ARGUMENT');
      });
    });

    describe('history and ERR_COMPACTED', () => {
      it('errors with ERR_COMPACTED and the oldest revision kept when `since` is older than history', async () => {
        // Past the history's first allocation (1 024 slots on memory), so that it grows, then wraps.
        const store = storeWithHistory(1_500);
        try {
          for (let i = 0; i < 4_000; i++) await store.set(`k${i % 10}`, i);
          const feed = rec(store.changes('*', { since: 0 }));
          await waitUntil(() => feed.error !== undefined, 'the feed to error');
          const error = feed.error as KvbusError & { oldestRevision: number };
          expect(error.code).toBe('ERR_COMPACTED');
          expect(error.message).toMatch(/snapshot\(\)/);
          expect(error.oldestRevision).toBeGreaterThan(1);
          expect(error.oldestRevision).toBeLessThanOrEqual(4_000);
          // From just before the oldest revision kept: every kept change, then live ones.
          const from = error.oldestRevision - 1;
          const resumed = await follow(store, '*', from);
          const live = await store.set('live', 1);
          await resumed.some((e) => e.revision === live);
          expect(resumed.error).toBeUndefined();
          expect(resumed.values.map((e) => e.revision)).toEqual(Array.from({ length: live - from }, (_, i) => from + 1 + i));
        } finally {
          await closeAll();
        }
      });

      it('errors with ERR_COMPACTED when `since` is past the current revision (a recreated store): never a silent wait', async () => {
        const store = await newStore();
        const current = await store.set('a', 1);
        const feed = rec(store.changes('*', { since: current + 5 }));
        await waitUntil(() => feed.error !== undefined, 'the feed to error');
        const error = feed.error as KvbusError & { oldestRevision: number };
        expect(error.code).toBe('ERR_COMPACTED');
        expect(error.message).toMatch(/snapshot\(\)/);
        expect(error.oldestRevision).toBe(current + 1);
      });

      it('with maxEvents 0 keeps nothing: only the current revision can be followed', async () => {
        const store = storeWithHistory(0);
        try {
          await store.set('a', 1);
          const current = await store.set('a', 2);
          const feed = rec(store.changes('*', { since: current - 1 }));
          await waitUntil(() => feed.error !== undefined, 'the feed to error');
          expect((feed.error as KvbusError).code).toBe('ERR_COMPACTED');
          expect((feed.error as KvbusError & { oldestRevision: number }).oldestRevision).toBe(current + 1);
          const live = await follow(store, '*', current);
          await store.set('b', 3);
          await live.count(1);
          expect(live.values.map((e) => e.key)).toEqual(['b']);
        } finally {
          await closeAll();
        }
      });

      it('createStore({ history }) validates it, and wants it on the backend when one is given', async () => {
        for (const history of [{ maxEvents: -1 }, { maxEvents: 1.5 }, { maxEvents: '10' }, 'big']) {
          expectThrowsCode(() => createStore({ history: history as { maxEvents: number } }), 'ERR_BAD_ARGUMENT', /history/);
        }
        expectThrowsCode(() => memoryBackend({ history: { maxEvents: -2 } }), 'ERR_BAD_ARGUMENT', /maxEvents/);
        expectThrowsCode(
          () => createStore({ history: { maxEvents: 5 }, backend: memoryBackend() }),
          'ERR_BAD_ARGUMENT',
          /Pass `history` to the backend/,
        );
      });
    });
  });
}
