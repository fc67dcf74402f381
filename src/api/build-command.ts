import { cloneValue, POST_NOW, wireCopy } from '../clone.js';
import * as coord from '../commands/coord.js';
import type { CommandSpec } from '../commands/define.js';
import * as kv from '../commands/kv.js';
import type { CommandOfType } from '../commands/table.js';
import type { DeleteOptions, IncrOptions, LockRef, SetOptions, TransactionOp, TransactionOptions } from '../types.js';
import { assertOptions } from '../validate.js';

// Commands are checked in the caller's stack by their descriptors' own
// validation (the actor runs the same on commands that came over a wire). The
// async API and `store.sync` build them the same way.

/**
 * @internal Runs a command's own validation and returns it (the types make `cmd` and `spec` agree).
 * @throws KvbusError saying what to fix
 */
export function checked<TCommand extends { type: string }>(spec: CommandSpec<TCommand>, cmd: TCommand): TCommand {
  spec.validate(cmd);
  return cmd;
}

/**
 * @internal How a client copies values in: `true` clones at the call; `'wire'` (a worker or
 * a child) clones small values at the call and leaves a large one to the post that
 * sends it, made before the call returns (one copy, not two); `false` (a
 * main-thread store with `copy: false`) does not copy.
 */
export type CopyIn = boolean | 'wire';

/**
 * @internal A `set`: its options are an object or absent, and the value is cloned after the checks.
 * @param copyIn - how to copy the value (see {@link CopyIn}); with `'wire'` a large value is left
 *   as it is and the command marked {@link POST_NOW}: its sender posts it at once
 */
export function buildSet(key: string, value: unknown, options: SetOptions | undefined, copyIn: CopyIn): CommandOfType<'kv.set'> {
  const cmd: CommandOfType<'kv.set'> = { type: 'kv.set', key, value };
  if (options !== null && typeof options === 'object') {
    if (options.ttlMs !== undefined) cmd.ttlMs = options.ttlMs;
    if (options.ifRevision !== undefined) cmd.ifRevision = options.ifRevision;
    if (options.fence !== undefined) cmd.fence = options.fence;
  }
  assertOptions('set options', options);
  kv.set.validate(cmd);
  if (cmd.fence) cmd.fence = refOf(cmd.fence);
  if (copyIn === 'wire') {
    const copy = wireCopy(value, 'key', key);
    if (copy === POST_NOW) (cmd as PostNow)[POST_NOW] = true;
    else cmd.value = copy;
  } else if (copyIn) cmd.value = cloneValue(value, 'key', key);
  return cmd;
}

/** A command whose value its sender must post before the call returns. */
type PostNow = { [POST_NOW]?: true };

/** @internal A `delete`, with its options checked. */
export function buildDelete(key: string, options: DeleteOptions | undefined): CommandOfType<'kv.delete'> {
  assertOptions('delete options', options);
  const cmd: CommandOfType<'kv.delete'> = { type: 'kv.delete', key };
  if (options?.ifRevision !== undefined) cmd.ifRevision = options.ifRevision;
  if (options?.fence !== undefined) cmd.fence = options.fence;
  kv.delete.validate(cmd);
  if (cmd.fence) cmd.fence = refOf(cmd.fence);
  return cmd;
}

/** @internal An `incr`, with its options checked. */
export function buildIncr(key: string, by: number, options: IncrOptions | undefined): CommandOfType<'kv.incr'> {
  assertOptions('incr options', options);
  const cmd: CommandOfType<'kv.incr'> = { type: 'kv.incr', key, by };
  if (options?.fence !== undefined) cmd.fence = options.fence;
  kv.incr.validate(cmd);
  if (cmd.fence) cmd.fence = refOf(cmd.fence);
  return cmd;
}

/**
 * @internal A `transaction`: the ops are checked, then rebuilt from their known fields (the
 * caller's array and objects may change after the call), their values cloned when `copyIn`.
 */
export function buildTransaction(
  ops: readonly TransactionOp[],
  options: TransactionOptions | undefined,
  copyIn: CopyIn,
): CommandOfType<'kv.transaction'> {
  assertOptions('transaction options', options);
  const cmd: CommandOfType<'kv.transaction'> = { type: 'kv.transaction', ops: ops as TransactionOp[] };
  if (options?.fence !== undefined) cmd.fence = options.fence;
  coord.transaction.validate(cmd);
  if (cmd.fence) cmd.fence = refOf(cmd.fence);
  cmd.ops = ops.map((op): TransactionOp => {
    switch (op.op) {
      case 'set':
        return withDefined({ op: 'set', key: op.key, value: copyIn ? cloneValue(op.value, 'key', op.key) : op.value }, op);
      case 'delete':
        return op.ifRevision === undefined ? { op: 'delete', key: op.key } : { op: 'delete', key: op.key, ifRevision: op.ifRevision };
      case 'incr':
        return { op: 'incr', key: op.key, by: op.by ?? 1 };
      default:
        return { op: 'check', key: op.key, revision: op.revision };
    }
  });
  return cmd;
}

function withDefined(
  out: { op: 'set'; key: string; value: unknown; ttlMs?: number; ifRevision?: number },
  op: { ttlMs?: number; ifRevision?: number },
): TransactionOp {
  if (op.ttlMs !== undefined) out.ttlMs = op.ttlMs;
  if (op.ifRevision !== undefined) out.ifRevision = op.ifRevision;
  return out;
}

/** A lock as a fence: its name and token only (a Lock object carries its link). */
function refOf(fence: LockRef): LockRef {
  return { name: fence.name, token: fence.token };
}
