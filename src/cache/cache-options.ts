import type { CacheConfig, CacheOptions } from '../cache-types.js';
import { describe, KvbusError } from '../errors.js';
import { compileGlob } from '../glob.js';

/** The bound of a near cache when its options do not say. */
export const DEFAULT_MAX_ENTRIES = 10_000;

/**
 * @internal Checks the `cache` option of `createPool`, `attach` or `fork`.
 * @param options - what the caller passed
 * @returns the checked settings (globs as an array), or undefined when no cache was asked for
 * @throws KvbusError `ERR_BAD_ARGUMENT` naming the field to fix
 */
export function checkCacheOptions(options: CacheOptions | undefined): CacheConfig | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`cache\` to be { keys, maxEntries? }, got ${describe(options)}`);
  }
  const { keys, maxEntries = DEFAULT_MAX_ENTRIES } = options;
  const globs = typeof keys === 'string' ? [keys] : keys;
  if (!Array.isArray(globs) || globs.length === 0 || !globs.every((glob) => typeof glob === 'string' && glob.length > 0)) {
    throw new KvbusError(
      'ERR_BAD_ARGUMENT',
      `Expected \`cache.keys\` to be a non-empty glob or a non-empty array of non-empty globs, got ${describe(keys)}`,
    );
  }
  for (const glob of globs) compileGlob(glob);
  if (!Number.isSafeInteger(maxEntries) || maxEntries <= 0) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`cache.maxEntries\` to be a positive safe integer, got ${describe(maxEntries)}`);
  }
  return { keys: [...globs], maxEntries };
}

/**
 * @internal One test for a near cache's globs.
 * @param globs - the checked globs
 * @returns true for a key the cache keeps
 */
export function matchAny(globs: readonly string[]): (key: string) => boolean {
  const tests = globs.map(compileGlob);
  if (tests.length === 1) return tests[0]!;
  return (key) => tests.some((test) => test(key));
}
