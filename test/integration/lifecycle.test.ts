import { fork } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import type { KvbusError, MainStore, PeerEvent, StoreStats } from 'kvbus';
import { afterEach, describe, expect, it } from 'vitest';
import { rejectionOf } from '../helpers/errors.js';
import { fixturePath, fixtureUrl } from '../helpers/fixtures.js';
import { blockFor, messageFrom, workerExit } from '../helpers/processes.js';
import { Resources } from '../helpers/resources.js';
import { nextValue, waitForStats } from '../helpers/wait.js';

const LIFECYCLE = fixtureUrl('lifecycle-worker.mjs');

const res = new Resources();
afterEach(() => res.cleanup());

function startWorker(store: MainStore, mode: string, extra: Record<string, unknown> = {}): { worker: Worker; detach: () => void } {
  const worker = res.worker(new Worker(LIFECYCLE, { workerData: { mode, ...extra } }));
  const detach = store.attach(worker);
  return { worker, detach };
}

type ErrorInfo = { isKvbusError: boolean; name: string; code: string; message: string };

describe('a dying worker', () => {
  it('leaves no subscription and no client behind, and peers() emits join then exit with exitCode 2', async () => {
    const store = res.store();
    const baseline = await store.stats();
    const peers: PeerEvent[] = [];
    store.peers().subscribe((e) => peers.push(e));
    const exitEvent = nextValue(store.peers(), (e) => e.type === 'exit', 'the exit peer event');
    const { worker } = startWorker(store, 'die');
    const exited = workerExit(worker);
    const { stats } = await messageFrom<{ stats: StoreStats }>(worker, (m) => m?.type === 'subscribed', 'the worker to subscribe');
    expect(await exited).toBe(2);
    // While it lived, it was a client with three subscriptions.
    expect(stats.clients).toBe(baseline.clients + 1);
    expect(stats.subscriptions).toBe(baseline.subscriptions + 3);
    expect(await exitEvent).toEqual({ type: 'exit', id: expect.any(Number), kind: 'worker', exitCode: 2, threadId: expect.any(Number) });
    expect(peers).toEqual([
      { type: 'join', id: peers[0]!.id, kind: 'worker', threadId: peers[0]!.threadId },
      { type: 'exit', id: peers[0]!.id, kind: 'worker', exitCode: 2, threadId: peers[0]!.threadId },
    ]);
    await waitForStats(
      store,
      (s) => s.clients === baseline.clients && s.subscriptions === baseline.subscriptions,
      'the dead worker to leave nothing behind',
    );
    expect(await store.publish('die:chan', 'anyone?')).toBe(0);
  });
});

describe('store.close() with remote clients', () => {
  it("rejects a worker's update that is in progress with ERR_CLOSED, completes its observables, and rejects later calls", async () => {
    const store = res.store();
    const { worker } = startWorker(store, 'close-during-update');
    await messageFrom(worker, (m) => m?.type === 'in-update', 'the worker to be inside update()');
    await store.close();
    const { result } = await messageFrom(worker, (m) => m?.type === 'result', 'the worker to report');
    expect(result).toEqual({
      update: 'ERR_CLOSED',
      channel: 'complete',
      watch: 'complete',
      laterGet: 'ERR_CLOSED',
      laterSet: 'ERR_CLOSED',
      laterSubscribe: 'ERR_CLOSED',
    });
  });

  it("rejects a worker's get that is in flight when the store closes with ERR_CLOSED instead of hanging", async () => {
    const store = res.store();
    const flags = new Int32Array(new SharedArrayBuffer(8));
    const { worker } = startWorker(store, 'close-during-get', { flags });
    await messageFrom(worker, (m) => m?.type === 'warm', 'the worker to connect');
    const report = messageFrom(worker, (m) => m?.type === 'result', 'the worker to report');
    // Keep this thread busy so the worker's get cannot be answered, then close.
    Atomics.store(flags, 0, 1);
    Atomics.notify(flags, 0);
    const deadline = Date.now() + 5000;
    while (Atomics.load(flags, 1) === 0 && Date.now() < deadline) {
      // busy: the worker is sending its get
    }
    expect(Atomics.load(flags, 1)).toBe(1);
    blockFor(20);
    await store.close();
    const { result } = await report;
    expect(result).toEqual({ get: 'ERR_CLOSED', channel: 'complete', laterIncr: 'ERR_CLOSED' });
  });
});

describe("a worker's own store.close()", () => {
  it('leaves nothing behind, completes its observables, rejects its later calls with ERR_CLOSED, and lets the worker exit', async () => {
    const store = res.store();
    const baseline = await store.stats();
    const { worker } = startWorker(store, 'self-close');
    const exited = workerExit(worker);
    const { stats } = await messageFrom<{ stats: StoreStats }>(worker, (m) => m?.type === 'subscribed', 'the worker to subscribe');
    expect(stats.clients).toBe(baseline.clients + 1);
    expect(stats.subscriptions).toBe(baseline.subscriptions + 1);
    const { result } = await messageFrom(worker, (m) => m?.type === 'result', 'the worker to report');
    expect(result).toEqual({ channel: 'complete', laterGet: 'ERR_CLOSED', laterPublish: 'ERR_CLOSED' });
    await waitForStats(
      store,
      (s) => s.clients === baseline.clients && s.subscriptions === baseline.subscriptions,
      'the closed client to leave nothing behind',
    );
    expect(await exited).toBe(0);
    expect(await store.incr('still-working')).toBe(1);
  });
});

describe('a detached worker', () => {
  it('gets ERR_DISCONNECTED on its subscriptions and its later calls', async () => {
    const store = res.store();
    const baseline = await store.stats();
    const { worker, detach } = startWorker(store, 'detach');
    await messageFrom(worker, (m) => m?.type === 'ready', 'the worker to subscribe');
    const connected = await store.stats();
    expect(connected.clients).toBe(baseline.clients + 1);
    expect(connected.subscriptions).toBe(baseline.subscriptions + 1);
    const report = messageFrom(worker, (m) => m?.type === 'result', 'the worker to report');
    detach();
    const { result } = await report;
    expect(result).toEqual({ channel: 'ERR_DISCONNECTED', laterGet: 'ERR_DISCONNECTED' });
    await waitForStats(
      store,
      (s) => s.clients === baseline.clients && s.subscriptions === baseline.subscriptions,
      'the detached worker to leave nothing behind',
    );
    // The store itself is fine.
    expect(await store.incr('still-working')).toBe(1);
  });
});

describe('getStore() where no store is reachable', () => {
  it('throws ERR_NO_STORE, saying how to connect, in a worker of a process that has no store', async () => {
    const env = { ...process.env };
    delete env.KVBUS_PARENT;
    const child = res.child(fork(fixturePath('no-store-parent.mjs'), [], { env, serialization: 'advanced' }));
    const result = await messageFrom<{ threw: boolean; isKvbusError: boolean; code: string; message: string; workerError?: string }>(
      child,
      (m) => m?.type === 'result',
      'the child to relay the outcome',
    );
    expect(result.workerError).toBeUndefined();
    expect(result.threw).toBe(true);
    expect(result.isKvbusError).toBe(true);
    expect(result.code).toBe('ERR_NO_STORE');
    expect(result.message).toMatch(/createPool/);
    expect(result.message).toMatch(/attach/);
  });
});

describe('errors across the thread boundary', () => {
  it('keep their code and message (ERR_CONFLICT, ERR_BAD_ARGUMENT, ERR_NOT_CLONEABLE, ERR_TYPE, ERR_BAD_KEY)', async () => {
    const store = res.store();
    const { worker } = startWorker(store, 'errors');
    const { result } = await messageFrom<{ result: Record<string, ErrorInfo> & { valueAfter: unknown } }>(
      worker,
      (m) => m?.type === 'result',
      'the worker to report',
    );

    // The same calls in the main thread, on a store in the same state.
    const local = res.store();
    await local.set('e:k', 1);
    const stale = (await local.getEntry('e:k'))!.revision;
    await local.set('e:k', 2);
    const expected: Record<string, KvbusError> = {
      conflict: await rejectionOf(local.set('e:k', 3, { ifRevision: stale })),
      undefinedValue: await rejectionOf(local.set('e:k', undefined)),
      notCloneable: await rejectionOf(local.publish('e:chan', () => 1)),
      notCloneableValue: await rejectionOf(local.set('e:fn', { f: () => 1 })),
      type: await local.set('e:str', 'abc').then(() => rejectionOf(local.incr('e:str'))),
      badKey: await rejectionOf(local.get('')),
      unknownOp: await rejectionOf(local.apply('e:k', 'no-such-op')),
    };
    const codes: Record<string, string> = {
      conflict: 'ERR_CONFLICT',
      undefinedValue: 'ERR_BAD_ARGUMENT',
      notCloneable: 'ERR_NOT_CLONEABLE',
      notCloneableValue: 'ERR_NOT_CLONEABLE',
      type: 'ERR_TYPE',
      badKey: 'ERR_BAD_KEY',
      unknownOp: 'ERR_BAD_ARGUMENT',
    };
    for (const [name, code] of Object.entries(codes)) {
      expect(expected[name]!.code, `main thread: ${name}`).toBe(code);
      expect(result[name], `worker: ${name}`).toEqual({ isKvbusError: true, name: 'KvbusError', code, message: expected[name]!.message });
    }
    expect(result.notCloneable!.message).toContain('e:chan');
    expect(result.notCloneableValue!.message).toContain('e:fn');
    expect(result.valueAfter).toBe(2);
    expect(await store.get('e:k')).toBe(2);
  });
});

describe('malformed messages on a worker port', () => {
  it('are counted in stats().malformed, get an error reply when they can be answered, and the store keeps working', async () => {
    const store = res.store();
    const before = await store.stats();
    const worker = res.worker(new Worker(fixtureUrl('malformed-worker.mjs')));
    store.attach(worker);
    const { welcome, replies } = await messageFrom<{ welcome: unknown; replies: Array<[number, boolean, any]> }>(
      worker,
      (m) => m?.type === 'result',
      'the worker to report',
    );
    expect(welcome).toMatchObject({ id: expect.any(Number) });
    const bySeq = new Map(replies.map((r) => [r[0], r]));
    // The unknown command and the null command get error replies with a code and a message.
    expect(bySeq.get(1)).toEqual([1, false, expect.objectContaining({ code: 'ERR_BAD_ARGUMENT', message: expect.stringMatching(/nope/) })]);
    expect(bySeq.get(2)).toEqual([2, false, expect.objectContaining({ code: 'ERR_BAD_KEY' })]);
    // The connection survived: valid requests after the garbage are served.
    expect(bySeq.get(3)).toEqual([3, true, expect.any(Number)]);
    expect(bySeq.get(4)).toEqual([4, true, 42]);
    const after = await store.stats();
    // A string, a non-array req, a bad sequence number, an unknown command, a null command.
    expect(after.malformed - before.malformed).toBeGreaterThanOrEqual(5);
    expect(await store.get('m')).toBe(42);
    expect(await store.incr('ok')).toBe(1);
  });
});
