import { cloneValue } from '../clone.js';
import type { CommandSpec } from '../commands/define.js';
import * as kv from '../commands/kv.js';
import type { CommandOfType } from '../commands/table.js';
import type { SetOptions } from '../types.js';
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
 * @internal A `set`: its options are an object or absent, and the value is cloned after the checks.
 * @param copyIn - clone the value now, at the call (false only for a main-thread store with `copy: false`)
 */
export function buildSet(key: string, value: unknown, options: SetOptions | undefined, copyIn: boolean): CommandOfType<'kv.set'> {
  const cmd: CommandOfType<'kv.set'> = { type: 'kv.set', key, value };
  if (options !== null && typeof options === 'object') {
    if (options.ttlMs !== undefined) cmd.ttlMs = options.ttlMs;
    if (options.ifRevision !== undefined) cmd.ifRevision = options.ifRevision;
  }
  assertOptions('set options', options);
  kv.set.validate(cmd);
  if (copyIn) cmd.value = cloneValue(value, 'key', key);
  return cmd;
}
