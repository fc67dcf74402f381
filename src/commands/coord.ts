// The coordination commands: locks with leases, multi-key transactions, atomic multi-key reads.
import { assertNotShared } from '../clone.js';
import { describe, KvbusError } from '../errors.js';
import type { LockRef, TransactionOp } from '../types.js';
import { assertName, assertRevision, assertTtl } from '../validate.js';
import { defineCommand } from './define.js';

const OP_KINDS = ['set', 'delete', 'incr', 'check'];

function bad(message: string): KvbusError {
  return new KvbusError('ERR_BAD_ARGUMENT', message);
}

/** @internal Throws `ERR_BAD_ARGUMENT` unless `value` is a positive safe integer (a fencing token, a ticket). */
export function assertPositiveInteger(what: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw bad(`Expected \`${what}\` to be a positive integer, got ${describe(value)}`);
  }
}

/** @internal Throws `ERR_BAD_ARGUMENT` unless `ttlMs` is a positive finite number (a lease). */
export function assertLease(what: string, ttlMs: unknown): asserts ttlMs is number {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw bad(`Expected \`${what}\` (the lease, in ms) to be a positive finite number, got ${describe(ttlMs)}`);
  }
}

/** @internal Throws `ERR_BAD_ARGUMENT` unless `waitMs` is absent or a finite number >= 0. */
export function assertWait(waitMs: unknown): void {
  if (waitMs !== undefined && (typeof waitMs !== 'number' || !Number.isFinite(waitMs) || waitMs < 0)) {
    throw bad(`Expected \`waitMs\` to be a finite number >= 0 (leave it out to wait as long as it takes), got ${describe(waitMs)}`);
  }
}

/** @internal Throws `ERR_BAD_ARGUMENT` unless `fence` is absent or a lock reference: `{ name, token }` (a `Lock` is one). */
export function assertFence(fence: unknown): asserts fence is LockRef | undefined {
  if (fence === undefined) return;
  if (fence === null || typeof fence !== 'object') {
    throw bad(`Expected \`fence\` to be a lock (what store.lock() gave, or { name, token }), got ${describe(fence)}`);
  }
  const { name, token } = fence as { name?: unknown; token?: unknown };
  assertName('fence.name', name);
  assertPositiveInteger('fence.token', token);
}

/** @internal Throws `ERR_BAD_ARGUMENT` unless `ops` is an array of transaction ops, saying which op is wrong and how. */
export function assertOps(ops: unknown): asserts ops is TransactionOp[] {
  if (!Array.isArray(ops)) throw bad(`Expected \`ops\` to be an array of { op, key, ... } objects, got ${describe(ops)}`);
  for (let i = 0; i < ops.length; i++) assertOp(ops[i], i);
}

function assertOp(op: unknown, i: number): void {
  const at = `ops[${i}]`;
  if (op === null || typeof op !== 'object')
    throw bad(`Expected \`${at}\` to be an object like { op: 'set', key, value }, got ${describe(op)}`);
  const { op: kind, key } = op as { op?: unknown; key?: unknown };
  if (typeof kind !== 'string' || !OP_KINDS.includes(kind)) {
    throw bad(`Expected \`${at}.op\` to be one of 'set', 'delete', 'incr', 'check', got ${describe(kind)}`);
  }
  if (typeof key !== 'string' || key.length === 0) {
    throw new KvbusError('ERR_BAD_KEY', `Expected \`${at}.key\` to be a non-empty string, got ${describe(key)}`);
  }
  const fields = op as { value?: unknown; ttlMs?: unknown; ifRevision?: unknown; by?: unknown; revision?: unknown };
  try {
    if (kind === 'set') {
      if (fields.value === undefined) throw bad(`Cannot store \`undefined\` under key ${JSON.stringify(key)}: use { op: 'delete' }`);
      assertTtl(fields.ttlMs);
      assertRevision(fields.ifRevision);
    } else if (kind === 'delete') {
      assertRevision(fields.ifRevision);
    } else if (kind === 'incr') {
      if (fields.by !== undefined && (typeof fields.by !== 'number' || !Number.isFinite(fields.by))) {
        throw bad(`Expected \`by\` to be a finite number, got ${describe(fields.by)}`);
      }
    } else if (typeof fields.revision !== 'number' || !Number.isSafeInteger(fields.revision) || fields.revision < 0) {
      throw bad(`Expected \`revision\` to be a revision (an integer >= 0, 0 = absent), got ${describe(fields.revision)}`);
    }
  } catch (error) {
    // The field's own message, told of which op.
    throw bad(`In \`${at}\` (${kind} of key ${JSON.stringify(key)}): ${(error as Error).message}`);
  }
}

export const acquire = defineCommand<{ type: 'lock.acquire'; name: string; ttlMs: number; ticket: number; waitMs?: number }>({
  type: 'lock.acquire',
  code: 18,
  fields: ['name', 'ttlMs', 'ticket'],
  options: ['waitMs'],
  validate: (cmd) => {
    assertName('name', cmd.name);
    assertLease('ttlMs', cmd.ttlMs);
    assertPositiveInteger('ticket', cmd.ticket);
    assertWait(cmd.waitMs);
  },
  apply: (actor, cmd, conn) => actor.locks.acquire(conn, cmd.name, cmd.ttlMs, cmd.waitMs, cmd.ticket),
  waits: true,
});

export const release = defineCommand<{ type: 'lock.release'; name: string; token: number }>({
  type: 'lock.release',
  code: 19,
  fields: ['name', 'token'],
  validate: (cmd) => {
    assertName('name', cmd.name);
    assertPositiveInteger('token', cmd.token);
  },
  apply: (actor, cmd, conn) => actor.locks.release(conn, cmd.name, cmd.token),
});

export const extend = defineCommand<{ type: 'lock.extend'; name: string; token: number; ttlMs: number }>({
  type: 'lock.extend',
  code: 20,
  fields: ['name', 'token', 'ttlMs'],
  validate: (cmd) => {
    assertName('name', cmd.name);
    assertPositiveInteger('token', cmd.token);
    assertLease('ttlMs', cmd.ttlMs);
  },
  apply: (actor, cmd, conn) => actor.locks.extend(conn, cmd.name, cmd.token, cmd.ttlMs),
});

/** Withdraws a pending `lock.acquire` of this client (by its ticket): it rejects with `ERR_ABORTED`. Answers true when one was pending. */
export const cancel = defineCommand<{ type: 'lock.cancel'; ticket: number }>({
  type: 'lock.cancel',
  code: 21,
  fields: ['ticket'],
  validate: (cmd) => assertPositiveInteger('ticket', cmd.ticket),
  apply: (actor, cmd, conn) => actor.locks.cancel(conn, cmd.ticket),
});

export const transaction = defineCommand<{ type: 'kv.transaction'; ops: TransactionOp[]; fence?: LockRef }>({
  type: 'kv.transaction',
  code: 22,
  fields: ['ops'],
  options: ['fence'],
  validate: (cmd) => {
    assertOps(cmd.ops);
    assertFence(cmd.fence);
  },
  untrusted: (cmd) => {
    for (const op of cmd.ops) if (op.op === 'set') assertNotShared(op.value, 'key', op.key);
  },
  apply: (actor, cmd) => actor.backend.transaction(cmd.ops, cmd.fence),
  fresh: true,
});

export const getMany = defineCommand<{ type: 'kv.getMany'; keys: string[] }>({
  type: 'kv.getMany',
  code: 23,
  fields: ['keys'],
  validate: (cmd) => {
    if (!Array.isArray(cmd.keys)) throw bad(`Expected \`keys\` to be an array of non-empty strings, got ${describe(cmd.keys)}`);
    for (let i = 0; i < cmd.keys.length; i++) {
      const key: unknown = cmd.keys[i];
      if (typeof key !== 'string' || key.length === 0) {
        throw new KvbusError('ERR_BAD_KEY', `Expected \`keys[${i}]\` to be a non-empty string, got ${describe(key)}`);
      }
    }
  },
  apply: (actor, cmd) => actor.backend.getMany(cmd.keys),
});
