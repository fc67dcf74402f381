// Locks and transactions across real threads and processes (SPEC §7
// "Coordination"), on the memory backend and on Redis: piscina workers made by
// createPool, children made by store.fork, and on Redis a separate process with
// its own store. Mutual exclusion, a dead holder's lock handed on, FIFO across
// workers, concurrent transfers that never show a wrong sum, and (Redis) a dead
// process's lease running out with its fenced writes refused afterwards.
import { type ChildProcess, fork } from 'node:child_process';
import type { Worker } from 'node:worker_threads';
import { type CreateStoreOptions, createPool, createStore, isKvbusError, type MainStore } from 'kvbus';
import { redisBackend } from 'kvbus/redis';
import type { Piscina } from 'piscina';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Lock } from '../../src/types.js';
import { rejectionOf } from '../helpers/errors.js';
import { fixturePath, fixtureUrl } from '../helpers/fixtures.js';
import { childExit, messageFrom } from '../helpers/processes.js';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { Resources } from '../helpers/resources.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { nextValue, sleep, WAIT_MS, waitUntil } from '../helpers/wait.js';

const TASKS = fixtureUrl('lock-tasks.mjs').href;
/** The bound: a dead holder's lock reaches the next waiter within 1 s. */
const HANDOVER_MS = 1_000;

/** What a promise settled as, without waiting longer than `ms` (`'pending'` then). */
async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<'pending' | 'settled'> {
  return Promise.race([
    promise.then(
      () => 'settled' as const,
      () => 'settled' as const,
    ),
    sleep(ms).then(() => 'pending' as const),
  ]);
}

/** Asserts that `promise` rejects with a kvbus error of `code` (of the built package: `instanceof` would test src's class). */
async function expectCode(promise: Promise<unknown>, code: string): Promise<Error> {
  const error: unknown = await rejectionOf(promise);
  expect(isKvbusError(error), String(error)).toBe(true);
  expect((error as { code: string }).code, String(error)).toBe(code);
  return error as Error;
}

/** The lock, and when it was granted (`performance.now()`). */
async function grantedAt(pending: Promise<Lock>): Promise<{ lock: Lock; at: number }> {
  const lock = await pending;
  return { lock, at: performance.now() };
}

/**
 * The tests for one backend.
 * @param name - the backend's name, for titles
 * @param res - what the tests start (pools, children), cleaned up after each
 * @param makeStore - a fresh main-thread store (the built package) on that backend, closed after the test (by `res`, unless `'untracked'`)
 */
function locksAcrossThreads(name: string, res: Resources, makeStore: (untracked?: 'untracked') => MainStore): void {
  const newPool = (store: MainStore, threads = 4) =>
    res.pool(createPool({ store, filename: TASKS, minThreads: threads, maxThreads: threads }));

  // One store and one pool of 4 workers for the tests that kill nothing: starting
  // 4 workers costs far more than what they do (seconds on a loaded machine).
  // Each test uses keys and lock names of its own.
  let shared: { store: MainStore; pool: Piscina } | undefined;
  beforeAll(async () => {
    const store = makeStore('untracked');
    const pool = createPool({ store, filename: TASKS, minThreads: 4, maxThreads: 4 });
    shared = { store, pool };
    await waitUntil(() => pool.threads.length === 4, '4 workers to start');
  });
  afterAll(async () => {
    await shared?.pool.destroy();
    await shared?.store.close();
  });
  const sharedPool = () => {
    if (!shared) throw new Error('the shared pool is made in beforeAll');
    return shared;
  };

  describe(`locks and transactions across threads and processes: ${name}`, () => {
    it('mutual exclusion: 4 workers × 25 read-modify-writes (get, then set) under withLock give exactly 100', async () => {
      const { store, pool } = sharedPool();
      await store.set('total', 0);
      const runs = await Promise.all(
        Array.from({ length: 4 }, () => pool.run({ key: 'total', lock: 'total-lock', times: 25 }, { name: 'rmwUnderLock' })),
      );
      expect(runs).toEqual([25, 25, 25, 25]);
      expect(await store.get('total')).toBe(100);
      // Every lock was released: the main thread gets it at once.
      const lock = await store.lock('total-lock', { waitMs: 1_000 });
      await lock.release();
    });

    it('a worker that exits holding a lock frees it: the main thread’s waiter gets it within 1 s of the exit', async () => {
      const store = makeStore();
      const pool = newPool(store, 1);
      const held = nextValue(
        store.watch<{ token: number; threadId: number }>('held'),
        (v) => v !== undefined,
        'the worker to hold the lock',
      );
      const task = pool.run({ name: 'crash-lock', heldKey: 'held', goKey: 'go', exitCode: 3 }, { name: 'holdThenExit' });
      task.catch(() => {}); // it never returns: its thread ends
      const { token, threadId } = (await held)!;
      const worker = pool.threads.find((w: Worker) => w.threadId === threadId);
      expect(worker, 'the worker holding the lock').toBeDefined();
      let exitedAt = 0;
      let exitCode: number | undefined;
      worker!.once('exit', (code) => {
        exitedAt = performance.now();
        exitCode = code;
      });
      const waiter = grantedAt(store.lock('crash-lock', { waitMs: WAIT_MS }));
      await store.stats();
      expect(await settledWithin(waiter, 100)).toBe('pending');
      await store.set('go', true);
      const { lock, at } = await waiter;
      await waitUntil(() => exitedAt > 0, 'the worker’s exit event');
      expect(exitCode).toBe(3);
      expect(lock.token).toBeGreaterThan(token);
      expect(at - exitedAt, 'ms from the worker’s exit to the grant').toBeLessThan(HANDOVER_MS);
      // The dead holder's token fences nothing any more.
      await expectCode(store.set('after', 1, { fence: { name: 'crash-lock', token } }), 'ERR_CONFLICT');
      await lock.release();
    });

    it('a child SIGKILLed holding a lock frees it: the main thread’s waiter gets it within 1 s of the kill', async () => {
      const store = makeStore();
      const child = res.child(store.fork(fixturePath('lock-child.mjs'), ['child-lock'], { stdio: 'ignore' }) as ChildProcess);
      const { token } = await messageFrom<{ token: number }>(child, (m) => m?.type === 'lock-held', 'the child to hold the lock');
      const waiter = grantedAt(store.lock('child-lock', { waitMs: WAIT_MS }));
      await store.stats();
      expect(await settledWithin(waiter, 100)).toBe('pending');
      const killedAt = performance.now();
      child.kill('SIGKILL');
      const { lock, at } = await waiter;
      expect(lock.token).toBeGreaterThan(token);
      expect(at - killedAt, 'ms from the kill to the grant').toBeLessThan(HANDOVER_MS);
      expect((await childExit(child)).signal).toBe('SIGKILL');
      await expectCode(store.incr('n', 1, { fence: { name: 'child-lock', token } }), 'ERR_CONFLICT');
      expect(await store.has('n')).toBe(false);
      await lock.release();
    });

    it('serves waiters in 4 workers first come, first served', async () => {
      const { store, pool } = sharedPool();
      const holder = await store.lock('fifo');
      const tasks: Array<Promise<number>> = [];
      for (const id of [1, 2, 3, 4]) {
        tasks.push(pool.run({ name: 'fifo', askedKey: `asked:${id}`, orderKey: 'order', id }, { name: 'queueFor' }));
        // The next worker asks only once this one's request is queued in the store.
        await waitUntil(async () => (await store.get(`asked:${id}`)) === true, `worker ${id} to be queued`);
      }
      expect(await store.has('order')).toBe(false);
      await holder.release();
      const tokens = await Promise.all(tasks);
      expect(await store.get('order')).toEqual([1, 2, 3, 4]);
      expect([holder.token, ...tokens]).toEqual([holder.token, ...tokens].sort((a, b) => a - b));
      expect(new Set(tokens).size).toBe(4);
    });

    it('concurrent transfer transactions from 3 workers keep a + b constant in every getMany meanwhile', async () => {
      const { store, pool } = sharedPool();
      await store.transaction([
        { op: 'set', key: 'acct:a', value: 500 },
        { op: 'set', key: 'acct:b', value: 500 },
      ]);
      const transfers = [1, 2, 3].map(
        (seed) =>
          pool.run({ a: 'acct:a', b: 'acct:b', times: 40, seed }, { name: 'transfer' }) as Promise<{ done: number; conflicts: number }>,
      );
      const sampler = pool.run({ a: 'acct:a', b: 'acct:b', stopKey: 'stop' }, { name: 'sampleSums' }) as Promise<{
        sums: number[];
        reads: number;
      }>;
      const mainSums = new Set<number>();
      let mainReads = 0;
      let finished = false;
      const all = Promise.all(transfers).finally(() => (finished = true));
      while (!finished) {
        const [a, b] = (await store.getMany(['acct:a', 'acct:b'])) as [number, number];
        mainSums.add(a + b);
        mainReads++;
        // A main-thread read may be answered without leaving the microtask queue: let the workers' messages in.
        await new Promise((resolve) => setImmediate(resolve));
      }
      const results = await all;
      await store.set('stop', true);
      const sampled = await sampler;
      expect(results.map((r) => r.done)).toEqual([40, 40, 40]);
      expect([...mainSums]).toEqual([1000]);
      expect(sampled.sums).toEqual([1000]);
      expect(mainReads).toBeGreaterThan(0);
      expect(sampled.reads).toBeGreaterThan(0);
      const [a, b] = (await store.getMany(['acct:a', 'acct:b'])) as [number, number];
      expect(a + b).toBe(1000);
      // 120 transfers, each one transaction of 2 writes: the revision moved 240 at least.
      const entryA = await store.getEntry('acct:a');
      expect(entryA!.revision).toBeGreaterThan(240);
    });
  });
}

describe('memory backend', () => {
  const res = new Resources();
  afterEach(() => res.cleanup());
  locksAcrossThreads('memory', res, (untracked) => (untracked ? createStore() : res.store()));
});

describeRedis('redis backend', () => {
  const redis = useRedisServer({ raw: false });
  const res = new Resources();
  afterEach(() => res.cleanup());
  const optionsFor = (namespace: string): CreateStoreOptions => ({
    backend: redisBackend({ url: redis.url, commandTimeoutMs: 2_000 }),
    namespace,
  });
  const makeStore = (namespace = uniqueNamespace('locks')) => res.store(optionsFor(namespace));

  locksAcrossThreads('redis', res, (untracked) => (untracked ? createStore(optionsFor(uniqueNamespace('locks'))) : makeStore()));

  describe('a lock held by another process (its own store on the same Redis)', () => {
    const peers: ChildProcess[] = [];
    afterEach(async () => {
      await Promise.all(
        peers.splice(0).map(async (peer) => {
          if (peer.exitCode !== null || peer.signalCode !== null) return;
          const exited = childExit(peer).catch(() => {});
          peer.kill('SIGKILL');
          await exited;
        }),
      );
    });

    function startPeer(namespace: string, lockName: string, ttlMs: number): ChildProcess {
      const { KVBUS_PARENT: _parent, ...env } = process.env;
      const peer = fork(fixturePath('lock-redis-peer.mjs'), [redis.url, namespace, lockName, String(ttlMs)], {
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        serialization: 'advanced',
        env,
      });
      peer.on('error', () => {});
      peers.push(peer);
      return peer;
    }

    it('is killed: its lease runs out, the next waiter is granted, and its fenced writes are refused', async () => {
      const namespace = uniqueNamespace('peer-lock');
      const store = makeStore(namespace);
      const peer = startPeer(namespace, 'machine-lock', 1_000);
      const { token } = await messageFrom<{ token: number }>(peer, (m) => m?.type === 'lock-held', 'the peer to hold the lock');
      const fence = { name: 'machine-lock', token };
      // While the peer holds it, a write fenced with its token passes (fencing is by token, not by process).
      await store.set('owned', 'by peer', { fence });
      const waiter = grantedAt(store.lock('machine-lock', { waitMs: WAIT_MS }));
      expect(await settledWithin(waiter, 200)).toBe('pending');
      peer.kill('SIGKILL');
      await childExit(peer);
      const { lock } = await waiter;
      expect(lock.token).toBeGreaterThan(token);
      const changed = await expectCode(store.set('owned', 'stale write', { fence }), 'ERR_CONFLICT');
      expect(changed.message).toMatch(/machine-lock/);
      await expectCode(store.transaction([{ op: 'delete', key: 'owned' }], { fence }), 'ERR_CONFLICT');
      expect(await store.get('owned')).toBe('by peer');
      await store.set('owned', 'by the new holder', { fence: lock });
      expect(await lock.release()).toBe(true);
    });

    it('waits for the other process’s lock first come, first served with this process’s own waiters', async () => {
      const namespace = uniqueNamespace('peer-fifo');
      const store = makeStore(namespace);
      const other = makeStore(namespace);
      const peer = startPeer(namespace, 'shared', 1_000);
      const { token } = await messageFrom<{ token: number }>(peer, (m) => m?.type === 'lock-held', 'the peer to hold the lock');
      const order: string[] = [];
      const first = store.lock('shared', { waitMs: WAIT_MS }).then((lock) => (order.push('first'), lock));
      await store.stats();
      await sleep(50);
      const second = other.lock('shared', { waitMs: WAIT_MS }).then((lock) => (order.push('second'), lock));
      await other.stats();
      expect(await settledWithin(first, 100)).toBe('pending');
      // The peer dies without releasing: its lease running out frees the lock, for the first waiter.
      peer.kill('SIGKILL');
      const lock1 = await first;
      expect(lock1.token).toBeGreaterThan(token);
      expect(await settledWithin(second, 100)).toBe('pending');
      await lock1.release();
      const lock2 = await second;
      expect(order).toEqual(['first', 'second']);
      expect(lock2.token).toBeGreaterThan(lock1.token);
      await lock2.release();
    });
  });
});
