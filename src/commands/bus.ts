// The publish/subscribe commands.
import { assertNotShared } from '../clone.js';
import { describe, KvbusError } from '../errors.js';
import type { Topic, TopicKind } from '../types.js';
import { assertKey, assertName } from '../validate.js';
import { type CommandOf, defineCommand } from './define.js';
import { assertSince } from './feed.js';

const TOPIC_KINDS: ReadonlySet<unknown> = new Set<TopicKind>(['channel', 'pattern', 'key', 'changes']);

export const publish = defineCommand<{ type: 'bus.publish'; channel: string; data: unknown }>({
  type: 'bus.publish',
  code: 10,
  fields: ['channel', 'data'],
  validate: (cmd) => assertName('channel', cmd.channel),
  untrusted: (cmd) => assertNotShared(cmd.data, 'channel', cmd.channel),
  apply: (actor, cmd) => actor.backend.publish(cmd.channel, cmd.data),
});

export const subscribe = defineCommand<{
  type: 'sub.add';
  sid: number;
  kind: TopicKind;
  name: string;
  /** A `changes` subscription starts after this revision, replaying history first. */
  since?: number;
}>({
  type: 'sub.add',
  code: 11,
  fields: ['sid', 'kind', 'name'],
  options: ['since'],
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
    assertSince(cmd.since);
    if (cmd.since !== undefined && cmd.kind !== 'changes') {
      throw new KvbusError('ERR_BAD_ARGUMENT', `Only a 'changes' subscription starts from a revision (\`since\`), not a '${cmd.kind}' one`);
    }
  },
  apply: (actor, cmd, conn) => actor.subscribe(conn, cmd.sid, { kind: cmd.kind, name: cmd.name }, cmd.since),
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

/** A topic as a client subscribes to it: a `changes` topic may start from a revision. */
export type SubscribeTopic = Topic & { readonly since?: number | undefined };

/**
 * The command that subscribes a client to a topic.
 * @param sid - the client's id for the subscription
 * @param topic - what to subscribe to (with `since`, a feed that replays history first)
 * @returns the `sub.add` command
 */
export function subscribeCommand(sid: number, topic: SubscribeTopic): CommandOf<typeof subscribe> {
  const cmd: CommandOf<typeof subscribe> = { type: 'sub.add', sid, kind: topic.kind, name: topic.name };
  if (topic.since !== undefined) cmd.since = topic.since;
  return cmd;
}

function assertSid(sid: unknown): void {
  if (typeof sid !== 'number' || !Number.isInteger(sid)) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected a subscription id (an integer), got ${describe(sid)}`);
  }
}
