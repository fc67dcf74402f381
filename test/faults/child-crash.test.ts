// A child (store.fork) SIGKILLed while it keeps hundreds of increments in flight,
// next to another child running an exact incr job. The store survives; the dead
// child's subscriptions and pending work are dropped and peers() reports the
// signal; every increment acknowledged to it is in the store; the other child's
// total is exact; a child forked afterwards works.
// (test/integration/child.test.ts covers idle children that exit, throw or are killed.)
import type { ChildProcess } from 'node:child_process';
import type { PeerEvent } from 'kvbus';
import { afterEach, describe, expect, it } from 'vitest';
import { fixturePath } from '../helpers/fixtures.js';
import { childExit, messageFrom } from '../helpers/processes.js';
import { Resources } from '../helpers/resources.js';
import { sleep, waitForStats, waitUntil } from '../helpers/wait.js';

const CHILD = fixturePath('faults/crash-child.mjs');

const res = new Resources();
afterEach(() => res.cleanup());

/** What the loaded child said so far: the most it announced sending, the most it saw acknowledged. */
function followLoad(child: ChildProcess): { sent: number; acked: number } {
  const seen = { sent: 0, acked: 0 };
  child.on('message', (message: { type?: string; total?: number; acked?: number }) => {
    if (message?.type === 'sending') seen.sent = Math.max(seen.sent, message.total!);
    if (message?.type === 'acks') seen.acked = Math.max(seen.acked, message.acked!);
  });
  return seen;
}

async function stopSteady(child: ChildProcess): Promise<number> {
  const done = messageFrom<{ done: number }>(child, (m) => m?.type === 'steady-done', 'the steady child to report');
  child.send({ type: 'stop' });
  return (await done).done;
}

describe('a child SIGKILLed mid-load', () => {
  it('loses no acknowledged increment, leaves nothing behind, and the other child and the store go on exactly', async () => {
    const store = res.store();
    const peers: PeerEvent[] = [];
    store.peers().subscribe((e) => peers.push(e));
    const steady = res.child(store.fork(CHILD, ['steady', 'steady']));
    await waitUntil(async () => ((await store.get<number>('steady')) ?? 0) > 50, 'the steady child to make progress');
    const baseline = await store.stats();
    expect(baseline).toMatchObject({ clients: 1, subscriptions: 0 });

    const loaded = res.child(store.fork(CHILD, ['load', 'loaded']));
    const seen = followLoad(loaded);
    await messageFrom(loaded, (m) => m?.type === 'subscribed', 'the loaded child to subscribe');
    expect(await store.stats()).toMatchObject({ clients: 2, subscriptions: 4 });
    loaded.send({ type: 'go' });
    await waitUntil(() => seen.acked >= 2_000, 'the loaded child to have 2 000 increments acknowledged');
    expect(seen.sent).toBeGreaterThan(seen.acked);

    loaded.kill('SIGKILL');
    expect(await childExit(loaded)).toEqual({ code: null, signal: 'SIGKILL' });
    await waitUntil(() => peers.some((e) => e.type === 'exit'), 'peers() to report the exit');
    expect(peers.filter((e) => e.type === 'exit')).toEqual([
      { type: 'exit', id: expect.any(Number), kind: 'process', signal: 'SIGKILL', pid: expect.any(Number) },
    ]);
    await waitForStats(
      store,
      (s) => s.clients === baseline.clients && s.subscriptions === baseline.subscriptions && s.queueDepth === 0,
      'the killed child to leave no client, subscription or pending work behind',
    );

    // Acknowledged ≤ value ≤ sent, and nothing of the dead child arrives later.
    const value = ((await store.get('loaded')) as number | undefined) ?? 0;
    console.info(`[child crash] sent ≤ ${seen.sent}, acknowledged ≥ ${seen.acked}, in the store ${value}`);
    expect(value).toBeGreaterThanOrEqual(seen.acked);
    expect(value).toBeLessThanOrEqual(seen.sent);
    await sleep(50);
    expect((await store.get('loaded')) ?? 0).toBe(value);

    // The other child went on through the fault, exactly.
    const atKill = ((await store.get('steady')) as number) ?? 0;
    await waitUntil(async () => ((await store.get('steady')) as number) > atKill + 50, 'the steady child to go on after the kill');
    const done = await stopSteady(steady);
    expect(await store.get('steady')).toBe(done);

    // A child forked afterwards works, exactly.
    const next = res.child(store.fork(CHILD, ['steady', 'after']));
    await waitUntil(async () => ((await store.get<number>('after')) ?? 0) > 10, 'a new child to work');
    const doneAfter = await stopSteady(next);
    expect(await store.get('after')).toBe(doneAfter);
    expect(await store.publish('crash:chan', 'anyone?')).toBe(0);
  });
});
