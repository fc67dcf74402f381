import { cloneValue } from '../clone.js';
import * as kv from '../commands/kv.js';
import type { CommandOfType } from '../commands/table.js';
import type { SetOptions } from '../types.js';
import { assertOptions } from '../validate.js';

// The commands of the key-value methods, checked in the caller's stack by their
// descriptors' own validation (the actor runs the same on commands that came
// over a wire). The async API and `store.sync` build them the same way.

const KEY_COMMANDS = { 'kv.get': kv.get, 'kv.getEntry': kv.getEntry, 'kv.delete': kv.delete, 'kv.has': kv.has };

/** @internal A command whose only field is its key. */
export function buildKeyCommand<TType extends 'kv.get' | 'kv.getEntry' | 'kv.delete' | 'kv.has'>(
  type: TType,
  key: string,
): CommandOfType<TType> {
  const cmd = { type, key } as CommandOfType<TType>;
  (KEY_COMMANDS[type].validate as (cmd: CommandOfType<TType>) => void)(cmd);
  return cmd;
}

/**
 * @internal
 * @param copyIn - clone the value now, at the call (false only for a main-thread store with `copy: false`)
 */
export function buildSet(key: string, value: unknown, options: SetOptions | undefined, copyIn: boolean): CommandOfType<'kv.set'> {
  const cmd: CommandOfType<'kv.set'> = { type: 'kv.set', key, value };
  if (options !== null && typeof options === 'object') {
    if (options.ttlMs !== undefined) cmd.ttlMs = options.ttlMs;
    if (options.ifRevision !== undefined) cmd.ifRevision = options.ifRevision;
  }
  kv.set.validate(cmd);
  assertOptions('set options', options);
  if (copyIn) cmd.value = cloneValue(value, 'key', key);
  return cmd;
}

/** @internal */
export function buildIncr(key: string, by: number): CommandOfType<'kv.incr'> {
  const cmd: CommandOfType<'kv.incr'> = { type: 'kv.incr', key, by };
  kv.incr.validate(cmd);
  return cmd;
}
