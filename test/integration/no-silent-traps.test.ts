// No silent traps (SPEC §7 "TypeScript and conventions", issue 13 item 2): a
// worker or child that nobody connected learns it at its first call
// (ERR_NO_STORE, not a timeout); kvbus's own messages never reach the user's
// 'message' listeners; createPool finds the store the user made, or says which
// to name; a KvbusError thrown in a pool task keeps its code through pool.run.
import { type ChildProcess, fork } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { createPool, getStore, isKvbusError, KvbusError, type MainStore, type Store } from 'kvbus';
import { afterEach, describe, expect, it } from 'vitest';
import { fixturePath, fixtureUrl } from '../helpers/fixtures.js';
import { childExit, messageFrom } from '../helpers/processes.js';
import { Resources } from '../helpers/resources.js';
import { waitUntil } from '../helpers/wait.js';

const WORKER = fixtureUrl('traps-worker.mjs');
const CHILD = fixturePath('traps-child.mjs');
const TASKS = fixtureUrl('traps-tasks.mjs').href;
/**
 * How fast an unconnected client must fail: the parent answers its hello in a
 * few milliseconds; the bound is generous for a loaded 2-core machine, and far
 * below the 30 s a request waits before ERR_TIMEOUT.
 */
const AT_ONCE_MS = 5000;

const res = new Resources();
afterEach(() => res.cleanup());

interface Failure {
  code: string;
  message: string;
  elapsedMs: number;
}

/** Every message a worker or child sends through its 'message' event, as the user's listener sees it. */
function listen(emitter: Worker | ChildProcess): unknown[] {
  const seen: unknown[] = [];
  emitter.on('message', (message: unknown) => seen.push(message));
  return seen;
}

/** A child forked the plain way, marked to reach its parent's store (attachable). */
function forkMarked(mode: string): ChildProcess {
  const { KVBUS_PIPE: _pipe, ...env } = process.env;
  return res.child(fork(CHILD, [mode], { env: { ...env, KVBUS_PARENT: '1' }, serialization: 'advanced' }));
}

describe('a worker or child that nobody connected', () => {
  it('gets ERR_NO_STORE at its first call, at once, saying how to connect (a plain Worker never attached)', async () => {
    res.store();
    const worker = res.worker(new Worker(WORKER, { workerData: { mode: 'unattached' } }));
    const seen = listen(worker);
    const { first, later } = await messageFrom<{ first: Failure; later: Failure }>(worker, (m) => m?.type === 'result', 'the result');
    expect(first).toMatchObject({ code: 'ERR_NO_STORE', name: 'KvbusError' });
    expect(first.message).toMatch(/store\.attach\(worker\)/);
    expect(first.message).toMatch(/createPool/);
    expect(first.elapsedMs).toBeLessThan(AT_ONCE_MS);
    expect(later).toMatchObject({ code: 'ERR_NO_STORE' });
    expect(later.elapsedMs).toBeLessThan(AT_ONCE_MS);
    // The refused hello never reached the user's listener either.
    expect(seen).toEqual([
      { type: 'user', n: 1 },
      { type: 'result', first, later },
    ]);
  });

  it('gets ERR_NO_STORE at once when its first call is a blocking store.sync call', async () => {
    res.store();
    const worker = res.worker(new Worker(WORKER, { workerData: { mode: 'unattached', sync: true } }));
    const { first } = await messageFrom<{ first: Failure }>(worker, (m) => m?.type === 'result', 'the result');
    expect(first).toMatchObject({ code: 'ERR_NO_STORE' });
    expect(first.message).toMatch(/store\.attach\(worker\)/);
    expect(first.elapsedMs).toBeLessThan(AT_ONCE_MS);
  });

  it('gets ERR_NO_STORE at once in a child forked with KVBUS_PARENT=1 that the parent never attached', async () => {
    res.store();
    const child = forkMarked('unattached');
    const seen = listen(child);
    const { first } = await messageFrom<{ first: Failure }>(child, (m) => m?.type === 'result', 'the result');
    expect(first.code).toBe('ERR_NO_STORE');
    expect(first.message).toMatch(/store\.fork/);
    expect(first.message).toMatch(/store\.attach\(child\)/);
    expect(first.elapsedMs).toBeLessThan(AT_ONCE_MS);
    expect(seen).toEqual([
      { type: 'user', n: 1 },
      { type: 'result', first },
    ]);
    expect((await childExit(child)).code).toBe(0);
  });

  it('gets ERR_NO_STORE at once in a grandchild that inherited KVBUS_PARENT=1 from a child of store.fork', async () => {
    const store = res.store();
    const child = res.child(store.fork(CHILD, ['grandparent']));
    const { result } = await messageFrom<{ result: { first: Failure } }>(child, (m) => m?.type === 'relayed', 'the relayed result');
    expect(await store.get('traps:grandparent')).toBe(1);
    expect(result.first.code).toBe('ERR_NO_STORE');
    expect(result.first.message).toMatch(/store\.fork/);
    expect(result.first.elapsedMs).toBeLessThan(AT_ONCE_MS);
  });
});

describe("kvbus's own messages", () => {
  it("never reach worker.on('message') in the parent nor parentPort.on('message') in an attached worker", async () => {
    const store = res.store();
    const worker = res.worker(new Worker(WORKER, { workerData: { mode: 'attached' } }));
    store.attach(worker);
    const seen = listen(worker);
    await messageFrom(worker, (m) => m?.type === 'ready', 'the worker to be ready');
    await store.publish('traps:down', 'event');
    worker.postMessage({ type: 'user-down' });
    const reported = messageFrom<{ received: unknown[] }>(worker, (m) => m?.type === 'report', 'the report');
    worker.postMessage({ type: 'report?' });
    const report = await reported;
    expect(await store.get('traps:w')).toEqual({ from: 'worker' });
    expect(seen).toEqual([
      { type: 'user', n: 1 },
      { type: 'user', n: 2, value: { from: 'worker' } },
      { type: 'ready' },
      { type: 'report', received: [{ type: 'user-down' }] },
    ]);
    expect(report.received).toEqual([{ type: 'user-down' }]);
  });

  it("never reach pool.on('message') (piscina re-emits its workers' messages there)", async () => {
    const store = res.store();
    const pool = res.pool(createPool({ store, filename: TASKS, minThreads: 2, maxThreads: 2 }));
    const seen: unknown[] = [];
    pool.on('message', (message: unknown) => seen.push(message));
    const results = await Promise.all([1, 2, 3, 4].map((n) => pool.run({ n })));
    expect(results).toEqual(['talked', 'talked', 'talked', 'talked']);
    expect(await store.get('traps:pool')).toBe(4);
    // Both threads connected (a hello each), and only the tasks' own messages came through.
    await waitUntil(async () => (await store.stats()).clients === 2, 'both threads connected');
    await waitUntil(() => seen.length === 4, "the tasks' four messages");
    expect(seen).toHaveLength(4);
    expect(new Set(seen.map((m) => JSON.stringify(m)))).toEqual(new Set([1, 2, 3, 4].map((n) => JSON.stringify({ type: 'user', n }))));
  });

  it("never reach child.on('message') nor process.on('message') in a child attached over its IPC channel", async () => {
    const store = res.store();
    const child = forkMarked('attached');
    store.attach(child);
    const seen = listen(child);
    await messageFrom(child, (m) => m?.type === 'ready', 'the child to be ready');
    await store.publish('traps:down', 'event');
    child.send({ type: 'user-down' });
    const reported = messageFrom<{ received: unknown[] }>(child, (m) => m?.type === 'report', 'the report');
    child.send({ type: 'report?' });
    const report = await reported;
    expect(await store.get('traps:c')).toEqual({ from: 'child' });
    expect(seen).toEqual([
      { type: 'user', n: 1 },
      { type: 'user', n: 2, value: { from: 'child' }, n2: 1 },
      { type: 'ready' },
      { type: 'report', received: [{ type: 'user-down' }] },
    ]);
    expect(report.received).toEqual([{ type: 'user-down' }]);
  });
});

describe('createPool without { store }', () => {
  it('uses the one store the user created (not a second, default one)', async () => {
    const store = res.store();
    const pool = res.pool(createPool({ filename: TASKS, maxThreads: 1 }));
    expect(await pool.run({ key: 'traps:one' }, { name: 'incr' })).toBe(1);
    expect(await store.get('traps:one')).toBe(1);
  });

  it('fails with ERR_BAD_ARGUMENT naming the fix when two stores are open, and uses the one left once the other is closed', async () => {
    const first = res.store({ namespace: 'first' });
    const second = res.store({ namespace: 'second' });
    let error: unknown;
    try {
      createPool({ filename: TASKS });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KvbusError);
    expect(error).toMatchObject({ code: 'ERR_BAD_ARGUMENT', message: expect.stringMatching(/2 kvbus stores.*createPool\(\{ store/) });
    await first.close();
    const pool = res.pool(createPool({ filename: TASKS, maxThreads: 1 }));
    expect(await pool.run({ key: 'traps:left' }, { name: 'incr' })).toBe(1);
    expect(await second.get('traps:left')).toBe(1);
  });

  it("uses getStore()'s default store when no store is open, and accepts createPool({ store: getStore() })", async () => {
    const pool = res.pool(createPool({ filename: TASKS, maxThreads: 1 }));
    expect(await pool.run({ key: 'traps:default' }, { name: 'incr' })).toBe(1);
    const store: Store = getStore();
    try {
      expect(await store.get('traps:default')).toBe(1);
      // Store, not only MainStore: this line type-checks (tsc checks test/).
      const named = res.pool(createPool({ store: getStore(), filename: TASKS, maxThreads: 1 }));
      expect(await named.run({ key: 'traps:default' }, { name: 'incr' })).toBe(2);
    } finally {
      await store.close();
    }
  });

  it('refuses a store that is not a main-thread store, with a KvbusError saying what it needs', () => {
    const notAStore = { get: async () => undefined } as unknown as Store;
    expect(() => createPool({ store: notAStore, filename: TASKS })).toThrow(
      expect.objectContaining({ code: 'ERR_BAD_ARGUMENT', message: expect.stringMatching(/main-thread store/) }),
    );
    // @ts-expect-error: a number is no store
    expect(() => createPool({ store: 42, filename: TASKS })).toThrow(KvbusError);
  });
});

describe('a KvbusError thrown in a pool task', () => {
  it("reaches pool.run's caller with its code and message (isKvbusError, instanceof KvbusError)", async () => {
    const store = res.store();
    const pool = res.pool(createPool({ store, filename: TASKS, maxThreads: 1 }));
    const error = await pool.run({ key: 'traps:cas' }, { name: 'conflict' }).catch((e: unknown) => e);
    expect(isKvbusError(error)).toBe(true);
    expect(error).toBeInstanceOf(KvbusError);
    expect(error).toMatchObject({ name: 'KvbusError', code: 'ERR_CONFLICT', message: expect.stringMatching(/moved on/) });
  });

  it('keeps its own fields that can be cloned, and drops one that cannot instead of failing the reply', async () => {
    const store = res.store();
    const pool = res.pool(createPool({ store, filename: TASKS, maxThreads: 1 }));
    const error = (await pool.run(undefined, { name: 'withFields' }).catch((e: unknown) => e)) as KvbusError & Record<string, unknown>;
    expect(isKvbusError(error)).toBe(true);
    expect(error.code).toBe('ERR_TYPE');
    expect(error.message).toBe('a kvbus error with fields');
    expect(error.oldestRevision).toBe(42);
    expect(error.detail).toEqual({ keys: ['a', 'b'], at: new Date(5) });
    expect('notCloneable' in error).toBe(false);
    // The worker's stack: where it was thrown.
    expect(error.stack).toMatch(/traps-tasks\.mjs/);
    // The pool goes on.
    expect(await pool.run({ key: 'traps:after' }, { name: 'incr' })).toBe(1);
  });

  it('leaves other errors as piscina hands them over, and works with a per-run filename too', async () => {
    const store = res.store();
    const pool = res.pool(createPool({ store, maxThreads: 1 }));
    const error = await pool.run(undefined, { filename: TASKS, name: 'plain' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(isKvbusError(error)).toBe(false);
    expect((error as Error).message).toBe('a plain error');
    const conflict = await pool.run({ key: 'traps:cas2' }, { filename: TASKS, name: 'conflict' }).catch((e: unknown) => e);
    expect(isKvbusError(conflict)).toBe(true);
    expect(conflict).toMatchObject({ code: 'ERR_CONFLICT' });
  });
});

describe('Symbol.asyncDispose on a pool', () => {
  it('closes the pool and leaves its store open', async () => {
    const store = res.store();
    const pool = createPool({ store, filename: TASKS, maxThreads: 1 });
    expect(await pool.run({ key: 'traps:dispose' }, { name: 'incr' })).toBe(1);
    await pool[Symbol.asyncDispose]();
    await expect(pool.run({ key: 'traps:dispose' }, { name: 'incr' })).rejects.toThrow();
    expect((store as MainStore).closed).toBe(false);
    expect(await store.incr('traps:dispose')).toBe(2);
  });
});
