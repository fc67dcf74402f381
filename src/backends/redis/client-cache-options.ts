// The `clientCache` option of the Redis backend, validated (see client-cache.ts).
import { describe, KvbusError } from '../../errors.js';
import { ClientCache } from './client-cache.js';
import type { Codec } from './layout.js';
import type { RedisBackendOptions, RedisClientCacheOptions } from './options.js';

const DEFAULT_MAX_ENTRIES = 10_000;

/**
 * The client-side cache `options` ask for, validated (`clientCache`: `true` or
 * {@link RedisClientCacheOptions}); undefined when it is off.
 */
export function clientCacheOf(options: RedisBackendOptions, codec: Codec): ClientCache | undefined {
  if ('clientSideCache' in options && options.clientSideCache !== undefined) {
    // kvbus sends its commands past node-redis's typed API, which alone consults that cache.
    throw new KvbusError(
      'ERR_BAD_ARGUMENT',
      "Expected `clientCache: { maxEntries?, ttlMs? }` instead of node-redis's `clientSideCache`: kvbus reads through a cached connection of its own",
    );
  }
  const resolved = resolveClientCache(options.clientCache);
  return resolved && new ClientCache(resolved, codec);
}

/** Validates `clientCache` (`true`, or {@link RedisClientCacheOptions}); undefined when it is off. */
function resolveClientCache(option: unknown): Required<RedisClientCacheOptions> | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return { maxEntries: DEFAULT_MAX_ENTRIES, ttlMs: 0 };
  if (option === null || typeof option !== 'object' || Array.isArray(option)) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`clientCache\` to be true or { maxEntries?, ttlMs? }, got ${describe(option)}`);
  }
  const { maxEntries = DEFAULT_MAX_ENTRIES, ttlMs = 0, ...rest } = option as RedisClientCacheOptions;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Unknown \`clientCache\` option ${JSON.stringify(unknown[0])}: expected maxEntries or ttlMs`);
  }
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`clientCache.maxEntries\` to be a positive integer, got ${describe(maxEntries)}`);
  }
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs < 0) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`clientCache.ttlMs\` to be a finite number ≥ 0, got ${describe(ttlMs)}`);
  }
  return { maxEntries, ttlMs };
}
