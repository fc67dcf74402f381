// The actor, driven directly through the session a transport gets (ActorGate):
// a client that sends garbage gets an error reply and is counted; nothing else changes.
import { afterEach, describe, expect, it } from 'vitest';
import { StoreActor } from '../../src/actors/store-actor.js';
import { memoryBackend } from '../../src/backends/memory/memory-backend.js';
import { systemClock } from '../../src/clock.js';
import type { Connection } from '../../src/commands/connection.js';
import type { Session } from '../../src/commands/gate.js';
import type { Command } from '../../src/commands/table.js';
import { KvbusError, type StoreStats } from '../../src/index.js';

const actors: StoreActor[] = [];
afterEach(async () => {
  await Promise.all(actors.splice(0).map((actor) => actor.close()));
});

interface Reply {
  seq: number;
  ok: boolean;
  value: unknown;
}

/** A fresh actor on the memory backend, and a trusted session (the main thread's own) to check its state with. */
function newActor() {
  const actor = new StoreActor(memoryBackend(), { namespace: 'test', clock: systemClock, copy: true });
  actor.start();
  actors.push(actor);
  const own = client(actor, true);
  const call = (cmd: Command): unknown => {
    const seq = own.replies.length + 1;
    own.session.send(seq, cmd);
    const reply = own.replies.find((r) => r.seq === seq)!;
    if (!reply.ok) throw reply.value;
    return reply.value;
  };
  return { actor, call, stats: () => call({ type: 'sys.stats' }) as StoreStats };
}

/** A connection that records its replies, and its session. */
function client(actor: StoreActor, trusted = false): { conn: Connection; session: Session; replies: Reply[] } {
  const replies: Reply[] = [];
  const conn: Connection = {
    id: trusted ? 0 : 4242,
    kind: trusted ? 'local' : 'worker',
    trusted,
    reply: (seq, ok, value) => void replies.push({ seq, ok, value }),
    deliver: () => {},
    end: () => {},
  };
  return { conn, session: actor.open(conn), replies };
}

describe('store actor: malformed commands', () => {
  const push = (session: Session, seq: number, cmd: unknown) => session.send(seq, cmd as Command);

  it('a message that is not a command gets an error reply, counts as malformed, and the store keeps working', async () => {
    const { actor, call, stats } = newActor();
    call({ type: 'kv.set', key: 'k', value: 1 });
    const { session, replies } = client(actor);
    const garbage: unknown[] = [null, 42, 'kv.get', [], {}, { type: 'kv.nope' }, { type: 42 }, { type: null }];
    const before = stats().malformed;
    for (const [i, cmd] of garbage.entries()) push(session, i + 1, cmd);
    expect(replies.map((r) => r.seq)).toEqual(garbage.map((_, i) => i + 1));
    for (const reply of replies) {
      expect(reply.ok).toBe(false);
      expect(reply.value).toBeInstanceOf(KvbusError);
      expect((reply.value as KvbusError).code).toBe('ERR_BAD_ARGUMENT');
    }
    expect(stats().malformed).toBe(before + garbage.length);
    expect(call({ type: 'kv.get', key: 'k' })).toBe(1);
    expect(call({ type: 'kv.incr', key: 'n', by: 1 })).toBe(1);
  });

  it('a command with fields of the wrong type gets an error reply, counts as malformed, and changes nothing', async () => {
    const { actor, call, stats } = newActor();
    call({ type: 'kv.set', key: 'k', value: 1 });
    const { session, replies } = client(actor);
    const garbage: unknown[] = [
      { type: 'kv.get', key: 42 },
      { type: 'kv.set', key: 'k' }, // no value
      { type: 'kv.set', key: 'k', value: 2, ttlMs: 'soon' },
      { type: 'kv.incr', key: 'k', by: 'x' },
      { type: 'kv.keys', pattern: 5 },
      { type: 'kv.apply', key: 'k', op: 7 },
      { type: 'bus.publish', channel: {} },
      { type: 'sub.add', sid: 'x', kind: 'channel', name: 'c' },
      { type: 'sub.add', sid: 1 },
      { type: 'sub.add', sid: 2, kind: 'everything', name: 'c' },
      { type: 'sys.expire' }, // the actor's own: no client sends it
      { type: 'toString' },
    ];
    const before = stats();
    for (const [i, cmd] of garbage.entries()) push(session, i + 1, cmd);
    expect(replies).toHaveLength(garbage.length);
    for (const reply of replies) {
      expect(reply.ok, JSON.stringify(garbage[reply.seq - 1])).toBe(false);
      expect(reply.value).toBeInstanceOf(KvbusError);
    }
    const after = stats();
    expect(call({ type: 'kv.getEntry', key: 'k' })).toEqual({ value: 1, revision: expect.any(Number) });
    expect(after.subscriptions).toBe(before.subscriptions);
    expect(after.malformed).toBe(before.malformed + garbage.length);
  });

  it('the actor keeps serving the sender after a malformed command', async () => {
    const { actor, call } = newActor();
    const { session, replies } = client(actor);
    push(session, 1, { type: 'nope' });
    push(session, 2, { type: 'kv.set', key: 'k', value: 'v' });
    push(session, 3, { type: 'kv.get', key: 'k' });
    expect(replies.map((r) => [r.seq, r.ok])).toEqual([
      [1, false],
      [2, true],
      [3, true],
    ]);
    expect(replies[2]!.value).toBe('v');
    expect(call({ type: 'kv.get', key: 'k' })).toBe('v');
  });
});
