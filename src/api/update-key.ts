import * as kv from '../commands/kv.js';
import type { AnySpec, Command } from '../commands/table.js';
import { describe, isKvbusError, KvbusError } from '../errors.js';
import type { Entry, UpdateOptions } from '../types.js';
import { assertKey } from '../validate.js';
import { abortable, assertSignal, throwIfAborted } from './abortable.js';

/** What {@link updateKey} needs of a store client. */
export interface UpdateHost {
  /** Sends one command; resolves with the actor's reply. */
  request(cmd: Command, spec?: AnySpec): Promise<unknown>;
  /** Copies a value the way the client copies values at the call. */
  copy<TValue>(value: TValue, key: string): TValue;
}

/**
 * `store.update`: optimistic read-modify-write with `fn` run here, retried on
 * conflict. With a `signal`, it gives up with `ERR_ABORTED` between attempts and
 * while it waits (for the read, for `fn`, for the write); a write already sent
 * when the signal fires may still be applied.
 * @param host - the client's way to the actor
 * @param key - the key
 * @param fn - the next value from the old one (`undefined` deletes the key)
 * @param options - `retries`, `signal`
 * @returns the value written (`undefined`: deleted)
 */
export async function updateKey<TValue>(
  host: UpdateHost,
  key: string,
  fn: (old: TValue | undefined) => TValue | undefined | Promise<TValue | undefined>,
  options: UpdateOptions | undefined,
): Promise<TValue | undefined> {
  assertKey(key);
  if (typeof fn !== 'function') throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`fn\` to be a function, got ${describe(fn)}`);
  const retries = options?.retries ?? Infinity;
  if (typeof retries !== 'number' || Number.isNaN(retries) || retries < 0) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`retries\` to be a number >= 0, got ${describe(retries)}`);
  }
  const signal = options?.signal;
  assertSignal(signal);
  const what = `update(${JSON.stringify(key)})`;
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(signal, what);
    const read = host.request({ type: 'kv.getEntry', key }, kv.getEntry) as Promise<Entry<TValue> | undefined>;
    const entry = await abortable(read, signal, what);
    const next = await abortable(Promise.resolve(fn(entry?.value)), signal, what);
    // Aborted while `fn` ran: the write is not sent at all.
    throwIfAborted(signal, what);
    const revision = entry?.revision ?? 0;
    try {
      if (next === undefined) {
        if (entry) await abortable(host.request({ type: 'kv.delete', key, ifRevision: revision }, kv.delete), signal, what);
      } else {
        const write = host.request({ type: 'kv.set', key, value: host.copy(next, key), ifRevision: revision, keepTtl: true }, kv.set);
        await abortable(write, signal, what);
      }
      return next;
    } catch (error) {
      if (!isKvbusError(error) || error.code !== 'ERR_CONFLICT') throw error;
      if (attempt >= retries) {
        throw new KvbusError('ERR_CONFLICT', `${what} gave up after ${attempt + 1} conflicting attempts (retries: ${retries})`, {
          cause: error,
        });
      }
    }
  }
}
