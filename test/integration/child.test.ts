import { fork } from 'node:child_process';
import type { PeerEvent } from 'kvbus';
import { filter, firstValueFrom, skip, take, timeout, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { fixturePath } from '../helpers/fixtures.js';
import { childExit, messageFrom } from '../helpers/processes.js';
import { Resources } from '../helpers/resources.js';
import { nextValue, WAIT_MS, waitForStats } from '../helpers/wait.js';

const CHILD = fixturePath('child.mjs');

const res = new Resources();
afterEach(() => res.cleanup());

type Started = { type: 'started'; seen: number | null; pid: number };
type Added = { type: 'added'; total: number; pid: number };
type Up = Started | Added;
const isStarted = (m: Up): m is Started => m.type === 'started';
const isAdded = (m: Up): m is Added => m.type === 'added';

describe('store.fork', () => {
  it('runs a child that incrs, publishes up and handles events sent down with onSubscriberReceive', async () => {
    const store = res.store();
    const up = store.channel<Up>('up');
    const started = nextValue(up, isStarted, 'the child to start');
    const child = res.child(store.fork(CHILD, ['bridge']));
    expect((await started).pid).toBe(child.pid);
    const added = nextValue(up, isAdded, 'the child to handle the event');
    // The child's subscription is active (it subscribed before publishing 'started').
    expect(await store.publish('down', { type: 'add', n: 3 })).toBe(1);
    expect(await added).toEqual({ type: 'added', total: 3, pid: child.pid });
    expect(await store.get('bridge:total')).toBe(3);
    const stats = await store.stats();
    expect(stats.clients).toBe(1);
  });

  it('gives an exact total when 3 children incr one key 500 times each, concurrently', async () => {
    const store = res.store();
    const children = [1, 2, 3].map(() => res.child(store.fork(CHILD, ['incr', 'shared', '500'])));
    const exits = await Promise.all(children.map((child) => childExit(child)));
    // With nothing pending and nothing subscribed, each child ends by itself.
    expect(exits).toEqual([1, 2, 3].map(() => ({ code: 0, signal: null })));
    expect(await store.get('shared')).toBe(1500);
    await waitForStats(store, (s) => s.clients === 0, 'the children to leave');
  });

  it("runs the seed's scenario: the child is killed, restarted, and sees the old state", async () => {
    const store = res.store();
    const up = store.channel<Up>('up');
    const peers: PeerEvent[] = [];
    store.peers().subscribe((e) => peers.push(e));

    let started = nextValue(up, isStarted, 'the first child to start');
    const first = res.child(store.fork(CHILD, ['bridge']));
    expect((await started).seen).toBeNull();
    let added = nextValue(up, isAdded, 'the first child to handle an event');
    await store.publish('down', { type: 'add', n: 5 });
    expect(await added).toMatchObject({ total: 5, pid: first.pid });

    const exitEvent = nextValue(store.peers(), (e) => e.type === 'exit', 'the exit of the killed child');
    first.kill('SIGKILL');
    expect(await childExit(first)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await exitEvent).toMatchObject({ type: 'exit', kind: 'process' });
    await waitForStats(store, (s) => s.clients === 0 && s.subscriptions === 0, 'the killed child to leave');
    // Nobody listens on 'down' any more.
    expect(await store.publish('down', { type: 'add', n: 100 })).toBe(0);

    started = nextValue(up, isStarted, 'the restarted child to start');
    const second = res.child(store.fork(CHILD, ['bridge']));
    const restarted = await started;
    expect(restarted).toEqual({ type: 'started', seen: 5, pid: second.pid });
    added = nextValue(up, isAdded, 'the restarted child to handle an event');
    expect(await store.publish('down', { type: 'add', n: 2 })).toBe(1);
    expect(await added).toMatchObject({ total: 7, pid: second.pid });

    expect(peers.map((p) => p.type)).toEqual(['join', 'exit', 'join']);
    expect(peers.every((p) => p.kind === 'process')).toBe(true);
    expect(peers[2]!.id).not.toBe(peers[0]!.id);
  });

  it('fans a publish out to every child and every main-thread observer', async () => {
    const store = res.store();
    const up = store.channel<Up>('up');
    const started = [
      nextValue(up, isStarted, 'the first child'),
      nextValue(up.pipe(filter(isStarted), skip(1)), () => true, 'the second child'),
    ];
    const children = [res.child(store.fork(CHILD, ['bridge'])), res.child(store.fork(CHILD, ['bridge']))];
    await Promise.all(started);
    const mainSeen: unknown[] = [];
    const sub = store.channel('down').subscribe((m) => mainSeen.push(m));
    const added = firstValueFrom(up.pipe(filter(isAdded), take(2), toArray(), timeout(WAIT_MS)));
    expect(await store.publish('down', { type: 'add', n: 1 })).toBe(3);
    const both = await added;
    sub.unsubscribe();
    expect(new Set(both.map((a) => a.pid))).toEqual(new Set(children.map((c) => c.pid)));
    expect(both.map((a) => a.total).sort()).toEqual([1, 2]);
    expect(mainSeen).toEqual([{ type: 'add', n: 1 }]);
  });

  it("completes a child's subscriptions, rejects its pending and later calls with ERR_CLOSED, and lets it exit when the store closes", async () => {
    const store = res.store();
    const child = res.child(store.fork(CHILD, ['until-closed']));
    await messageFrom(child, (m) => m?.type === 'subscribed', 'the child to subscribe');
    const report = messageFrom(child, (m) => m?.type === 'result', 'the child to report');
    await store.close();
    expect((await report).result).toEqual({ channel: 'complete', update: 'ERR_CLOSED', laterGet: 'ERR_CLOSED' });
    expect(await childExit(child)).toEqual({ code: 0, signal: null });
  });

  for (const [mode, exitCode] of [
    ['crash-exit', 3],
    ['crash-throw', 1],
  ] as const) {
    it(`leaves no subscription and no client behind when a child crashes (${mode === 'crash-exit' ? 'process.exit(3)' : 'an uncaught throw'})`, async () => {
      const store = res.store();
      const baseline = await store.stats();
      const exitEvent = nextValue(store.peers(), (e) => e.type === 'exit', 'the exit peer event');
      const child = res.child(store.fork(CHILD, [mode], { stdio: ['ignore', 'inherit', 'ignore', 'ipc'] }));
      const { stats } = await messageFrom<{ stats: { clients: number; subscriptions: number } }>(
        child,
        (m) => m?.type === 'subscribed',
        'the child to subscribe',
      );
      expect(stats.clients).toBe(baseline.clients + 1);
      expect(stats.subscriptions).toBe(baseline.subscriptions + 4);
      expect(await childExit(child)).toEqual({ code: exitCode, signal: null });
      expect(await exitEvent).toEqual({ type: 'exit', kind: 'process', id: expect.any(Number), exitCode, pid: expect.any(Number) });
      await waitForStats(
        store,
        (s) => s.clients === baseline.clients && s.subscriptions === baseline.subscriptions,
        'the crashed child to leave nothing behind',
      );
      // The store still works, and nobody receives on the child's channel.
      expect(await store.publish('crash:chan', 'anyone?')).toBe(0);
      expect(await store.incr('after-crash')).toBe(1);
    });
  }
});

describe('store.attach(child)', () => {
  it('connects a child forked with plain child_process.fork (advanced serialization, KVBUS_PARENT=1)', async () => {
    const store = res.store();
    const message = nextValue(
      store.channel<{ from: string; n: number; map: Map<string, number> }>('attached:up'),
      () => true,
      'the child to publish',
    );
    const child = res.child(fork(CHILD, ['attached'], { serialization: 'advanced', env: { ...process.env, KVBUS_PARENT: '1' } }));
    const detach = store.attach(child);
    expect(typeof detach).toBe('function');
    const got = await message;
    expect(got.from).toBe('plain fork');
    expect(got.n).toBe(1);
    expect(got.map).toBeInstanceOf(Map);
    expect(got.map.get('pid')).toBe(child.pid);
    expect(await store.get('attached:count')).toBe(1);
    expect(await childExit(child)).toEqual({ code: 0, signal: null });
    await waitForStats(store, (s) => s.clients === 0, 'the child to leave');
  });
});

describe('values across the process boundary', () => {
  it('keeps Map, Set, Date, Uint8Array and bigint through the round trip to a child and back', async () => {
    const store = res.store();
    await store.set('rich', {
      map: new Map<string, unknown>([
        ['a', 1],
        ['b', new Date(7)],
      ]),
      date: new Date(1_000_000_000_000),
      bytes: new Uint8Array([1, 2, 3]),
      set: new Set(['x']),
      big: 123n,
      nested: [new Map([['deep', true]])],
    });
    const up = nextValue(
      store.channel<{ checks: Record<string, boolean>; echo: Record<string, unknown> }>('rich:up'),
      () => true,
      'the child to report',
    );
    const child = res.child(store.fork(CHILD, ['rich']));
    const { checks, echo } = await up;
    expect(checks).toEqual({ map: true, date: true, bytes: true, set: true, bigint: true, nested: true });
    expect(echo.map).toBeInstanceOf(Map);
    expect(echo.bytes).toBeInstanceOf(Uint8Array);
    const back = (await store.get('rich:back')) as Record<string, unknown>;
    expect(back.from).toBe('child');
    expect(back.date).toBeInstanceOf(Date);
    expect((back.date as Date).getTime()).toBe(1_000_000_000_000);
    expect(back.bytes).toEqual(new Uint8Array([1, 2, 3]));
    expect(back.set).toEqual(new Set(['x']));
    expect(back.big).toBe(123n);
    expect(back.map2).toBeInstanceOf(Map);
    expect((back.map2 as Map<number, Date>).get(1)).toEqual(new Date(5));
    expect(await childExit(child)).toEqual({ code: 0, signal: null });
  });
});
