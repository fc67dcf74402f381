import * as kv from '../commands/kv.js';
import type { AnySpec, Command } from '../commands/table.js';
import type { Entry, SetOptions, SyncStore } from '../types.js';
import { buildSet, checked } from './build-command.js';

/** A near cache's answer for a key it holds (see cache/cached-link.ts). */
export interface CachedRead {
  present: boolean;
  value: unknown;
  revision: number;
}

/**
 * Builds the blocking API from a function that sends one command and waits for its answer.
 * @param requestSync - sends a command and returns the reply (or throws its error)
 * @param copyIn - clone values before sending (main thread)
 * @param cached - a near cache's current entry of a key, if it holds one (a hit: no command is built)
 * @returns the `store.sync` object
 */
export function createSyncStore(
  requestSync: (cmd: Command, spec: AnySpec) => unknown,
  copyIn: boolean,
  cached?: (key: string) => CachedRead | undefined,
): SyncStore {
  return {
    get<TValue>(key: string, defaultValue?: TValue): TValue | undefined {
      // A cached key is a valid one: a hit needs no command and no check.
      const hit = cached !== undefined && typeof key === 'string' ? cached(key) : undefined;
      if (hit !== undefined) {
        if (!hit.present) return defaultValue;
        const { value } = hit;
        return (typeof value === 'object' && value !== null ? structuredClone(value) : value) as TValue;
      }
      const value = requestSync(checked(kv.get, { type: 'kv.get', key }), kv.get) as TValue | undefined;
      return value === undefined ? defaultValue : value;
    },
    getEntry<TValue>(key: string): Entry<TValue> | undefined {
      return requestSync(checked(kv.getEntry, { type: 'kv.getEntry', key }), kv.getEntry) as Entry<TValue> | undefined;
    },
    set: (key: string, value: unknown, options?: SetOptions) => requestSync(buildSet(key, value, options, copyIn), kv.set) as number,
    delete: (key: string) => requestSync(checked(kv.delete, { type: 'kv.delete', key }), kv.delete) as boolean,
    has: (key: string) => requestSync(checked(kv.has, { type: 'kv.has', key }), kv.has) as boolean,
    incr: (key: string, by = 1) => requestSync(checked(kv.incr, { type: 'kv.incr', key, by }), kv.incr) as number,
  };
}

/**
 * The `store.sync` of a place where blocking cannot be served: every method throws.
 * @param error - builds the error to throw (it says what to use instead)
 * @returns a `store.sync` whose methods throw `ERR_WOULD_DEADLOCK`
 */
export function refusingSyncStore(error: () => Error): SyncStore {
  const refuse = (): never => {
    throw error();
  };
  return { get: refuse, getEntry: refuse, set: refuse, delete: refuse, has: refuse, incr: refuse };
}
