// The key-value commands.
import { assertNotShared, DECODED } from '../clone.js';
import type { Entry, LockRef } from '../types.js';
import { assertFinite, assertKey, assertName, assertPattern, assertRevision, assertTtl, assertValue } from '../validate.js';
import { assertFence } from './coord.js';
import { defineCommand } from './define.js';

// Hoisted: a closure made per command costs more than the lookup it maps.
const valueOfEntry = (entry: Entry | undefined): unknown => entry?.value;
const checkKey = (cmd: { key: string }): void => assertKey(cmd.key);

export const get = defineCommand<{ type: 'kv.get'; key: string }>({
  type: 'kv.get',
  code: 0,
  fields: ['key'],
  validate: checkKey,
  apply: (actor, cmd) => actor.backend.get(cmd.key),
  answer: valueOfEntry,
});

export const getEntry = defineCommand<{ type: 'kv.getEntry'; key: string }>({
  type: 'kv.getEntry',
  code: 1,
  fields: ['key'],
  validate: checkKey,
  // Every backend's get answers a fresh { value, revision }: it is the reply as it is.
  apply: (actor, cmd) => actor.backend.get(cmd.key),
});

export const ttl = defineCommand<{ type: 'kv.ttl'; key: string }>({
  type: 'kv.ttl',
  code: 17,
  fields: ['key'],
  validate: checkKey,
  apply: (actor, cmd) => actor.backend.ttl(cmd.key),
});

export const has = defineCommand<{ type: 'kv.has'; key: string }>({
  type: 'kv.has',
  code: 2,
  fields: ['key'],
  validate: checkKey,
  apply: (actor, cmd) => actor.backend.has(cmd.key),
});

export const set = defineCommand<{
  type: 'kv.set';
  key: string;
  value: unknown;
  ttlMs?: number;
  ifRevision?: number;
  /** Keep the key's TTL (`update`) instead of removing it as a plain `set` does. */
  keepTtl?: boolean;
  /** Write only while this lock is held with this token. */
  fence?: LockRef;
}>({
  type: 'kv.set',
  code: 3,
  fields: ['key', 'value'],
  options: ['ttlMs', 'ifRevision', 'keepTtl', 'fence'],
  validate: (cmd) => {
    assertKey(cmd.key);
    assertValue(cmd.key, cmd.value);
    assertTtl(cmd.ttlMs);
    assertRevision(cmd.ifRevision);
    assertFence(cmd.fence);
  },
  // A value the store's own decoder made from bytes cannot share memory: its walk is skipped.
  untrusted: (cmd) => {
    if ((cmd as { [DECODED]?: true })[DECODED] !== true) assertNotShared(cmd.value, 'key', cmd.key);
  },
  apply: (actor, cmd) =>
    actor.backend.set(cmd.key, cmd.value, {
      ttlMs: cmd.ttlMs,
      ifRevision: cmd.ifRevision,
      keepTtl: cmd.keepTtl === true,
      fence: cmd.fence,
    }),
});

const del = defineCommand<{ type: 'kv.delete'; key: string; ifRevision?: number; fence?: LockRef }>({
  type: 'kv.delete',
  code: 4,
  fields: ['key'],
  options: ['ifRevision', 'fence'],
  validate: (cmd) => {
    assertKey(cmd.key);
    assertRevision(cmd.ifRevision);
    assertFence(cmd.fence);
  },
  apply: (actor, cmd) => actor.backend.delete(cmd.key, cmd.ifRevision, cmd.fence),
});

export { del as delete };

export const incr = defineCommand<{ type: 'kv.incr'; key: string; by: number; fence?: LockRef }>({
  type: 'kv.incr',
  code: 5,
  fields: ['key', 'by'],
  options: ['fence'],
  validate: (cmd) => {
    assertKey(cmd.key);
    assertFinite('by', cmd.by);
    assertFence(cmd.fence);
  },
  apply: (actor, cmd) => actor.backend.incr(cmd.key, cmd.by, cmd.fence),
});

export const apply = defineCommand<{ type: 'kv.apply'; key: string; op: string; arg?: unknown }>({
  type: 'kv.apply',
  code: 6,
  fields: ['key', 'op'],
  options: ['arg'],
  validate: (cmd) => {
    assertKey(cmd.key);
    assertName('opName', cmd.op);
  },
  untrusted: (cmd) => assertNotShared(cmd.arg, 'key', cmd.key),
  apply: (actor, cmd) => actor.applyOp(cmd.key, cmd.op, cmd.arg),
});

export const keys = defineCommand<{ type: 'kv.keys'; pattern?: string }>({
  type: 'kv.keys',
  code: 7,
  fields: [],
  options: ['pattern'],
  validate: (cmd) => assertPattern(cmd.pattern),
  apply: (actor, cmd) => actor.backend.keys(cmd.pattern),
  fresh: true,
});

export const getAll = defineCommand<{ type: 'kv.getAll'; pattern?: string }>({
  type: 'kv.getAll',
  code: 8,
  fields: [],
  options: ['pattern'],
  validate: (cmd) => assertPattern(cmd.pattern),
  apply: (actor, cmd) => actor.backend.entries(cmd.pattern),
});

export const clear = defineCommand<{ type: 'kv.clear' }>({
  type: 'kv.clear',
  code: 9,
  fields: [],
  validate: () => {},
  apply: (actor) => actor.backend.clear(),
});
