// A message one side cannot read (a value nested deeper than its stack can
// deserialize: a 'messageerror' instead of a 'message') loses no call silently:
// the calls that were fine are sent again on their own and succeed, the one
// that cannot be read fails at once with ERR_NOT_CLONEABLE, not a timeout.
import { Worker } from 'node:worker_threads';
import type { PeerEvent } from 'kvbus';
import { afterEach, describe, expect, it } from 'vitest';
import { fixtureUrl } from '../helpers/fixtures.js';
import { messageFrom } from '../helpers/processes.js';
import { Resources } from '../helpers/resources.js';
import { waitForStats } from '../helpers/wait.js';

const LOST = fixtureUrl('faults/lost-worker.mjs');
/** Deep enough that the main thread (~1 MB of stack) cannot read it; a worker (4 MB) can write it. */
const TOO_DEEP_FOR_MAIN = 6000;
/** Deep enough that a worker with half a megabyte of stack cannot read it; the main thread can. */
const TOO_DEEP_FOR_SMALL = 1500;
const TIMEOUT_MS = 6000;
/** "At once": far below the request timeout. */
const PROMPT_MS = 2000;

const res = new Resources();
afterEach(() => res.cleanup());

interface Outcome {
  ok: boolean;
  value?: unknown;
  code?: string;
  message?: string;
  ms: number;
}

function nested(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

async function startWorker(store: ReturnType<Resources['store']>, options: { stackSizeMb?: number } = {}) {
  const worker = res.worker(new Worker(LOST, options.stackSizeMb ? { resourceLimits: { stackSizeMb: options.stackSizeMb } } : {}));
  const ready = messageFrom(worker, (m) => m?.type === 'ready', 'the worker to connect');
  store.attach(worker);
  await ready;
  return {
    worker,
    ask: <T>(command: Record<string, unknown>): Promise<T> => {
      const answer = messageFrom<T>(worker, (m) => m?.type === command.type, `the worker's ${String(command.type)} report`);
      worker.postMessage(command);
      return answer;
    },
  };
}

function expectPromptFailure(outcome: Outcome | undefined, what: RegExp): void {
  expect(outcome, 'the call failed').toMatchObject({ ok: false, code: 'ERR_NOT_CLONEABLE' });
  expect(outcome!.message).toMatch(what);
  expect(outcome!.ms, 'it failed at once, not after requestTimeoutMs').toBeLessThan(PROMPT_MS);
}

describe('a message the store cannot read', () => {
  it('answers each call of the batch on its own: the good ones succeed, the deep one fails at once', async () => {
    const store = res.store({ requestTimeoutMs: TIMEOUT_MS });
    const sender = await startWorker(store);
    const other = await startWorker(store);
    const before = await store.stats();

    const { results } = await sender.ask<{ results: Record<string, Outcome> }>({ type: 'batch', depth: TOO_DEEP_FOR_MAIN });
    expect(results.incr).toMatchObject({ ok: true, value: 1 });
    expect(results.before).toMatchObject({ ok: true });
    expect(results.get).toMatchObject({ ok: true, value: 'yes' });
    expect(results.after).toMatchObject({ ok: true, value: 11 });
    expectPromptFailure(results.deep, /set request for key "deep".*nested too deeply/);
    for (const name of ['incr', 'before', 'get', 'after']) expect(results[name]!.ms).toBeLessThan(PROMPT_MS);

    // Two messages could not be read: the batch, then the deep request sent again alone.
    const after = await store.stats();
    expect(after.malformed - before.malformed).toBe(2);
    expect(await store.has('deep')).toBe(false);
    expect(await store.get('n')).toBe(11);

    // Everyone else goes on, and so does the sender.
    const { results: others } = await other.ask<{ results: Record<string, Outcome> }>({ type: 'batch', depth: 10 });
    expect(Object.values(others).every((outcome) => outcome.ok)).toBe(true);
    const { results: again } = await sender.ask<{ results: Record<string, Outcome> }>({ type: 'batch', depth: 10 });
    expect(Object.values(again).every((outcome) => outcome.ok)).toBe(true);
    expect(await store.get('n')).toBe(33);
    expect((await store.stats()).malformed).toBe(after.malformed);
  });

  it('fails a blocking call whose request it cannot read at once, after the calls made before it', async () => {
    const store = res.store({ requestTimeoutMs: TIMEOUT_MS });
    const sender = await startWorker(store);
    const before = await store.stats();

    const report = await sender.ask<{ deep: Outcome; fine: Outcome; before: Outcome }>({ type: 'sync', depth: TOO_DEEP_FOR_MAIN });
    expectPromptFailure(report.deep, /set request for key "deep".*nested too deeply/);
    expect(report.before).toMatchObject({ ok: true, value: 1 });
    // The next blocking call works, and sees the async incr made before the failed one.
    expect(report.fine).toMatchObject({ ok: true, value: 101 });
    expect((await store.stats()).malformed - before.malformed).toBe(1);
  });
});

describe('a message the worker cannot read', () => {
  it('rejects the reply it cannot read at once and delivers the other replies', async () => {
    const store = res.store({ requestTimeoutMs: TIMEOUT_MS });
    const reader = await startWorker(store, { stackSizeMb: 0.5 });
    await store.set('deep', nested(TOO_DEEP_FOR_SMALL));
    await store.set('fine', 'yes');

    const { results } = await reader.ask<{ results: Record<string, Outcome> }>({ type: 'read', key: 'deep' });
    expect(results.n).toMatchObject({ ok: true, value: 1 });
    expect(results.fine).toMatchObject({ ok: true, value: 'yes' });
    expectPromptFailure(results.deep, /could not read the reply/);

    const sync = await reader.ask<{ deep: Outcome; fine: Outcome }>({ type: 'read-sync', key: 'deep' });
    expectPromptFailure(sync.deep, /could not be read in this thread/);
    expect(sync.fine).toMatchObject({ ok: true, value: 'yes' });
  });

  it('drops a watch event it cannot read (counted) and delivers the next ones', async () => {
    const store = res.store({ requestTimeoutMs: TIMEOUT_MS });
    const reader = await startWorker(store, { stackSizeMb: 0.5 });
    await store.set('w', 'first');
    const watching = messageFrom(reader.worker, (m) => m?.type === 'watching', 'the worker to watch');
    const watched = messageFrom<{ seen: unknown[] }>(reader.worker, (m) => m?.type === 'watched', 'the worker to see the last value');
    reader.worker.postMessage({ type: 'watch', key: 'w', until: 'last' });
    await watching;
    const before = await store.stats();
    await store.set('w', nested(TOO_DEEP_FOR_SMALL));
    await waitForStats(store, (stats) => stats.dropped === before.dropped + 1, 'the unreadable event to be dropped');
    await store.set('w', 'last');
    const { seen } = await watched;
    expect(seen).toEqual(['first', 'last']);
  });
});

describe('a client that never sends a lost message again', () => {
  const MUTE = fixtureUrl('faults/lost-mute-worker.mjs');

  async function mute(requestTimeoutMs: number, count: number) {
    const store = res.store({ requestTimeoutMs });
    const peers: PeerEvent[] = [];
    store.peers().subscribe((event) => peers.push(event)); // completes when the store closes
    const worker = res.worker(new Worker(MUTE, { workerData: { count } }));
    const closed = messageFrom<{ replies: number; lost: number }>(worker, (m) => m?.type === 'closed', 'the store to cut the worker off');
    store.attach(worker);
    const report = await closed;
    return { store, peers, report };
  }

  it('is cut off after requestTimeoutMs: its held requests are not applied, peers() says why, the store goes on', async () => {
    const { store, peers, report } = await mute(500, 10);
    expect(report.lost, 'the store asked for the message again').toBe(1);
    expect(report.replies, 'nothing held behind the lost message was answered').toBe(0);
    expect(await store.get('mute:n')).toBeUndefined();
    const exit = peers.find((event) => event.type === 'exit');
    expect(exit?.reason).toMatch(/did not send again, within requestTimeoutMs \(500 ms\), a message it lost/);
    const stats = await waitForStats(store, (s) => s.clients === 0, 'the worker to be dropped');
    expect(stats.malformed, 'the unreadable message and the cut-off').toBe(2);
    expect(await store.incr('other')).toBe(1);
  });

  it('is cut off at once when it sends 10 000 messages behind the lost one', async () => {
    const { store, peers, report } = await mute(60_000, 10_001);
    expect(report.replies).toBe(0);
    expect(peers.find((event) => event.type === 'exit')?.reason).toMatch(/sent 10000 messages after one it lost/);
    const stats = await waitForStats(store, (s) => s.clients === 0, 'the worker to be dropped');
    expect(stats.malformed).toBe(2);
  });
});
