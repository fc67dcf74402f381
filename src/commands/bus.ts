// The publish/subscribe commands.
import { assertNotShared } from '../clone.js';
import { describe, KvbusError } from '../errors.js';
import type { TopicKind } from '../types.js';
import { assertKey, assertName } from '../validate.js';
import { defineCommand } from './define.js';

const TOPIC_KINDS: ReadonlySet<unknown> = new Set<TopicKind>(['channel', 'pattern', 'key', 'changes']);

export const publish = defineCommand<{ type: 'bus.publish'; channel: string; data: unknown }>({
  type: 'bus.publish',
  code: 10,
  fields: ['channel', 'data'],
  validate: (cmd) => assertName('channel', cmd.channel),
  untrusted: (cmd) => assertNotShared(cmd.data, 'channel', cmd.channel),
  apply: (actor, cmd) => actor.backend.publish(cmd.channel, cmd.data),
});

export const subscribe = defineCommand<{ type: 'sub.add'; sid: number; kind: TopicKind; name: string }>({
  type: 'sub.add',
  code: 11,
  fields: ['sid', 'kind', 'name'],
  validate: (cmd) => {
    assertSid(cmd.sid);
    if (!TOPIC_KINDS.has(cmd.kind)) {
      throw new KvbusError(
        'ERR_BAD_ARGUMENT',
        `Expected a topic kind ('channel', 'pattern', 'key' or 'changes'), got ${describe(cmd.kind)}`,
      );
    }
    if (cmd.kind === 'key') assertKey(cmd.name);
    else assertName(cmd.kind === 'channel' ? 'channel' : 'pattern', cmd.name);
  },
  apply: (actor, cmd, conn) => actor.subscribe(conn, cmd.sid, { kind: cmd.kind, name: cmd.name }),
  barrier: true,
});

export const unsubscribe = defineCommand<{ type: 'sub.remove'; sid: number }>({
  type: 'sub.remove',
  code: 12,
  fields: ['sid'],
  validate: (cmd) => assertSid(cmd.sid),
  apply: (actor, cmd, conn) => actor.unsubscribe(conn, cmd.sid),
  barrier: true,
});

function assertSid(sid: unknown): void {
  if (typeof sid !== 'number' || !Number.isInteger(sid)) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected a subscription id (an integer), got ${describe(sid)}`);
  }
}
