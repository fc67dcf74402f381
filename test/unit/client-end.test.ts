// The worker's / child's end of the wire: RemoteLink over an in-memory message
// stream, and its parts CallTimer and SharedTopics.
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SubEvent } from '../../src/commands/events.js';
import type { SubscriptionHandlers } from '../../src/commands/link.js';
import type { Command } from '../../src/commands/table.js';
import { KvbusError, type KvbusErrorCode } from '../../src/errors.js';
import { CallTimer } from '../../src/streams/client-end/call-timer.js';
import { RemoteLink } from '../../src/streams/client-end/remote-link.js';
import { SharedTopics } from '../../src/streams/client-end/shared-topics.js';
import type { SyncChannel } from '../../src/streams/client-end/sync-call.js';
import {
  ANSWERS,
  type ControlMessage,
  PROTOCOL,
  REQUEST_HEADER,
  REQUESTS,
  RESENT_ANSWERS,
  RESENT_REQUESTS,
  type WireReply,
} from '../../src/streams/protocol/framing.js';
import { nextRequest, readRequest } from '../../src/streams/protocol/requests.js';
import type { Topic } from '../../src/types.js';
import { FakeStream } from '../helpers/fake-stream.js';

function welcome(requestTimeoutMs = 30_000, window = 5000): ControlMessage {
  return { p: PROTOCOL, welcome: { id: 1, requestTimeoutMs, window } };
}

function open(options: { timeoutMs?: number; window?: number; sync?: SyncChannel } = {}) {
  const stream = new FakeStream();
  const link = new RemoteLink(stream, options.sync);
  stream.receive(welcome(options.timeoutMs, options.window));
  return { stream, link };
}

/** A settled-or-not view of a promise, readable synchronously. */
function track<T>(promise: Promise<T>): { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } {
  const result: { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } = { state: 'pending' };
  promise.then(
    (value) => Object.assign(result, { state: 'resolved', value }),
    (error: unknown) => Object.assign(result, { state: 'rejected', error }),
  );
  return result;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A request batch read back: its header and its (seq, command) pairs. */
function readBatch(message: unknown): { ack: unknown; sync: unknown; requests: Array<[unknown, Command | undefined]> } {
  expect(Array.isArray(message)).toBe(true);
  const m = message as unknown[];
  expect(m[0]).toBe(REQUESTS);
  const requests: Array<[unknown, Command | undefined]> = [];
  for (let at = REQUEST_HEADER; at < m.length; at = nextRequest(m, at)) requests.push([m[at], readRequest(m, at)]);
  return { ack: m[1], sync: m[2], requests };
}

function expectKvbusError(error: unknown, code: KvbusErrorCode): void {
  expect(error).toBeInstanceOf(KvbusError);
  expect((error as KvbusError).code).toBe(code);
}

function observer() {
  const log: { next: SubEvent[]; errors: unknown[]; completed: number } = { next: [], errors: [], completed: 0 };
  const handlers: SubscriptionHandlers = {
    next: (event) => void log.next.push(event),
    error: (error) => void log.errors.push(error),
    complete: () => void log.completed++,
  };
  return { handlers, log };
}

const channel = (name: string): Topic => ({ kind: 'channel', name });

afterEach(() => {
  vi.useRealTimers();
});

describe('RemoteLink (client end)', () => {
  it('sends the requests of one tick as one [REQUESTS, ack, 0, ...] message', async () => {
    const { stream, link } = open();
    void link.request({ type: 'kv.get', key: 'a' });
    void link.request({ type: 'kv.set', key: 'b', value: { n: [1, 2] }, ttlMs: 10 });
    void link.request({ type: 'bus.publish', channel: 'ch', data: 'hi' });
    expect(stream.posted).toEqual([]);
    await Promise.resolve();
    const posted = stream.take();
    expect(posted).toHaveLength(1);
    expect(readBatch(posted[0])).toEqual({
      ack: 0,
      sync: 0,
      requests: [
        [1, { type: 'kv.get', key: 'a' }],
        [2, { type: 'kv.set', key: 'b', value: { n: [1, 2] }, ttlMs: 10 }],
        [3, { type: 'bus.publish', channel: 'ch', data: 'hi' }],
      ],
    });
    void link.request({ type: 'kv.has', key: 'c' });
    await tick();
    expect(readBatch(stream.take()[0]).requests).toEqual([[4, { type: 'kv.has', key: 'c' }]]);
  });

  it('settles each call with its own reply, rebuilding errors as KvbusErrors with their code', async () => {
    const { stream, link } = open();
    const one = track(link.request({ type: 'kv.get', key: 'a' }));
    const two = track(link.request({ type: 'kv.get', key: 'b' }));
    const three = track(link.request({ type: 'kv.incr', key: 'c', by: 1 }));
    const four = track(link.request({ type: 'kv.get', key: 'd' }));
    await tick();
    stream.receive([
      ANSWERS,
      4,
      2,
      'two',
      -1,
      { name: 'KvbusError', code: 'ERR_CONFLICT', message: 'moved on' },
      -4,
      { name: 'TypeError', message: 'plain' },
      3,
      { map: new Map([[1, 2]]) },
    ]);
    await tick();
    expect(two).toEqual({ state: 'resolved', value: 'two' });
    expect(three).toEqual({ state: 'resolved', value: { map: new Map([[1, 2]]) } });
    expect(one.state).toBe('rejected');
    expectKvbusError(one.error, 'ERR_CONFLICT');
    expect((one.error as Error).message).toBe('moved on');
    expect(four.state).toBe('rejected');
    expect(four.error).not.toBeInstanceOf(KvbusError);
    expect((four.error as Error).name).toBe('TypeError');
    // A late or unknown reply changes nothing.
    stream.receive([ANSWERS, 2, 2, 'again', 99, 'nobody']);
    await tick();
    expect(two).toEqual({ state: 'resolved', value: 'two' });
  });

  it('subscribes a topic in the store once for two local observers, and unsubscribes after the last leaves', async () => {
    const { stream, link } = open();
    const a = observer();
    const b = observer();
    const offA = link.subscribe(channel('ch'), a.handlers);
    const offB = link.subscribe(channel('ch'), b.handlers);
    await tick();
    expect(stream.take().map((m) => readBatch(m).requests)).toEqual([[[1, { type: 'sub.add', sid: 1, kind: 'channel', name: 'ch' }]]]);
    stream.receive([ANSWERS, 1, 1, true, -1, { n: 1 }]);
    expect(a.log.next).toEqual([{ type: 'message', channel: 'ch', data: { n: 1 } }]);
    expect(b.log.next).toEqual([{ type: 'message', channel: 'ch', data: { n: 1 } }]);
    offA();
    offA(); // twice: still one observer fewer
    await tick();
    expect(stream.take()).toEqual([]);
    stream.receive([ANSWERS, 0, -1, 2]);
    expect(a.log.next).toHaveLength(1);
    expect(b.log.next).toHaveLength(2);
    offB();
    await tick();
    expect(stream.take().map((m) => readBatch(m).requests)).toEqual([[[2, { type: 'sub.remove', sid: 1 }]]]);
    // Events still in flight for the old subscription reach nobody.
    stream.receive([ANSWERS, 0, -1, 3]);
    expect(b.log.next).toHaveLength(2);
    // A new observer of the same topic makes a new subscription, with a new sid.
    link.subscribe(channel('ch'), observer().handlers);
    await tick();
    expect(stream.take().map((m) => readBatch(m).requests)).toEqual([[[3, { type: 'sub.add', sid: 2, kind: 'channel', name: 'ch' }]]]);
  });

  it('gives a later observer of a watched key the last value seen, as a copy, without asking the store again', async () => {
    const { stream, link } = open();
    const first = observer();
    link.subscribe({ kind: 'key', name: 'k' }, first.handlers);
    await tick();
    stream.take();
    stream.receive([ANSWERS, 1, 1, true, 1, 2, 'k', { v: 1 }, 3]); // snapshot
    stream.receive([ANSWERS, 0, 1, 1, 'k', { v: 2 }, 4]); // set
    expect(first.log.next).toEqual([
      { type: 'snapshot', key: 'k', value: { v: 1 }, revision: 3 },
      { type: 'set', key: 'k', value: { v: 2 }, revision: 4 },
    ]);
    const later = observer();
    link.subscribe({ kind: 'key', name: 'k' }, later.handlers);
    expect(later.log.next).toEqual([{ type: 'set', key: 'k', value: { v: 2 }, revision: 4 }]);
    expect(later.log.next[0]).not.toBe(first.log.next[1]);
    await tick();
    expect(stream.take()).toEqual([]);
    // A later observer of a channel gets no replay.
    const chan = observer();
    link.subscribe(channel('c'), chan.handlers);
    stream.receive([ANSWERS, 0, -2, 'x']);
    const lateChan = observer();
    link.subscribe(channel('c'), lateChan.handlers);
    expect(lateChan.log.next).toEqual([]);
  });

  it("acknowledges in chunks of a quarter of the store's window of events, with the count of answer messages received; requests carry it too", async () => {
    const { stream, link } = open({ window: 8 }); // acks every 2 events
    link.subscribe(channel('ch'), observer().handlers);
    await tick();
    stream.take();
    stream.receive([ANSWERS, 1, 1, true, -1, 'a']);
    expect(stream.posted).toEqual([]);
    stream.receive([ANSWERS, 0, -1, 'b', -1, 'c']);
    expect(stream.take()).toEqual([[REQUESTS, 2, 0]]);
    // Events of subscriptions this client no longer has were still sent: they count too.
    stream.receive([ANSWERS, 0, -9, 'gone']);
    expect(stream.posted).toEqual([]);
    void link.request({ type: 'kv.get', key: 'a' });
    await tick();
    expect(readBatch(stream.take()[0]).ack).toBe(3);
  });

  it('acknowledges every 1024 events at most, whatever the window', () => {
    const { stream, link } = open({ window: 1_000_000 });
    link.subscribe(channel('ch'), observer().handlers);
    const events: unknown[] = [];
    for (let i = 0; i < 1023; i++) events.push(-1, i);
    stream.receive([ANSWERS, 0, ...events]);
    expect(stream.posted).toEqual([]);
    stream.receive([ANSWERS, 0, -1, 'last']);
    expect(stream.take()).toEqual([[REQUESTS, 2, 0]]);
  });

  it('errors the observers of a subscription the store ended, after its last events, and forgets it', async () => {
    const { stream, link } = open();
    const a = observer();
    link.subscribe(channel('ch'), a.handlers);
    await tick();
    stream.take();
    const end = { name: 'KvbusError', code: 'ERR_DISCONNECTED', message: 'fell behind' };
    stream.receive([ANSWERS, 1, 1, true, -1, 'last', 1, 6, end, -1, 'after']);
    expect(a.log.next).toEqual([{ type: 'message', channel: 'ch', data: 'last' }]);
    expect(a.log.errors).toHaveLength(1);
    expectKvbusError(a.log.errors[0], 'ERR_DISCONNECTED');
    expect(stream.referenced).toBe(false);
  });

  it('errors the observers when the store refuses the subscription', async () => {
    const { stream, link } = open();
    const a = observer();
    link.subscribe({ kind: 'key', name: '' }, a.handlers);
    await tick();
    stream.take();
    stream.receive([ANSWERS, 1, -1, { name: 'KvbusError', code: 'ERR_BAD_KEY', message: 'empty key' }]);
    await tick();
    expect(a.log.errors).toHaveLength(1);
    expectKvbusError(a.log.errors[0], 'ERR_BAD_KEY');
    expect(stream.referenced).toBe(false);
  });

  it('rejects a call the store does not answer with ERR_TIMEOUT, after the timeout and within 1.25 times it', async () => {
    vi.useFakeTimers();
    const { stream, link } = open({ timeoutMs: 100 });
    const call = track(link.request({ type: 'kv.get', key: 'a' }));
    const answered = track(link.request({ type: 'kv.get', key: 'b' }));
    await vi.advanceTimersByTimeAsync(10);
    stream.receive([ANSWERS, 1, 2, 'b']);
    await vi.advanceTimersByTimeAsync(89);
    expect(call.state).toBe('pending');
    expect(stream.referenced).toBe(true);
    await vi.advanceTimersByTimeAsync(26);
    expect(call.state).toBe('rejected');
    expectKvbusError(call.error, 'ERR_TIMEOUT');
    expect((call.error as Error).message).toContain('100 ms');
    expect(answered).toEqual({ state: 'resolved', value: 'b' });
    expect(stream.referenced).toBe(false);
    // The late answer changes nothing.
    stream.receive([ANSWERS, 1, 1, 'late']);
    await vi.advanceTimersByTimeAsync(0);
    expect(call.state).toBe('rejected');
  });

  it("applies the welcome's timeout to calls made before it arrived", async () => {
    vi.useFakeTimers();
    const stream = new FakeStream();
    const link = new RemoteLink(stream);
    const call = track(link.request({ type: 'kv.get', key: 'a' }));
    stream.receive(welcome(40));
    await vi.advanceTimersByTimeAsync(39);
    expect(call.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(11);
    expect(call.state).toBe('rejected');
    expectKvbusError(call.error, 'ERR_TIMEOUT');
  });

  it('rejects pending calls with ERR_DISCONNECTED and errors observers when the stream closes', async () => {
    const { stream, link } = open();
    const call = track(link.request({ type: 'kv.get', key: 'a' }));
    const a = observer();
    link.subscribe(channel('ch'), a.handlers);
    await tick();
    stream.hangUp();
    await tick();
    expect(call.state).toBe('rejected');
    expectKvbusError(call.error, 'ERR_DISCONNECTED');
    expect(a.log.errors).toHaveLength(1);
    expectKvbusError(a.log.errors[0], 'ERR_DISCONNECTED');
    expect(a.log.completed).toBe(0);
    expect(stream.referenced).toBe(false);
    // Later calls and subscriptions fail at once.
    await expect(link.request({ type: 'kv.get', key: 'b' })).rejects.toMatchObject({ code: 'ERR_DISCONNECTED' });
    const b = observer();
    link.subscribe(channel('ch'), b.handlers);
    expectKvbusError(b.log.errors[0], 'ERR_DISCONNECTED');
    expect(() => link.requestSync({ type: 'kv.get', key: 'c' })).toThrow(expect.objectContaining({ code: 'ERR_DISCONNECTED' }));
  });

  it('close() sends what waits, then bye; rejects pending and later calls with ERR_CLOSED and completes observers', async () => {
    const { stream, link } = open();
    const a = observer();
    link.subscribe(channel('ch'), a.handlers);
    await tick();
    stream.take();
    const call = track(link.request({ type: 'kv.get', key: 'a' }));
    await link.close();
    const posted = stream.take();
    expect(posted).toHaveLength(2);
    expect(readBatch(posted[0]).requests).toEqual([[2, { type: 'kv.get', key: 'a' }]]);
    expect(posted[1]).toEqual({ p: PROTOCOL, bye: true });
    expect(stream.closed).toBe(1);
    await tick();
    expect(call.state).toBe('rejected');
    expectKvbusError(call.error, 'ERR_CLOSED');
    expect(a.log.completed).toBe(1);
    expect(a.log.errors).toEqual([]);
    await expect(link.request({ type: 'kv.get', key: 'b' })).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await link.close();
    await tick();
    expect(stream.posted).toEqual([]);
    expect(stream.referenced).toBe(false);
  });

  it('treats the store closing like close(): ERR_CLOSED for calls, complete for observers', async () => {
    const { stream, link } = open();
    const a = observer();
    link.subscribe(channel('ch'), a.handlers);
    const call = track(link.request({ type: 'kv.get', key: 'a' }));
    await tick();
    stream.receive({ p: PROTOCOL, closed: true });
    await tick();
    expectKvbusError(call.error, 'ERR_CLOSED');
    expect(a.log.completed).toBe(1);
  });

  it('fails only the call whose value cannot be cloned with ERR_NOT_CLONEABLE; the others of its batch leave', async () => {
    const { stream, link } = open();
    const one = track(link.request({ type: 'kv.set', key: 'k1', value: 1 }));
    const two = track(link.request({ type: 'kv.set', key: 'k2', value: { fn: () => {} } }));
    const three = track(link.request({ type: 'bus.publish', channel: 'c3', data: 3 }));
    await tick();
    expect(two.state).toBe('rejected');
    expectKvbusError(two.error, 'ERR_NOT_CLONEABLE');
    expect((two.error as Error).message).toContain('"k2"');
    const posted = stream.take().map((m) => readBatch(m).requests);
    expect(posted).toEqual([[[1, { type: 'kv.set', key: 'k1', value: 1 }]], [[3, { type: 'bus.publish', channel: 'c3', data: 3 }]]]);
    stream.receive([ANSWERS, 2, 1, 11, 3, 1]);
    await tick();
    expect(one).toEqual({ state: 'resolved', value: 11 });
    expect(three).toEqual({ state: 'resolved', value: 1 });
    expect(stream.referenced).toBe(false);
  });

  // Fails today: when a batch cannot be cloned, it is re-sent one request at a
  // time with ack 0, so the acknowledgement it carried is lost; the store keeps
  // those events counted in flight for good and its window shrinks.
  it('keeps the acknowledgement a batch carried when one of its values cannot be cloned', async () => {
    const { stream, link } = open({ window: 8 }); // acks every 2 events
    link.subscribe(channel('ch'), observer().handlers);
    await tick();
    stream.take();
    stream.receive([ANSWERS, 1, 1, true, -1, 'event']); // one event, not yet acknowledged
    void link.request({ type: 'kv.get', key: 'a' });
    link.request({ type: 'kv.set', key: 'b', value: () => {} }).catch(() => {});
    await tick();
    const acks = stream.take().reduce<number>((sum, m) => sum + (readBatch(m).ack as number), 0);
    expect(acks, 'events acknowledged to the store').toBe(1);
  });

  it('holds the stream referenced only while a call is pending or a subscription is active', async () => {
    const { stream, link } = open();
    expect(stream.referenced).toBe(false);
    const call = link.request({ type: 'kv.get', key: 'a' });
    expect(stream.referenced).toBe(true);
    await tick();
    stream.receive([ANSWERS, 1, 1, 'a']);
    await call;
    expect(stream.referenced).toBe(false);
    const off = link.subscribe(channel('ch'), observer().handlers);
    expect(stream.referenced).toBe(true);
    await tick();
    stream.receive([ANSWERS, 1, 2, true]);
    expect(stream.referenced).toBe(true); // no call pending, but the subscription is active
    off();
    expect(stream.referenced).toBe(true); // the sub.remove is pending
    await tick();
    stream.receive([ANSWERS, 1, 3, true]);
    expect(stream.referenced).toBe(false);
  });

  it('refuses requestSync without a sync channel with ERR_WOULD_DEADLOCK', () => {
    const { stream, link } = open();
    expect(() => link.requestSync({ type: 'kv.get', key: 'a' })).toThrow(expect.objectContaining({ code: 'ERR_WOULD_DEADLOCK' }));
    expect(stream.posted).toEqual([]);
  });

  function syncChannel(replies: WireReply[]): SyncChannel & { flag: Int32Array } {
    return { flag: new Int32Array(new SharedArrayBuffer(4)), receive: () => replies.shift() };
  }

  it('requestSync sends earlier calls first, then its own flagged request, and returns its reply', async () => {
    const replies: WireReply[] = [];
    const sync = syncChannel(replies);
    const { stream, link } = open({ sync });
    void link.request({ type: 'kv.set', key: 'a', value: 1 });
    replies.push([1, true, 'the reply of a call that timed out'], [2, true, { v: 'b' }]);
    Atomics.store(sync.flag, 0, 1);
    expect(link.requestSync({ type: 'kv.get', key: 'b' })).toEqual({ v: 'b' });
    expect(sync.flag[0]).toBe(0);
    const [async, blocking, ...rest] = stream.take();
    expect(rest).toEqual([]);
    expect(readBatch(async).requests).toEqual([[1, { type: 'kv.set', key: 'a', value: 1 }]]);
    expect(readBatch(blocking)).toEqual({ ack: 0, sync: 2, requests: [[2, { type: 'kv.get', key: 'b' }]] });
    await tick();
    expect(stream.posted).toEqual([]); // the async call is not sent twice
  });

  it("requestSync throws the reply's error, or ERR_NOT_CLONEABLE before sending an uncloneable value", () => {
    const replies: WireReply[] = [[1, false, { name: 'KvbusError', code: 'ERR_TYPE', message: 'not a number' }]];
    const { stream, link } = open({ sync: syncChannel(replies) });
    expect(() => link.requestSync({ type: 'kv.incr', key: 'n', by: 1 })).toThrow(expect.objectContaining({ code: 'ERR_TYPE' }));
    stream.take();
    expect(() => link.requestSync({ type: 'kv.set', key: 'f', value: () => {} })).toThrow(
      expect.objectContaining({ code: 'ERR_NOT_CLONEABLE' }),
    );
    expect(stream.posted).toEqual([]);
  });

  it('acknowledges what arrived once idle for a timer tick, so the store can forget what it sent', async () => {
    const { stream, link } = open({ timeoutMs: 40 }); // a tick every 10 ms
    const a = track(link.request({ type: 'kv.get', key: 'a' }));
    await tick();
    stream.take();
    stream.receive([ANSWERS, 1, 1, 'A']);
    await tick();
    expect(a.value).toBe('A');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(stream.take()).toEqual([[REQUESTS, 1, 0]]);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(stream.posted).toEqual([]); // once
  });

  it('rejects (does not throw) a command that cannot be sent', async () => {
    const { link } = open();
    let result: Promise<unknown> | undefined;
    expect(() => {
      result = link.request({ type: 'sys.nope' } as unknown as Command);
    }).not.toThrow();
    await expect(result).rejects.toMatchObject({ code: 'ERR_BAD_ARGUMENT' });
  });

  it('sends the requests of a message the store could not read again one by one, then says so; one already alone fails', async () => {
    const { stream, link } = open();
    const a = track(link.request({ type: 'kv.get', key: 'a' }));
    const b = track(link.request({ type: 'kv.set', key: 'b', value: 'deep' }));
    const c = track(link.request({ type: 'kv.incr', key: 'c', by: 1 }));
    await tick();
    stream.take();
    stream.receive({ p: PROTOCOL, lost: 1 });
    const resent = stream.take() as unknown[][];
    expect(resent.map((m) => m[0])).toEqual([RESENT_REQUESTS, RESENT_REQUESTS, RESENT_REQUESTS, undefined]);
    expect(resent.slice(0, 3).map((m) => readBatch([REQUESTS, ...m.slice(1)]).requests[0]![0])).toEqual([1, 2, 3]);
    expect(resent[3]).toEqual({ p: PROTOCOL, redone: 1 });
    // The store could not read the second one alone (message 3): it fails at once, naming its key.
    stream.receive({ p: PROTOCOL, lost: 3 });
    expect(stream.take()).toEqual([{ p: PROTOCOL, redone: 3 }]);
    await tick();
    expect(b.state).toBe('rejected');
    expectKvbusError(b.error, 'ERR_NOT_CLONEABLE');
    expect((b.error as Error).message).toMatch(/kv.set request for key "b"/);
    stream.receive([ANSWERS, 2, 1, 'A', 3, 1]);
    await tick();
    expect([a.value, c.value]).toEqual(['A', 1]);
    // Answered: nothing is kept to send again.
    stream.receive({ p: PROTOCOL, lost: 4 });
    expect(stream.take()).toEqual([{ p: PROTOCOL, redone: 4 }]);
  });

  it('tells the store of an answer it could not read, and holds back later answers until the store has sent it again', async () => {
    const { stream, link } = open();
    const a = track(link.request({ type: 'kv.get', key: 'a' }));
    const b = track(link.request({ type: 'kv.get', key: 'b' }));
    await tick();
    stream.take();
    stream.receiveUndecodable();
    expect(stream.take()).toEqual([{ p: PROTOCOL, lost: 1 }]);
    stream.receive([ANSWERS, 1, 2, 'B']);
    await tick();
    expect(b.state).toBe('pending');
    stream.receive([RESENT_ANSWERS, 1, 1, 'A']);
    await tick();
    expect(a.value).toBe('A');
    expect(b.state).toBe('pending');
    stream.receive({ p: PROTOCOL, redone: 1 });
    await tick();
    expect(b.value).toBe('B');
    // Every message carries how many answer messages arrived (three, one unreadable).
    void link.request({ type: 'kv.get', key: 'c' });
    await tick();
    expect(readBatch(stream.take()[0]).ack).toBe(3);
  });

  it('requestSync fails at once when the store could not read its request, after sending earlier lost calls again', async () => {
    const replies: WireReply[] = [];
    const sync = syncChannel(replies);
    const { stream, link } = open({ sync });
    const earlier = track(link.request({ type: 'kv.incr', key: 'n', by: 1 }));
    const other = track(link.request({ type: 'kv.get', key: 'm' }));
    // The store could read neither the async batch (message 1) nor the blocking call (message 2).
    replies.push([0, false, 1], [0, false, 2]);
    expect(() => link.requestSync({ type: 'kv.set', key: 'deep', value: 1 })).toThrow(
      expect.objectContaining({ code: 'ERR_NOT_CLONEABLE', message: expect.stringMatching(/key "deep"/) }),
    );
    // The batch, the blocking call, then the batch's two calls again alone (from inside the blocked call).
    const posted = stream.take() as unknown[][];
    expect(posted.map((m) => (Array.isArray(m) ? m[0] : m))).toEqual([
      REQUESTS,
      REQUESTS,
      RESENT_REQUESTS,
      RESENT_REQUESTS,
      { p: PROTOCOL, redone: 1 },
      { p: PROTOCOL, redone: 2 },
    ]);
    await tick();
    expect([earlier.state, other.state]).toEqual(['pending', 'pending']);
    // The same notices on the stream later change nothing.
    stream.receive({ p: PROTOCOL, lost: 1 });
    stream.receive({ p: PROTOCOL, lost: 2 });
    expect(stream.posted).toEqual([]);
  });

  it('requestSync throws ERR_NOT_CLONEABLE when its reply cannot be read in this thread', () => {
    const sync: SyncChannel = {
      flag: new Int32Array(new SharedArrayBuffer(4)),
      receive: () => {
        throw new RangeError('Maximum call stack size exceeded');
      },
    };
    const { link } = open({ sync });
    expect(() => link.requestSync({ type: 'kv.get', key: 'deep' })).toThrow(
      expect.objectContaining({ code: 'ERR_NOT_CLONEABLE', message: expect.stringMatching(/could not be read in this thread/) }),
    );
  });

  it('requestSync throws ERR_TIMEOUT when no reply comes within the timeout', () => {
    const { link } = open({ timeoutMs: 20, sync: syncChannel([]) });
    const started = Date.now();
    expect(() => link.requestSync({ type: 'kv.get', key: 'a' })).toThrow(expect.objectContaining({ code: 'ERR_TIMEOUT' }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
  });
});

describe('CallTimer', () => {
  it('ticks at a quarter of the timeout and reports the last late tick', () => {
    vi.useFakeTimers();
    const late: number[] = [];
    const timer = new CallTimer(100, (tick) => late.push(tick));
    expect(timer.tick).toBe(0);
    timer.start();
    timer.start(); // once only
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(24);
    expect(late).toEqual([]);
    vi.advanceTimersByTime(101);
    expect(late).toEqual([-4, -3, -2, -1, 0]);
    expect(timer.tick).toBe(5);
    timer.stop();
    vi.advanceTimersByTime(1000);
    expect(late).toHaveLength(5);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ticks at most once a second and at least every 5 ms', () => {
    vi.useFakeTimers();
    const late: number[] = [];
    const timer = new CallTimer(60_000, (tick) => late.push(tick));
    timer.start();
    vi.advanceTimersByTime(999);
    expect(late).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(late).toEqual([1 - 60 - 1]);
    timer.setTimeout(8);
    expect(timer.timeoutMs).toBe(8);
    expect(vi.getTimerCount()).toBe(0); // stopped until started again
    timer.start();
    vi.advanceTimersByTime(5);
    expect(late).toEqual([-60, 2 - 2 - 1]);
    timer.stop();
  });

  /** How long after it was made a call made `phase` of the way into a tick expires. */
  function timeToExpire(timeoutMs: number, phase: number): number {
    vi.clearAllTimers();
    let expiredAt: number | undefined;
    let callTick = -1;
    const timer = new CallTimer(timeoutMs, (lateTick) => {
      if (expiredAt === undefined && callTick >= 0 && lateTick >= callTick) expiredAt = Date.now();
    });
    timer.start();
    const period = Math.max(5, Math.min(1000, timeoutMs / 4));
    vi.advanceTimersByTime(Math.floor(period * (2 + phase)));
    const madeAt = Date.now();
    callTick = timer.tick;
    vi.advanceTimersByTime(timeoutMs * 3);
    timer.stop();
    expect(expiredAt, 'the call expired').toBeDefined();
    return expiredAt! - madeAt;
  }

  it('times a call out after its timeout and within 1.25 times it, wherever in a tick it was made (timeouts up to 4 s)', () => {
    vi.useFakeTimers();
    fc.assert(
      fc.property(fc.integer({ min: 20, max: 4000 }), fc.double({ min: 0, max: 0.999, noNaN: true }), (timeoutMs, phase) => {
        const waited = timeToExpire(timeoutMs, phase);
        expect(waited).toBeGreaterThanOrEqual(timeoutMs);
        expect(waited).toBeLessThanOrEqual(timeoutMs * 1.25);
      }),
      { numRuns: 40 },
    );
  });

  it('times a call out within 1.25 times the default timeout (30 s)', () => {
    vi.useFakeTimers();
    for (const phase of [0, 0.5, 0.999]) {
      const waited = timeToExpire(30_000, phase);
      expect(waited).toBeGreaterThanOrEqual(30_000);
      expect(waited).toBeLessThanOrEqual(30_000 * 1.25);
    }
  });

  // Fails today: past 4 s the tick is capped at 1 s and the timeout is rounded
  // up to whole ticks, so a call can wait its timeout plus almost two ticks:
  // 4001 ms waits up to 6000 ms (1.5x), against call-timer.ts's "within 1.25 x".
  it('times a call out within 1.25 times a timeout that is not a whole number of seconds (4001 ms)', () => {
    vi.useFakeTimers();
    const waited = timeToExpire(4001, 0);
    expect(waited).toBeGreaterThanOrEqual(4001);
    expect(waited, 'ms from the call to its ERR_TIMEOUT').toBeLessThanOrEqual(4001 * 1.25);
  });
});

describe('SharedTopics', () => {
  const handlers = (): SubscriptionHandlers => observer().handlers;

  it('gives one entry, and one sid, per topic however many observers it has', () => {
    const topics = new SharedTopics();
    const h1 = handlers();
    const h2 = handlers();
    const first = topics.add(channel('a'), h1);
    const second = topics.add(channel('a'), h2);
    expect(first.added).toBe(true);
    expect(second.added).toBe(false);
    expect(second.entry).toBe(first.entry);
    expect([...first.entry.handlers]).toEqual([h1, h2]);
    expect(topics.size).toBe(1);
    expect(topics.get(first.entry.sid)).toBe(first.entry);
  });

  it('keeps topics of different kinds with the same name apart, each with a new sid', () => {
    const topics = new SharedTopics();
    const sids = (['channel', 'pattern', 'key', 'changes'] as const).map((kind) => topics.add({ kind, name: 'x' }, handlers()).entry.sid);
    expect(sids).toEqual([1, 2, 3, 4]);
    expect(topics.size).toBe(4);
  });

  it('drops a topic when its last observer leaves, and never reuses a sid', () => {
    const topics = new SharedTopics();
    const h1 = handlers();
    const h2 = handlers();
    const { entry } = topics.add(channel('a'), h1);
    topics.add(channel('a'), h2);
    expect(topics.remove(entry, handlers())).toBe(false); // not an observer of it
    expect(topics.remove(entry, h1)).toBe(false);
    expect(topics.size).toBe(1);
    expect(topics.remove(entry, h2)).toBe(true);
    expect(topics.size).toBe(0);
    expect(topics.get(entry.sid)).toBeUndefined();
    expect(topics.remove(entry, h2)).toBe(false);
    expect(topics.add(channel('a'), h1).entry.sid).toBe(entry.sid + 1);
  });

  it('does not drop the new entry of a topic when the last observer of a stale one leaves', () => {
    const topics = new SharedTopics();
    const h1 = handlers();
    const stale = topics.add(channel('a'), h1).entry;
    topics.drop(stale); // the store ended it
    const fresh = topics.add(channel('a'), handlers()).entry;
    expect(topics.remove(stale, h1)).toBe(false);
    expect(topics.get(fresh.sid)).toBe(fresh);
    expect(topics.size).toBe(1);
  });

  it('takeAll returns every entry and forgets them', () => {
    const topics = new SharedTopics();
    const a = topics.add(channel('a'), handlers()).entry;
    const b = topics.add({ kind: 'key', name: 'k' }, handlers()).entry;
    expect(topics.takeAll()).toEqual([a, b]);
    expect(topics.size).toBe(0);
    expect(topics.get(a.sid)).toBeUndefined();
    expect(topics.takeAll()).toEqual([]);
  });
});
