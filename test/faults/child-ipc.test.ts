// A child process cannot kill its parent with what it sends: store.fork talks to
// it on a pipe of its own whose frames are decoded where kvbus can catch what
// fails, and the IPC channel's own decoder is guarded.
import { type ChildProcess, fork } from 'node:child_process';
import type { PeerEvent } from 'kvbus';
import { afterEach, describe, expect, it } from 'vitest';
import { fixturePath } from '../helpers/fixtures.js';
import { childExit, messageFrom } from '../helpers/processes.js';
import { Resources } from '../helpers/resources.js';
import { eventually, waitForStats, waitUntil } from '../helpers/wait.js';

const DEEP = fixturePath('faults/deep-child.mjs');
const WIRE = fixturePath('faults/wire-child.mjs');
const TYPED = fixturePath('faults/typed-child.mjs');
/** Enough stack in the child to build, copy and send {@link DEPTH} levels; the parent's default stack cannot read them. */
const BIG_STACK = ['--stack-size=3900'];
/** Deeper than the parent can decode (~4000 with the default stack), not more than the child's copy of it can send. */
const DEPTH = '6000';
const Q = 'kvbus/3:q';

const res = new Resources();
afterEach(() => res.cleanup());

function recordPeers(store: { peers(): { subscribe(f: (e: PeerEvent) => void): unknown } }): PeerEvent[] {
  const events: PeerEvent[] = [];
  store.peers().subscribe((e) => events.push(e));
  return events;
}

/** Drives test/fixtures/faults/wire-child.mjs. */
class WireChild {
  #id = 0;
  constructor(readonly child: ChildProcess) {}

  static async start(store: { fork(path: string, args?: string[], options?: object): ChildProcess }): Promise<WireChild> {
    const child = res.child(store.fork(WIRE));
    await messageFrom(child, (m) => m?.type === 'ready', 'the wire child to start');
    return new WireChild(child);
  }

  async #do(command: object): Promise<any> {
    const id = ++this.#id;
    const done = messageFrom(this.child, (m) => m?.id === id, `the wire child's step ${id}`);
    this.child.send({ ...command, id });
    return done;
  }

  frame(message: unknown): Promise<unknown> {
    return this.#do({ op: 'frame', message });
  }

  raw(bytes: number[]): Promise<unknown> {
    return this.#do({ op: 'raw', bytes });
  }

  async ask(seq: number, ...request: unknown[]): Promise<unknown> {
    return (await this.#do({ op: 'ask', seq, message: [Q, 0, 0, seq, ...request] })).reply;
  }
}

describe('child processes cannot kill their parent', () => {
  it('survives a store.fork child that sends a value nested deeper than the parent can decode, on kvbus', async () => {
    const store = res.store({ requestTimeoutMs: 1000 });
    await store.set('keep', 'me');
    const child = res.child(store.fork(DEEP, ['kvbus', DEPTH], { execArgv: BIG_STACK }));
    const report = await messageFrom(child, (m) => m?.type === 'report', 'the deep child to report', 10_000);
    // The deep call fails (TODO(lost-message ledger, the other helper's branch): with an error at once, not ERR_TIMEOUT);
    // the next call on the same pipe is answered.
    expect(report.set).toMatchObject({ ok: false, name: 'KvbusError' });
    expect(report.after).toEqual({ ok: true, value: 1 });
    expect(await store.has('deep')).toBe(false);
    expect(await store.get('keep')).toBe('me');
    expect(await childExit(child)).toEqual({ code: 0, signal: null });
  });

  it("survives a store.fork child that sends such a value on the user's IPC channel: that channel is cut, kvbus goes on", async () => {
    const store = res.store();
    const child = res.child(store.fork(DEEP, ['ipc'], { execArgv: BIG_STACK }));
    const disconnected = new Promise((resolve) => child.once('disconnect', resolve));
    await eventually(async () => {
      const report = await store.get('deep:report');
      if (!report) throw new Error('no report yet');
      return report;
    }, 'the child to report through kvbus').then((report) => {
      expect(report).toEqual({ after: { ok: true, value: 1 }, connected: false });
    });
    await disconnected;
    expect(await store.get('before')).toBe(1);
  });

  it('cuts off a child attached over plain IPC that sends such a value, and says why in peers()', async () => {
    const store = res.store({ requestTimeoutMs: 2000 });
    const peers = recordPeers(store);
    const { KVBUS_PIPE: _pipe, ...env } = process.env;
    const child = res.child(
      fork(DEEP, ['kvbus', DEPTH], {
        serialization: 'advanced',
        execArgv: BIG_STACK,
        env: { ...env, KVBUS_PARENT: '1' },
        stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      }),
    );
    const before = await store.stats();
    store.attach(child);
    await waitUntil(() => peers.some((e) => e.type === 'exit'), 'the child to be cut off');
    expect(peers.map((e) => e.type)).toEqual(['join', 'exit']);
    expect(peers[1]).toMatchObject({ kind: 'process', reason: expect.stringMatching(/cut off.*could not be decoded/), pid: child.pid });
    await waitForStats(store, (s) => s.malformed === before.malformed + 1 && s.clients === 0, 'the cut-off to be counted');
    expect(await store.has('deep')).toBe(false);
    expect(await store.incr('main:still')).toBe(1);
  });

  it("copies a child's typed arrays out of their frame: a stored view holds its own bytes, not its batch's", async () => {
    const store = res.store();
    const child = res.child(store.fork(TYPED));
    await messageFrom(child, (m) => m?.type === 'stored', 'the child to store its values');
    const a = (await store.get('typed:a')) as Uint8Array;
    expect([...a]).toEqual([1, 2, 3, 4]);
    expect(a.buffer.byteLength, 'the view owns exactly its bytes').toBe(4);
    expect(Buffer.from(a.buffer).includes('TOPSECRET')).toBe(false);
    const view = (await store.get('typed:view')) as DataView;
    expect(view.buffer.byteLength).toBe(3);
    expect(view.getUint8(0)).toBe(9);
  });

  it('reads frames that cannot be decoded as lost, in order, and goes on on the same pipe', async () => {
    const store = res.store();
    const wire = await WireChild.start(store);
    await wire.frame({ p: 'kvbus/3' });
    expect(await wire.ask(1, 10, 'n', 1)).toEqual({ ok: true, value: 1 });
    // A header for 3 bytes that are not v8's: that frame is lost, the next one is read.
    await wire.raw([0, 0, 0, 3, 0x01, 0x02, 0x03]);
    expect(await wire.ask(2, 10, 'n', 1)).toEqual({ ok: true, value: 2 });
    // A frame split across writes is put back together.
    expect(await wire.ask(3, 0, 'n')).toEqual({ ok: true, value: 2 });
    expect((await store.stats()).clients).toBe(1);
  });

  it('cuts off a store.fork child whose frame header cannot be true, and says why in peers()', async () => {
    const store = res.store();
    const peers = recordPeers(store);
    const wire = await WireChild.start(store);
    await wire.frame({ p: 'kvbus/3' });
    expect(await wire.ask(1, 10, 'n', 1)).toEqual({ ok: true, value: 1 });
    const before = await store.stats();
    const closed = messageFrom(wire.child, (m) => m?.type === 'closed', 'the parent to close the pipe');
    await wire.raw([0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
    await closed;
    await waitUntil(() => peers.some((e) => e.type === 'exit'), 'the exit event');
    expect(peers.find((e) => e.type === 'exit')).toMatchObject({
      kind: 'process',
      pid: wire.child.pid,
      reason: expect.stringMatching(/cut off: a frame header announced 4294967295 bytes/),
    });
    await waitForStats(store, (s) => s.malformed === before.malformed + 1 && s.clients === 0, 'the cut-off to be counted');
    expect(await store.get('n')).toBe(1);
  });

  it('refuses and counts garbage sent on the pipe before the hello, then serves the hello', async () => {
    const store = res.store();
    const peers = recordPeers(store);
    const wire = await WireChild.start(store);
    const before = await store.stats();
    await wire.frame('garbage');
    await wire.frame([Q, 0, 0, 1, 10, 'n', 1]);
    await wire.raw([0, 0, 0, 2, 0x01, 0x02]);
    await waitForStats(store, (s) => s.malformed === before.malformed + 3, 'three refusals');
    expect(peers.map((e) => e.type)).toEqual(['rejected', 'rejected', 'rejected']);
    await wire.frame({ p: 'kvbus/3' });
    expect(await wire.ask(2, 10, 'n', 1)).toEqual({ ok: true, value: 1 });
    expect(peers.map((e) => e.type)).toEqual(['rejected', 'rejected', 'rejected', 'join']);
  });

  it('counts a header that cannot be true before the hello once, as a rejected child', async () => {
    const store = res.store();
    const peers = recordPeers(store);
    const wire = await WireChild.start(store);
    const before = await store.stats();
    const closed = messageFrom(wire.child, (m) => m?.type === 'closed', 'the parent to close the pipe');
    await wire.raw([0, 0, 0, 0]);
    await closed;
    await waitForStats(store, (s) => s.malformed === before.malformed + 1, 'the refusal');
    expect(peers).toMatchObject([
      { type: 'rejected', kind: 'process', pid: wire.child.pid, reason: expect.stringMatching(/announced 0 bytes/) },
    ]);
    expect((await store.stats()).malformed).toBe(before.malformed + 1);
  });

  it("keeps kvbus's messages off the user's 'message' listeners on both sides", async () => {
    const store = res.store();
    const child = res.child(store.fork(DEEP, ['listen']));
    const seenByParent: unknown[] = [];
    child.on('message', (m) => seenByParent.push(m));
    await messageFrom(child, (m) => m?.type === 'user', 'the user message');
    child.send({ type: 'user-down' });
    await store.publish('listen:down', 'x');
    child.send({ type: 'report?' });
    const report = await messageFrom(child, (m) => m?.type === 'report', "the child's report");
    expect(report.seen).toEqual([{ type: 'user-down' }]);
    expect(seenByParent).toEqual([{ type: 'user', n: 1 }, report]);
  });
});
