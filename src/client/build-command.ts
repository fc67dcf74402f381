import type { Command } from '../actors/commands.js';
import type { SetOptions } from '../types.js';
import { assertFinite, assertKey, assertSetOptions, assertValue, cloneValue } from '../validate.js';

// The commands of the key-value methods, validated in the caller's stack. The
// async API and `store.sync` build them the same way.

/** @internal */
export function buildGet(key: string): Command {
  assertKey(key);
  return { type: 'kv.get', key };
}

/** @internal */
export function buildGetEntry(key: string): Command {
  assertKey(key);
  return { type: 'kv.getEntry', key };
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
export function buildDelete(key: string): Command {
  assertKey(key);
  return { type: 'kv.delete', key };
}

/** @internal */
export function buildHas(key: string): Command {
  assertKey(key);
  return { type: 'kv.has', key };
}

/** @internal */
export function buildIncr(key: string, by: number): Command {
  assertKey(key);
  assertFinite('by', by);
  return { type: 'kv.incr', key, by };
}
