import type { Command } from '../actors/commands.js';
import type { SetOptions } from '../types.js';
import { assertFinite, assertKey, assertSetOptions, assertValue, cloneValue } from '../validate.js';

// The commands of the key-value methods, validated in the caller's stack. The
// async API and `store.sync` build them the same way.

/** @internal A command whose only argument is its key. */
export function buildKeyCommand(type: 'kv.get' | 'kv.getEntry' | 'kv.delete' | 'kv.has', key: string): Command {
  assertKey(key);
  return { type, key };
}

/** @internal `copyIn`: clone the value now (main thread); a message stream clones by itself. */
export function buildSet(key: string, value: unknown, options: SetOptions | undefined, copyIn: boolean): Command {
  assertKey(key);
  assertValue(key, value);
  assertSetOptions(options);
  const cmd: Command = { type: 'kv.set', key, value: copyIn ? cloneValue(value, 'key', key) : value };
  if (options?.ttlMs !== undefined) cmd.ttlMs = options.ttlMs;
  if (options?.ifRevision !== undefined) cmd.ifRevision = options.ifRevision;
  return cmd;
}

/** @internal */
export function buildIncr(key: string, by: number): Command {
  assertKey(key);
  assertFinite('by', by);
  return { type: 'kv.incr', key, by };
}
