// Transactions, getMany and fenced writes of the Redis backend, at the Backend
// level: two backends on one namespace stand for two processes (each hears the
// other's change events, as a store would).
import { afterEach, describe, expect, it } from 'vitest';
import type { Backend, KeyChange } from '../../src/index.js';
import { testContext } from '../helpers/backend-context.js';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { sleep, waitUntil } from '../helpers/wait.js';

interface Opened {
  backend: Backend;
  changes: KeyChange[];
}

describeRedis('redis: transactions, getMany and fencing', () => {
  const redis = useRedisServer();
  const opened: Backend[] = [];

  /** A backend open on `namespace`, recording the change events it hears. */
  async function open(namespace: string, listen = false): Promise<Opened> {
    const backend = redis.backend();
    const changes: KeyChange[] = [];
    opened.push(backend);
    await backend.open(testContext(namespace, { emitChange: (change) => changes.push(change), watchingKeys: listen }));
    if (listen) await backend.interest({ kind: 'changes', name: '*' }, true);
    return { backend, changes };
  }

  /** The revision counter of a namespace, read raw. */
  const counter = async (ns: string) => Number((await redis.raw.sendCommand(['GET', `${ns}:rev`])) ?? 0);

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((backend) => backend.close()));
  });

  describe('transaction', () => {
    it('applies set, incr, delete and check in one step with consecutive revisions; another process hears each write once', async () => {
      const ns = uniqueNamespace('tx');
      const { backend } = await open(ns);
      const other = await open(ns, true);
      await backend.set('gone', 'x', {});
      await backend.set('n', 40, {});
      const before = await counter(ns);
      const revisions = await backend.transaction([
        { op: 'set', key: 'a', value: { deep: [1, 2] } },
        { op: 'incr', key: 'n', by: 2 },
        { op: 'delete', key: 'gone' },
        { op: 'delete', key: 'absent' },
        { op: 'check', key: 'n', revision: before + 2 },
        { op: 'set', key: 'b', value: 7, ttlMs: 60_000 },
      ]);
      expect(revisions).toEqual([before + 1, before + 2, before + 3, 0, before + 2, before + 4]);
      expect(await counter(ns)).toBe(before + 4);
      expect(await backend.getMany(['a', 'n', 'gone', 'b'])).toEqual([{ deep: [1, 2] }, 42, undefined, 7]);
      // The TTL as a set's: Redis expiry plus the mark that lets one process announce the expiry.
      expect(Number(await redis.raw.sendCommand(['PTTL', `${ns}:k:b`]))).toBeGreaterThan(50_000);
      expect(Number(await redis.raw.sendCommand(['EXISTS', `${ns}:t:b`]))).toBe(1);
      const heard = () => other.changes.filter((change) => change.revision > before);
      await waitUntil(() => heard().length >= 4, 'the other backend hears four changes');
      await sleep(100);
      expect(heard()).toEqual([
        { type: 'set', key: 'a', value: { deep: [1, 2] }, revision: before + 1 },
        { type: 'set', key: 'n', value: 42, revision: before + 2 },
        { type: 'delete', key: 'gone', revision: before + 3 },
        { type: 'set', key: 'b', value: 7, revision: before + 4 },
      ]);
    });

    it('a failed check names its key and writes nothing, whichever op it is', async () => {
      const ns = uniqueNamespace('tx');
      const { backend } = await open(ns);
      const other = await open(ns, true);
      await backend.set('first', 0, {});
      const revision = await backend.set('a', 1, {});
      const before = await counter(ns);
      const attempt = backend.transaction([
        { op: 'set', key: 'b', value: 2 },
        { op: 'incr', key: 'c' },
        { op: 'check', key: 'a', revision: revision - 1 },
        { op: 'delete', key: 'a' },
      ]);
      await expect(attempt).rejects.toMatchObject({ code: 'ERR_CONFLICT', message: expect.stringContaining('"a"') });
      await expect(attempt).rejects.toThrow(`expected revision ${revision - 1}, but it is at revision ${revision}`);
      // ifRevision of a set and of a delete, and `check` of an absent key (0).
      await expect(
        backend.transaction([
          { op: 'set', key: 'b', value: 2 },
          { op: 'set', key: 'x', value: 1, ifRevision: 5 },
        ]),
      ).rejects.toMatchObject({ code: 'ERR_CONFLICT', message: expect.stringContaining('"x"') });
      await expect(
        backend.transaction([
          { op: 'set', key: 'b', value: 2 },
          { op: 'delete', key: 'a', ifRevision: revision + 1 },
        ]),
      ).rejects.toMatchObject({ code: 'ERR_CONFLICT', message: expect.stringContaining('"a"') });
      await expect(
        backend.transaction([
          { op: 'incr', key: 'c' },
          { op: 'check', key: 'a', revision: 0 },
        ]),
      ).rejects.toMatchObject({ code: 'ERR_CONFLICT', message: expect.stringContaining('"a"') });
      expect(await counter(ns)).toBe(before);
      expect(await backend.getMany(['a', 'b', 'c', 'x'])).toEqual([1, undefined, undefined, undefined]);
      await sleep(200);
      expect(other.changes.filter((change) => change.revision > before)).toEqual([]);
    });

    it('an incr of a non-number is ERR_TYPE and a non-finite result ERR_BAD_ARGUMENT, both naming the key, writing nothing', async () => {
      const ns = uniqueNamespace('tx');
      const { backend } = await open(ns);
      await backend.set('s', 'text', {});
      await backend.set('big', Number.MAX_VALUE, {});
      const before = await counter(ns);
      await expect(
        backend.transaction([
          { op: 'set', key: 'a', value: 1 },
          { op: 'incr', key: 's' },
        ]),
      ).rejects.toMatchObject({ code: 'ERR_TYPE', message: expect.stringContaining('"s"') });
      await expect(
        backend.transaction([
          { op: 'set', key: 'a', value: 1 },
          { op: 'incr', key: 'big', by: Number.MAX_VALUE },
        ]),
      ).rejects.toMatchObject({ code: 'ERR_BAD_ARGUMENT', message: expect.stringContaining('"big"') });
      expect(await counter(ns)).toBe(before);
      expect(await backend.getMany(['a', 's'])).toEqual([undefined, 'text']);
    });

    it('each op sees the ops before it in the same transaction', async () => {
      const ns = uniqueNamespace('tx');
      const { backend } = await open(ns);
      const before = await counter(ns);
      const revisions = await backend.transaction([
        { op: 'set', key: 'k', value: 1 },
        { op: 'check', key: 'k', revision: before + 1 },
        { op: 'incr', key: 'k', by: 4 },
        { op: 'delete', key: 'k', ifRevision: before + 2 },
        { op: 'check', key: 'k', revision: 0 },
      ]);
      expect(revisions).toEqual([before + 1, before + 1, before + 2, before + 3, 0]);
      expect(await backend.get('k')).toBeUndefined();
    });

    it('concurrent transfers between two keys from two processes keep the sum constant in every getMany', async () => {
      const ns = uniqueNamespace('tx');
      const one = await open(ns);
      const two = await open(ns);
      await one.backend.transaction([
        { op: 'set', key: 'x', value: 500 },
        { op: 'set', key: 'y', value: 500 },
      ]);
      let running = true;
      const transfers = [one, two].map(async ({ backend }, side) => {
        let done = 0;
        while (running) {
          const by = side === 0 ? 3 : -5;
          await backend.transaction([
            { op: 'incr', key: 'x', by: -by },
            { op: 'incr', key: 'y', by },
          ]);
          done++;
        }
        return done;
      });
      const sums = new Set<number>();
      let reads = 0;
      const deadline = Date.now() + 1_000;
      while (Date.now() < deadline) {
        const [x, y] = (await (reads % 2 ? one : two).backend.getMany(['x', 'y'])) as number[];
        sums.add(x! + y!);
        reads++;
      }
      running = false;
      const done = await Promise.all(transfers);
      expect(done[0]).toBeGreaterThan(10);
      expect(done[1]).toBeGreaterThan(10);
      expect(reads).toBeGreaterThan(10);
      expect([...sums]).toEqual([1000]);
    });
  });

  describe('getMany', () => {
    it('reads in the order of the keys, undefined where absent, with one MGET', async () => {
      const ns = uniqueNamespace('gm');
      const { backend } = await open(ns);
      await backend.set('a', 'A', {});
      await backend.set('c', [3], {});
      await backend.incr('n', 5);
      expect(await backend.getMany(['c', 'missing', 'a', 'n', 'a'])).toEqual([[3], undefined, 'A', 5, 'A']);
      expect(await backend.getMany([])).toEqual([]);
    });
  });

  describe('fencing', () => {
    it('set, delete, incr and transaction with a fence write while the lock is held and change nothing once its lease ran out and it went to another', async () => {
      const ns = uniqueNamespace('fence');
      const { backend } = await open(ns);
      const other = await open(ns);
      const token = await grantOf(backend, 'L', 400);
      const fence = { name: 'L', token };
      expect(await backend.set('a', 1, { fence })).toBeGreaterThan(0);
      expect(await backend.incr('n', 2, fence)).toBe(2);
      expect(await backend.incr('n', 0.5, fence)).toBe(2.5);
      await backend.set('d', 'x', {});
      expect(await backend.delete('d', undefined, fence)).toBe(true);
      expect(await backend.delete('d', undefined, fence)).toBe(false);
      await expect(backend.set('a', 2, { fence, ifRevision: 999 })).rejects.toMatchObject({ code: 'ERR_CONFLICT' });
      expect((await backend.transaction([{ op: 'set', key: 'b', value: 'B' }], fence)).length).toBe(1);
      // The lease runs out (this holder "paused"); another process takes the lock.
      const next = await grantOf(other.backend, 'L', 30_000);
      expect(next).toBeGreaterThan(token);
      const before = await counter(ns);
      const refused = await Promise.allSettled([
        backend.set('a', 99, { fence }),
        backend.incr('n', 1, fence),
        backend.delete('a', undefined, fence),
        backend.transaction([{ op: 'set', key: 'b', value: 'late' }], fence),
      ]);
      for (const attempt of refused) {
        expect(attempt.status).toBe('rejected');
        expect((attempt as PromiseRejectedResult).reason).toMatchObject({
          code: 'ERR_CONFLICT',
          message: expect.stringContaining(`Lock "L" is no longer held with token ${token}`),
        });
      }
      expect(await counter(ns)).toBe(before);
      expect(await backend.getMany(['a', 'n', 'b'])).toEqual([1, 2.5, 'B']);
      // The new holder's token writes.
      expect(await other.backend.incr('n', 1, { name: 'L', token: next })).toBe(3.5);
      // Released: nobody holds it, so no token writes.
      expect(await other.backend.locks.release('L', next)).toBe(true);
      await expect(other.backend.set('a', 5, { fence: { name: 'L', token: next } })).rejects.toMatchObject({ code: 'ERR_CONFLICT' });
    });

    it('unfenced sets keep the BATCH path: no TRANSACTION script runs for them', async () => {
      const ns = uniqueNamespace('fence');
      const { backend } = await open(ns);
      const calls = async () => {
        const info = String(await redis.raw.sendCommand(['INFO', 'commandstats']));
        return Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0);
      };
      const start = await calls();
      await Promise.all(Array.from({ length: 50 }, (_, i) => backend.set(`k${i}`, i, {})));
      // 50 sets in one tick: one BATCH script call.
      expect((await calls()) - start).toBe(1);
    });
  });
});

/** Acquires lock `name` on `backend` (waiting for it) and resolves to the token. */
function grantOf(backend: Backend, name: string, ttlMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    Promise.resolve(backend.locks.acquire({ name, ttlMs, grant: resolve })).catch(reject);
  });
}
