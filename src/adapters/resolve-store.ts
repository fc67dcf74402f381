import { getStore, KvbusError, type Store } from 'kvbus';

/** What a kvbus store has that the adapters use. */
const METHODS = ['get', 'set', 'delete', 'has', 'keys', 'scan', 'clear', 'changes'] as const;

/**
 * The store an adapter works on: the one given, or this thread's `getStore()`
 * (the default store in the main thread, the parent's store in a pool worker or
 * a forked child).
 * @param store - what the caller passed (`undefined` for the default)
 * @param where - the adapter, named in the error message (`'KeyvKvbus'`, `'kvbusDriver'`)
 * @returns the store
 * @throws KvbusError `ERR_BAD_ARGUMENT` when `store` is not a kvbus store; `ERR_NO_STORE` from `getStore()`
 */
export function resolveStore(store: unknown, where: string): Store {
  if (store === undefined) return getStore();
  if (typeof store === 'string') {
    throw new KvbusError(
      'ERR_BAD_ARGUMENT',
      `${where}: expected \`store\` to be a kvbus Store, got the string ${JSON.stringify(store)}: pass a store, not a URL (for Redis: createStore({ backend: redisBackend({ url }) }) from 'kvbus' and 'kvbus/redis')`,
    );
  }
  if (typeof store !== 'object' || store === null) {
    throw badArgument(where, 'store', 'a kvbus Store (from createStore() or getStore()), or undefined for getStore()', store);
  }
  const missing = METHODS.find((method) => typeof (store as Record<string, unknown>)[method] !== 'function');
  if (missing !== undefined) {
    throw new KvbusError(
      'ERR_BAD_ARGUMENT',
      `${where}: expected \`store\` to be a kvbus Store (from createStore() or getStore()), got an object without a ${missing}() method`,
    );
  }
  return store as Store;
}

/**
 * Checks an optional option that must be a positive finite number.
 * @param where - the adapter, named in the error message
 * @param name - the option's name
 * @param value - its value
 * @param integer - true when it must also be an integer
 * @returns the value
 * @throws KvbusError `ERR_BAD_ARGUMENT` otherwise
 */
export function optionalPositive(where: string, name: string, value: unknown, integer = false): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw badArgument(where, name, integer ? 'a positive integer' : 'a positive finite number', value);
  }
  return value;
}

/**
 * Builds the error of an option of the wrong kind: "Expected `x` to be …, got …".
 * @param where - the adapter
 * @param name - the option
 * @param expected - what it should be
 * @param got - what it is
 * @returns a KvbusError `ERR_BAD_ARGUMENT`
 */
export function badArgument(where: string, name: string, expected: string, got: unknown): KvbusError {
  return new KvbusError('ERR_BAD_ARGUMENT', `${where}: expected \`${name}\` to be ${expected}, got ${show(got)}`);
}

function show(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  if (typeof value === 'function') return 'a function';
  return `${typeof value} ${String(value)}`;
}
