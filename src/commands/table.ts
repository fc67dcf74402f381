import { describe, KvbusError } from '../errors.js';
import * as bus from './bus.js';
import * as cache from './cache.js';
import * as coord from './coord.js';
import type { CommandOf, CommandSpec } from './define.js';
import * as feed from './feed.js';
import * as kv from './kv.js';
import * as scan from './scan.js';
import * as sys from './sys.js';

/** Every command, once. */
export const COMMANDS = [
  kv.get,
  kv.getEntry,
  kv.has,
  kv.ttl,
  kv.set,
  kv.delete,
  kv.incr,
  kv.apply,
  kv.keys,
  kv.getAll,
  kv.clear,
  coord.getMany,
  coord.transaction,
  coord.acquire,
  coord.release,
  coord.extend,
  coord.cancel,
  scan.scan,
  scan.scanClose,
  bus.publish,
  bus.subscribe,
  bus.unsubscribe,
  feed.snapshot,
  feed.resume,
  sys.stats,
  sys.clients,
  sys.disconnect,
  sys.expire,
  cache.fill,
] as const;

/** Every command the store actor understands, discriminated on `type`. */
export type Command = CommandOf<(typeof COMMANDS)[number]>;

/** The `type` of every command. */
export type CommandType = Command['type'];

/** The command of one type. */
export type CommandOfType<TType extends CommandType> = Extract<Command, { type: TType }>;

// biome-ignore lint/suspicious/noExplicitAny: the table holds every command's descriptor; callers narrow by `type`
export type AnySpec = CommandSpec<any>;

/** Descriptors by `type`. */
export const SPEC_BY_TYPE: Readonly<Record<CommandType, AnySpec>> = Object.fromEntries(COMMANDS.map((spec) => [spec.type, spec])) as Record<
  CommandType,
  AnySpec
>;

/** Descriptors by wire code (a sparse array; commands without a code are not reachable from a wire). */
export const SPEC_BY_CODE: ReadonlyArray<AnySpec | undefined> = (() => {
  const byCode: Array<AnySpec | undefined> = [];
  for (const spec of COMMANDS as readonly AnySpec[]) {
    if (spec.code === undefined) continue;
    if (byCode[spec.code]) throw new Error(`kvbus: commands ${byCode[spec.code]!.type} and ${spec.type} share wire code ${spec.code}`);
    byCode[spec.code] = spec;
  }
  return byCode;
})();

/**
 * The descriptor of something that arrived as a command from a client.
 * @param cmd - anything
 * @returns its descriptor
 * @throws KvbusError `ERR_BAD_ARGUMENT` when it is not a command kvbus knows
 */
export function specOf(cmd: unknown): AnySpec {
  if (cmd === null || typeof cmd !== 'object') throw new KvbusError('ERR_BAD_ARGUMENT', `Expected a command object, got ${describe(cmd)}`);
  const type = (cmd as { type?: unknown }).type;
  // A command without a wire code is the actor's own (a TTL expiry): no client may send it.
  const spec = typeof type === 'string' && Object.hasOwn(SPEC_BY_TYPE, type) ? SPEC_BY_TYPE[type as CommandType] : undefined;
  if (spec?.code === undefined) throw new KvbusError('ERR_BAD_ARGUMENT', `Unknown command type ${describe(type)}`);
  return spec;
}
