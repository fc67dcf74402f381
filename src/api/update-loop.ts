import * as kv from '../commands/kv.js';
import type { Link } from '../commands/link.js';
import { describe, isKvbusError, KvbusError } from '../errors.js';
import type { Entry, UpdateOptions } from '../types.js';
import { assertKey } from '../validate.js';

/**
 * Optimistic read-modify-write (see {@link Store.update}): reads the entry, runs
 * `fn` here, writes with `ifRevision`, and starts over on a conflict.
 * @param link - the way to the actor
 * @param key - the key
 * @param fn - the next value from the old one (`undefined` deletes)
 * @param options - how many conflicts to retry
 * @param copy - copies a value before it is sent (copy mode)
 * @returns the value written (`undefined` when deleted)
 */
export async function updateLoop<TValue>(
  link: Link,
  key: string,
  fn: (old: TValue | undefined) => TValue | undefined | Promise<TValue | undefined>,
  options: UpdateOptions | undefined,
  copy: (value: TValue, key: string) => TValue,
): Promise<TValue | undefined> {
  assertKey(key);
  if (typeof fn !== 'function') throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`fn\` to be a function, got ${describe(fn)}`);
  const retries = options?.retries ?? Infinity;
  if (typeof retries !== 'number' || Number.isNaN(retries) || retries < 0) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`retries\` to be a number >= 0, got ${describe(retries)}`);
  }
  for (let attempt = 0; ; attempt++) {
    const entry = (await link.request({ type: 'kv.getEntry', key }, kv.getEntry)) as Entry<TValue> | undefined;
    const next = await fn(entry?.value);
    const revision = entry?.revision ?? 0;
    try {
      if (next === undefined) {
        if (entry) await link.request({ type: 'kv.delete', key, ifRevision: revision }, kv.delete);
      } else {
        await link.request({ type: 'kv.set', key, value: copy(next, key), ifRevision: revision, keepTtl: true }, kv.set);
      }
      return next;
    } catch (error) {
      if (!isKvbusError(error) || error.code !== 'ERR_CONFLICT') throw error;
      if (attempt >= retries) {
        throw new KvbusError(
          'ERR_CONFLICT',
          `update(${JSON.stringify(key)}) gave up after ${attempt + 1} conflicting attempts (retries: ${retries})`,
          {
            cause: error,
          },
        );
      }
    }
  }
}
