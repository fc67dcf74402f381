// The store's end of the wire: RemoteConnection between a fake actor gate and
// an in-memory message stream.
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import type { Connection } from '../../src/commands/connection.js';
import type { SubEvent } from '../../src/commands/events.js';
import type { ActorGate, Session } from '../../src/commands/gate.js';
import type { Command } from '../../src/commands/table.js';
import { KvbusError } from '../../src/errors.js';
import { nextEvent, readEvent } from '../../src/streams/protocol/events.js';
import {
  ANSWER_HEADER,
  ANSWERS,
  PROTOCOL,
  REPLY_SLOTS,
  REQUESTS,
  RESENT_ANSWERS,
  RESENT_REQUESTS,
} from '../../src/streams/protocol/framing.js';
import { pushRequest } from '../../src/streams/protocol/requests.js';
import { RemoteConnection, type RemoteConnectionOptions } from '../../src/streams/store-end/remote-connection.js';
import type { OverflowPolicy } from '../../src/types.js';
import { FakeStream } from '../helpers/fake-stream.js';

/** The actor, as far as a transport sees it: records what the session is told. */
class FakeGate implements ActorGate {
  readonly sent: Array<[number, Command]> = [];
  malformed = 0;
  dropped = 0;
  closed = 0;
  conn: Connection | undefined;

  open(conn: Connection): Session {
    this.conn = conn;
    return {
      send: (seq, cmd) => void this.sent.push([seq, cmd]),
      malformed: () => void this.malformed++,
      dropped: () => void this.dropped++,
      close: () => void this.closed++,
    };
  }
}

function connect(options: Partial<RemoteConnectionOptions> = {}) {
  const gate = new FakeGate();
  const stream = new FakeStream();
  let gone = 0;
  const conn = new RemoteConnection(gate, stream, {
    id: 7,
    kind: 'worker',
    buffer: { size: 100, overflow: 'drop-oldest' },
    requestTimeoutMs: 1234,
    onGone: () => gone++,
    ...options,
  });
  const welcome = stream.take();
  return { gate, stream, conn, welcome, gone: () => gone };
}

/** Lets the microtask that sends a tick's message run. */
const endOfTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function requests(...items: Array<[number, Command]>): unknown[] {
  const batch: unknown[] = [REQUESTS, 0, 0];
  for (const [seq, cmd] of items) pushRequest(batch, seq, cmd);
  return batch;
}

/** Splits an answers message into its replies and its events (read back for subscriptions of `channel`). */
function decode(message: unknown, channel = 'ch'): { replies: unknown[]; events: Array<[number, SubEvent | undefined]> } {
  expect(Array.isArray(message)).toBe(true);
  const m = message as unknown[];
  expect(m[0]).toBe(ANSWERS);
  const end = ANSWER_HEADER + (m[1] as number) * REPLY_SLOTS;
  const events: Array<[number, SubEvent | undefined]> = [];
  for (let at = end; at < m.length; at = nextEvent(m, at)) events.push([m[at] as number, readEvent(m, at, channel)]);
  return { replies: m.slice(ANSWER_HEADER, end), events };
}

/** The data of channel-subscription messages in a run of answers. */
function dataOf(messages: unknown[]): unknown[] {
  return messages.flatMap((m) => decode(m).events.map(([, event]) => (event?.type === 'message' ? event.data : event?.type)));
}

const msg = (data: unknown): SubEvent => ({ type: 'message', channel: 'ch', data });

const ports: MessageChannel[] = [];
afterEach(() => {
  for (const channel of ports.splice(0)) channel.port1.close(), channel.port2.close();
});

describe('RemoteConnection (store end)', () => {
  it('welcomes the client with its id, the request timeout and the event window (half the buffer)', () => {
    const { welcome, gate, conn } = connect({ buffer: { size: 100, overflow: 'drop-oldest' } });
    expect(welcome).toEqual([{ p: PROTOCOL, welcome: { id: 7, requestTimeoutMs: 1234, window: 50 } }]);
    expect(gate.conn).toBe(conn);
    expect(conn.id).toBe(7);
    expect(conn.kind).toBe('worker');
    expect(connect({ buffer: { size: 1, overflow: 'drop-oldest' } }).welcome).toEqual([
      { p: PROTOCOL, welcome: { id: 7, requestTimeoutMs: 1234, window: 1 } },
    ]);
  });

  it('turns a request batch into session.send calls, in order', () => {
    const { gate, stream } = connect();
    const commands: Array<[number, Command]> = [
      [1, { type: 'kv.get', key: 'a' }],
      [2, { type: 'kv.set', key: 'b', value: { deep: [1, 2] }, ttlMs: 50 }],
      [4, { type: 'bus.publish', channel: 'ch', data: new Map([[1, 2]]) }],
      [5, { type: 'kv.keys' }],
    ];
    stream.receive(structuredClone(requests(...commands)));
    expect(gate.sent).toEqual(commands);
    expect(gate.malformed).toBe(0);
  });

  it('counts a message that is not kvbus-framed as malformed, with nothing sent or answered', async () => {
    const { gate, stream } = connect();
    for (const message of ['hello', 42, null, undefined, {}, { p: 'other/1', bye: true }, ['x', 0, 0], [ANSWERS, 0]])
      stream.receive(message);
    expect(gate.malformed).toBe(8);
    expect(gate.sent).toEqual([]);
    expect(gate.closed).toBe(0);
    await endOfTick();
    expect(stream.posted).toEqual([]);
  });

  it('answers an unknown opcode with a valid seq with ERR_BAD_ARGUMENT, counts it malformed, and stops reading the batch', async () => {
    const { gate, stream } = connect();
    const batch = requests([1, { type: 'kv.get', key: 'a' }]);
    batch.push(2, 999, 'junk');
    pushRequest(batch, 3, { type: 'kv.get', key: 'never' });
    stream.receive(batch);
    expect(gate.sent).toEqual([[1, { type: 'kv.get', key: 'a' }]]);
    expect(gate.malformed).toBe(1);
    await endOfTick();
    const [answer, ...rest] = stream.take();
    expect(rest).toEqual([]);
    const { replies } = decode(answer);
    expect(replies).toHaveLength(2);
    expect(replies[0]).toBe(-2);
    expect(replies[1]).toMatchObject({ name: 'KvbusError', code: 'ERR_BAD_ARGUMENT' });
    expect((replies[1] as { message: string }).message).toContain('999');
  });

  it('counts a request with a bad seq malformed without answering it', async () => {
    const { gate, stream } = connect();
    for (const seq of [0, -1, 1.5, '1', null]) {
      const batch: unknown[] = [REQUESTS, 0, 0];
      pushRequest(batch, 1, { type: 'kv.get', key: 'a' });
      batch[3] = seq;
      stream.receive(batch);
    }
    expect(gate.malformed).toBe(5);
    expect(gate.sent).toEqual([]);
    await endOfTick();
    expect(stream.posted).toEqual([]);
  });

  it("sends a tick's replies as one [ANSWERS, n, ...] message after a microtask, before the tick's events", async () => {
    const { conn, stream } = connect();
    conn.reply(1, true, 'one');
    conn.deliver(5, { type: 'set', key: 'k', value: { v: 1 }, revision: 9 }, 'changes');
    conn.reply(2, false, new KvbusError('ERR_CONFLICT', 'moved on'));
    conn.reply(3, true, undefined);
    expect(stream.posted).toEqual([]);
    await Promise.resolve();
    const posted = stream.take();
    expect(posted).toHaveLength(1);
    expect(posted[0]).toEqual([
      ANSWERS,
      3,
      1,
      'one',
      -2,
      { name: 'KvbusError', code: 'ERR_CONFLICT', message: 'moved on' },
      3,
      undefined,
      5,
      1,
      'k',
      { v: 1 },
      9,
    ]);
    await endOfTick();
    expect(stream.posted).toEqual([]);
  });

  it("sends a tick's events alone when it has no replies, and nothing for an empty tick", async () => {
    const { conn, stream } = connect();
    conn.deliver(1, { type: 'delete', key: 'k', revision: 3 }, 'changes');
    conn.deliver(2, { type: 'clear', key: '*', revision: 4 }, 'changes');
    await endOfTick();
    const posted = stream.take();
    expect(posted).toHaveLength(1);
    expect(decode(posted[0]).events).toEqual([
      [1, { type: 'delete', key: 'k', revision: 3 }],
      [2, { type: 'clear', key: '*', revision: 4 }],
    ]);
    expect((posted[0] as unknown[])[1]).toBe(0);
  });

  it("sends a channel subscription's message as (-sid, data)", async () => {
    const { conn, stream } = connect();
    conn.deliver(3, msg({ x: 1 }), 'channel');
    conn.deliver(4, { type: 'message', channel: 'other', data: 2 }, 'pattern');
    await endOfTick();
    expect(stream.take()).toEqual([[ANSWERS, 0, -3, { x: 1 }, 4, 0, 'other', 2]]);
  });

  it('posts at most a window of unacknowledged events, and sends the rest as the client acknowledges messages', async () => {
    const { conn, stream, gate } = connect({ buffer: { size: 8, overflow: 'drop-oldest' } }); // window 4
    for (let i = 0; i < 7; i++) conn.deliver(1, msg(i), 'channel');
    await endOfTick();
    expect(dataOf(stream.take())).toEqual([0, 1, 2, 3]);
    // The client acknowledges that message (the first) on a request batch: 4 more fit.
    const withAck = requests([1, { type: 'kv.get', key: 'a' }]);
    withAck[1] = 1;
    stream.receive(withAck);
    expect(gate.sent).toHaveLength(1);
    await endOfTick();
    expect(dataOf(stream.take())).toEqual([4, 5, 6]);
    // Three events are still unacknowledged: 1 more fits, the others wait for the next ack.
    for (let i = 7; i < 12; i++) conn.deliver(1, msg(i), 'channel');
    await endOfTick();
    expect(dataOf(stream.take())).toEqual([7]);
    // An ack alone; an ack not past the last one changes nothing.
    stream.receive([REQUESTS, 2, 0]);
    stream.receive([REQUESTS, 1, 0]);
    await endOfTick();
    expect(dataOf(stream.take())).toEqual([8, 9, 10]);
    // An ack past what was posted cannot be true: ignored. The true one (4 messages) frees the window.
    stream.receive([REQUESTS, 100, 0]);
    await endOfTick();
    expect(dataOf(stream.take())).toEqual([]);
    stream.receive([REQUESTS, 4, 0]);
    await endOfTick();
    expect(dataOf(stream.take())).toEqual([11]);
    expect(gate.dropped).toBe(0);
  });

  it('cuts off a client that asks and never acknowledges the answers (they are kept until it does)', async () => {
    const gone: Array<string | undefined> = [];
    const { stream, gate, conn } = connect({ buffer: { size: 8, overflow: 'drop-oldest' }, onGone: (reason) => gone.push(reason) }); // window 4
    let seq = 0;
    for (let i = 0; i < 10_010 && gone.length === 0; i++) {
      stream.receive(requests([++seq, { type: 'kv.get', key: 'a' }]));
      conn.reply(seq, true, 'v');
      await endOfTick();
    }
    expect(gone[0]).toMatch(/did not acknowledge 10005 answers/);
    expect(gate.malformed).toBe(1);
  });

  it('sends nothing on an ack when no event waits', async () => {
    const { stream } = connect();
    stream.receive([REQUESTS, 3, 0]);
    await endOfTick();
    expect(stream.posted).toEqual([]);
  });

  function overflow(policy: OverflowPolicy) {
    const setup = connect({ buffer: { size: 4, overflow: policy } }); // window 2, 2 more may wait
    for (let i = 0; i < 6; i++) setup.conn.deliver(1, msg(i), 'channel');
    return setup;
  }

  it("drops the oldest waiting event past the buffer with 'drop-oldest', counting each drop", async () => {
    const { stream, gate } = overflow('drop-oldest');
    expect(gate.dropped).toBe(2);
    await endOfTick();
    expect(dataOf(stream.take())).toEqual([0, 1]);
    stream.receive([REQUESTS, 1, 0]);
    await endOfTick();
    expect(dataOf(stream.take())).toEqual([4, 5]);
    stream.receive([REQUESTS, 2, 0]);
    await endOfTick();
    expect(stream.posted).toEqual([]);
  });

  it("drops the new event past the buffer with 'drop-newest', counting each drop", async () => {
    const { stream, gate } = overflow('drop-newest');
    expect(gate.dropped).toBe(2);
    await endOfTick();
    expect(dataOf(stream.take())).toEqual([0, 1]);
    stream.receive([REQUESTS, 1, 0]);
    await endOfTick();
    expect(dataOf(stream.take())).toEqual([2, 3]);
  });

  it("ends the subscription past the buffer with 'error': an end event after the accepted events, and a seq-0 sub.remove", async () => {
    const { conn, stream, gate } = connect({ buffer: { size: 4, overflow: 'error' } });
    for (let i = 0; i < 5; i++) conn.deliver(1, msg(i), 'channel');
    expect(gate.dropped).toBe(1);
    expect(gate.sent).toEqual([[0, { type: 'sub.remove', sid: 1 }]]);
    // Events for the ended subscription are not sent any more.
    conn.deliver(1, msg('late'), 'channel');
    await endOfTick();
    expect(dataOf(stream.take())).toEqual([0, 1]);
    stream.receive([REQUESTS, 1, 0]);
    await endOfTick();
    expect(dataOf(stream.take())).toEqual([2, 3]);
    stream.receive([REQUESTS, 2, 0]);
    await endOfTick();
    const [last, ...rest] = stream.take();
    expect(rest).toEqual([]);
    const { events } = decode(last);
    expect(events).toHaveLength(1);
    const [sid, end] = events[0]!;
    expect(sid).toBe(1);
    expect(end).toMatchObject({ type: 'end', error: { name: 'KvbusError', code: 'ERR_DISCONNECTED' } });
    expect(gate.sent).toHaveLength(1);
  });

  it('answers a reply that cannot be cloned with ERR_NOT_CLONEABLE while the other replies and the events arrive', async () => {
    const { conn, stream, gate } = connect();
    conn.reply(1, true, 'fine');
    conn.reply(2, true, { fn: () => {} });
    conn.reply(3, false, new KvbusError('ERR_TYPE', 'not a number'));
    conn.deliver(4, msg('event'), 'channel');
    await endOfTick();
    const posted = stream.take();
    expect(posted).toHaveLength(4);
    expect(posted[0]).toEqual([ANSWERS, 1, 1, 'fine']);
    const [, count, seq, error] = posted[1] as unknown[];
    expect([count, seq]).toEqual([1, -2]);
    expect(error).toMatchObject({ name: 'KvbusError', code: 'ERR_NOT_CLONEABLE' });
    expect((error as { message: string }).message).toContain('request 2');
    expect(posted[2]).toEqual([ANSWERS, 1, -3, { name: 'KvbusError', code: 'ERR_TYPE', message: 'not a number' }]);
    expect(posted[3]).toEqual([ANSWERS, 0, -4, 'event']);
    expect(gate.dropped).toBe(0);
  });

  it('counts a batch of events that cannot be cloned as dropped, and still answers the replies', async () => {
    const { conn, stream, gate } = connect();
    conn.reply(1, true, 'fine');
    conn.deliver(2, { type: 'set', key: 'k', value: () => {}, revision: 1 }, 'changes');
    await endOfTick();
    expect(stream.take()).toEqual([[ANSWERS, 1, 1, 'fine']]);
    expect(gate.dropped).toBe(1);
  });

  // Fails today: events lost in a batch that could not be cloned stay counted
  // in flight, and the client, which never saw them, never acknowledges them;
  // the window shrinks for good (here to nothing, so later events never leave).
  it('sends the events it can when one cannot be cloned, and gives the window back for the lost one', async () => {
    const { conn, stream, gate } = connect({ buffer: { size: 4, overflow: 'drop-oldest' } }); // window 2
    conn.deliver(1, { type: 'set', key: 'k', value: () => {}, revision: 1 }, 'changes');
    conn.deliver(1, { type: 'set', key: 'k', value: 'fine', revision: 2 }, 'changes');
    await endOfTick();
    const first = stream.take();
    expect(first.flatMap((message) => decode(message).events)).toEqual([[1, { type: 'set', key: 'k', value: 'fine', revision: 2 }]]);
    expect(gate.dropped).toBe(1);
    // The window holds 2: one taken by 'fine' (not acknowledged yet), none by the lost event.
    conn.deliver(1, { type: 'set', key: 'k', value: 'later', revision: 3 }, 'changes');
    await endOfTick();
    const posted = stream.take();
    expect(posted, 'the later event was never sent: the lost event still fills the window').toHaveLength(1);
    expect(decode(posted[0]).events).toEqual([[1, { type: 'set', key: 'k', value: 'later', revision: 3 }]]);
  });

  it('closes the session on bye, and ignores the client afterwards', async () => {
    const { gate, stream, gone } = connect();
    stream.receive({ p: PROTOCOL, bye: true });
    expect(gate.closed).toBe(1);
    expect(stream.closed).toBe(1);
    expect(gone()).toBe(1);
    stream.receive(requests([1, { type: 'kv.get', key: 'a' }]));
    stream.receive({ p: PROTOCOL, bye: true });
    expect(gate.sent).toEqual([]);
    expect(gate.closed).toBe(1);
    expect(gone()).toBe(1);
  });

  it('closes the session when the stream closes', () => {
    const { gate, stream, gone } = connect();
    stream.hangUp();
    expect(gate.closed).toBe(1);
    expect(gone()).toBe(1);
  });

  it('end() sends what the tick has, then closed, and nothing more after it', async () => {
    const { conn, stream, gate, gone } = connect();
    conn.reply(1, true, 'last');
    conn.end();
    expect(stream.take()).toEqual([[ANSWERS, 1, 1, 'last'], { p: PROTOCOL, closed: true }]);
    expect(stream.closed).toBe(1);
    expect(gone()).toBe(1);
    expect(gate.closed).toBe(0); // the store closed: the actor is ending every session itself
    conn.reply(2, true, 'too late');
    conn.deliver(1, msg('too late'), 'channel');
    conn.end();
    conn.disconnect();
    stream.receive(requests([3, { type: 'kv.get', key: 'a' }]));
    await endOfTick();
    expect(stream.posted).toEqual([]);
    expect(gate.sent).toEqual([]);
    expect(gone()).toBe(1);
  });

  function withSync() {
    const channel = new MessageChannel();
    ports.push(channel);
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const setup = connect({ sync: { port: channel.port1, flag } });
    const receive = () => receiveMessageOnPort(channel.port2)?.message as unknown;
    return { ...setup, flag, receive };
  }

  it('sends the reply to a blocking call to the sync port and sets the flag, after flushing earlier replies', async () => {
    const { conn, stream, gate, flag, receive } = withSync();
    const batch = requests([1, { type: 'kv.get', key: 'async' }]);
    stream.receive(batch);
    stream.receive([REQUESTS, 0, 2, ...requests([2, { type: 'kv.get', key: 'sync' }]).slice(3)]);
    expect(gate.sent.map(([seq]) => seq)).toEqual([1, 2]);
    conn.reply(1, true, 'async value');
    expect(flag[0]).toBe(0);
    conn.reply(2, true, { v: 'sync value' });
    // The earlier reply left first, on the stream.
    expect(stream.take()).toEqual([[ANSWERS, 1, 1, 'async value']]);
    expect(receive()).toEqual([2, true, { v: 'sync value' }]);
    expect(receive()).toBeUndefined();
    expect(Atomics.load(flag, 0)).toBe(1);
    await endOfTick();
    expect(stream.posted).toEqual([]);
  });

  it('sends a blocking call its error, or ERR_NOT_CLONEABLE for a value that cannot be cloned, on the sync port', async () => {
    const { conn, stream, flag, receive } = withSync();
    stream.receive([REQUESTS, 0, 1, ...requests([1, { type: 'kv.incr', key: 'n', by: 1 }]).slice(3)]);
    conn.reply(1, false, new KvbusError('ERR_TYPE', 'not a number'));
    expect(receive()).toEqual([1, false, { name: 'KvbusError', code: 'ERR_TYPE', message: 'not a number' }]);
    Atomics.store(flag, 0, 0);
    stream.receive([REQUESTS, 0, 2, ...requests([2, { type: 'kv.get', key: 'f' }]).slice(3)]);
    conn.reply(2, true, () => {});
    const reply = receive() as unknown[];
    expect(reply.slice(0, 2)).toEqual([2, false]);
    expect(reply[2]).toMatchObject({ name: 'KvbusError', code: 'ERR_NOT_CLONEABLE' });
    expect(flag[0]).toBe(1);
    // A second reply to the same seq is not a blocking call's any more: it goes to the stream.
    conn.reply(2, true, 'again');
    expect(receive()).toBeUndefined();
    await endOfTick();
    expect(stream.take()).toEqual([[ANSWERS, 1, 2, 'again']]);
  });

  it('counts a message it cannot read as malformed, says so, and holds back what came after it until the client has sent it again', async () => {
    const { gate, stream, flag, receive } = withSync();
    stream.receive(requests([1, { type: 'kv.get', key: 'a' }]));
    stream.receiveUndecodable();
    expect(gate.malformed).toBe(1);
    expect(stream.take()).toEqual([{ p: PROTOCOL, lost: 2 }]);
    // A blocked client hears it on the sync port.
    expect(receive()).toEqual([0, false, 2]);
    expect(Atomics.load(flag, 0)).toBe(1);
    stream.receive(requests([5, { type: 'kv.get', key: 'later' }]));
    expect(gate.sent.map(([seq]) => seq)).toEqual([1]);
    // What the lost message carried, sent again, goes first, and then what was held back.
    stream.receive([RESENT_REQUESTS, 0, 0, ...requests([3, { type: 'kv.incr', key: 'n', by: 1 }]).slice(3)]);
    stream.receiveUndecodable(); // the other request of message 2, alone: lost again (message 5)
    expect(stream.take()).toEqual([{ p: PROTOCOL, lost: 5 }]);
    expect(gate.sent.map(([seq]) => seq)).toEqual([1, 3]);
    stream.receive({ p: PROTOCOL, redone: 2 });
    expect(gate.sent.map(([seq]) => seq)).toEqual([1, 3, 5]);
    stream.receive({ p: PROTOCOL, redone: 5 });
    stream.receive(requests([6, { type: 'kv.get', key: 'b' }]));
    expect(gate.sent.map(([seq]) => seq)).toEqual([1, 3, 5, 6]);
    expect(gate.malformed).toBe(2);
    // A 'redone' for nothing lost is malformed.
    stream.receive({ p: PROTOCOL, redone: 9 });
    expect(gate.malformed).toBe(3);
  });

  it('sends each reply and event of a message the client could not read again alone; one already alone fails', async () => {
    const { conn, stream, gate } = connect();
    conn.reply(1, true, 'one');
    conn.reply(2, true, 'two');
    conn.deliver(4, msg('event'), 'channel');
    await endOfTick();
    expect(stream.take()).toEqual([[ANSWERS, 2, 1, 'one', 2, 'two', -4, 'event']]);
    stream.receive({ p: PROTOCOL, lost: 1 });
    expect(stream.take()).toEqual([
      [RESENT_ANSWERS, 1, 1, 'one'],
      [RESENT_ANSWERS, 1, 2, 'two'],
      [RESENT_ANSWERS, 0, -4, 'event'],
      { p: PROTOCOL, redone: 1 },
    ]);
    // Lost again, alone: the call gets an error, the event is dropped (and its place in the window freed).
    stream.receive({ p: PROTOCOL, lost: 3 });
    stream.receive({ p: PROTOCOL, lost: 4 });
    const [error, redone3, redone4] = stream.take() as unknown[][];
    expect(error!.slice(0, 3)).toEqual([RESENT_ANSWERS, 1, -2]);
    expect(error![3]).toMatchObject({ code: 'ERR_NOT_CLONEABLE', message: expect.stringMatching(/could not read the reply/) });
    expect([redone3, redone4]).toEqual([
      { p: PROTOCOL, redone: 3 },
      { p: PROTOCOL, redone: 4 },
    ]);
    expect(gate.dropped).toBe(1);
    // A message the client acknowledged is forgotten: nothing to send again.
    stream.receive([REQUESTS, 5, 0]);
    stream.receive({ p: PROTOCOL, lost: 2 });
    expect(stream.take()).toEqual([{ p: PROTOCOL, redone: 2 }]);
  });

  for (const overflow of ['drop-oldest', 'drop-newest', 'error'] as OverflowPolicy[]) {
    it(`keeps only the latest waiting event of a watch, whatever the policy ('${overflow}'), counting each replaced one`, async () => {
      const { conn, stream, gate } = connect({ buffer: { size: 4, overflow } }); // window 2
      const set = (value: number): SubEvent => ({ type: 'set', key: 'k', value, revision: value });
      for (let i = 1; i <= 10; i++) conn.deliver(1, set(i), 'key');
      // A channel's events keep their policy alongside.
      for (let i = 0; i < 3; i++) conn.deliver(2, msg(i), 'channel');
      expect(gate.sent).toEqual(overflow === 'error' ? [[0, { type: 'sub.remove', sid: 2 }]] : []);
      await endOfTick();
      const values = (messages: unknown[]) =>
        messages.flatMap((m) => decode(m).events.map(([, e]) => (e as { value?: unknown }).value ?? e?.type));
      expect(values(stream.take())).toEqual([1, 2]);
      expect(gate.dropped).toBe(7 + (overflow === 'error' ? 1 : 2));
      stream.receive([REQUESTS, 1, 0]);
      await endOfTick();
      // The watch's latest value first; then the channel's events as its policy left them.
      const next = values(stream.take());
      expect(next[0]).toBe(10);
      conn.deliver(1, set(11), 'key');
      stream.receive([REQUESTS, 2, 0]);
      stream.receive([REQUESTS, 3, 0]);
      await endOfTick();
      expect(values(stream.take()).filter((v) => typeof v === 'number' && v > 2)).toContain(11);
    });
  }
});
