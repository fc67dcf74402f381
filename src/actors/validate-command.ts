import { KvbusError, describe } from '../errors.js';
import { assertFinite, assertKey, assertName, assertPattern, assertSetOptions, assertValue } from '../validate.js';
import type { Command } from './commands.js';

const TOPIC_KINDS = new Set(['channel', 'pattern', 'key', 'changes']);

/**
 * Checks the shape of a command before the actor applies it. Clients validate
 * in the caller's stack already, so a command failing here was not built by a
 * kvbus client: the actor counts it as malformed.
 *
 * @param cmd - anything that arrived as a command
 * @throws KvbusError `ERR_BAD_KEY` or `ERR_BAD_ARGUMENT` saying what is wrong
 */
export function validateCommand(cmd: Command): void {
  if (cmd === null || typeof cmd !== 'object') {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected a command object, got ${describe(cmd)}`);
  }
  switch (cmd.type) {
    case 'kv.get':
    case 'kv.getEntry':
    case 'kv.has':
      return assertKey(cmd.key);
    case 'kv.set':
      assertKey(cmd.key);
      assertValue(cmd.key, cmd.value);
      return assertSetOptions({ ttlMs: cmd.ttlMs, ifRevision: cmd.ifRevision });
    case 'kv.delete':
      assertKey(cmd.key);
      return assertSetOptions({ ifRevision: cmd.ifRevision });
    case 'kv.keys':
    case 'kv.getAll':
      return assertPattern(cmd.pattern);
    case 'kv.incr':
      assertKey(cmd.key);
      return assertFinite('by', cmd.by);
    case 'kv.apply':
      assertKey(cmd.key);
      return assertName('opName', cmd.op);
    case 'bus.publish':
      return assertName('channel', cmd.channel);
    case 'sub.add': {
      assertSid(cmd.sid);
      const topic = cmd.topic;
      if (topic === null || typeof topic !== 'object' || !TOPIC_KINDS.has(topic.kind)) {
        throw new KvbusError('ERR_BAD_ARGUMENT', `Expected a topic { kind: 'channel' | 'pattern' | 'key' | 'changes', name }, got ${describe(topic)}`);
      }
      if (topic.kind === 'key') return assertKey(topic.name);
      return assertName(topic.kind === 'channel' ? 'channel' : 'pattern', topic.name);
    }
    case 'sub.remove':
      return assertSid(cmd.sid);
    case 'kv.clear':
    case 'sys.stats':
    case 'sys.sweep':
    case 'sys.disconnect':
      return;
    default:
      throw new KvbusError('ERR_BAD_ARGUMENT', `Unknown command type ${describe((cmd as { type?: unknown }).type)}`);
  }
}

function assertSid(sid: unknown): void {
  if (typeof sid !== 'number' || !Number.isInteger(sid)) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected a subscription id (an integer), got ${describe(sid)}`);
  }
}
