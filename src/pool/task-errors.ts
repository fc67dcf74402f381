import { isKvbusError, KvbusError, type KvbusErrorCode } from '../errors.js';

// piscina hands a task's error to `pool.run`'s caller through structured clone,
// which keeps an Error's message and stack but drops its own properties (`code`,
// `oldestRevision`...) and turns every class into a plain Error. kvbus's task
// entry (task-entry.ts) throws a kvbus error as a tagged plain object instead,
// which the clone copies whole, and the pool rebuilds it on the caller's side.

/** The tag of an encoded kvbus error (a plain object thrown by a pool task). */
const TAG = 'kvbus/task-error';

/** A kvbus error as it crosses from a pool task to `pool.run`'s caller. */
interface EncodedTaskError {
  [TAG]: 1;
  code: KvbusErrorCode;
  message: string;
  stack: string | undefined;
  /** Its own properties beyond the standard ones, those that can be cloned. */
  props: Record<string, unknown>;
  cause?: unknown;
}

const STANDARD = new Set(['name', 'code', 'message', 'stack', 'cause']);

/**
 * Encodes what a pool task threw so that a kvbus error survives the trip.
 * @param error - what the task threw
 * @returns an encoded kvbus error, or `error` itself
 */
export function encodeTaskError(error: unknown): unknown {
  if (!isKvbusError(error)) return error;
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(error)) {
    if (STANDARD.has(key)) continue;
    const value = (error as unknown as Record<string, unknown>)[key];
    if (cloneable(value)) props[key] = value;
  }
  const encoded: EncodedTaskError = { [TAG]: 1, code: error.code, message: error.message, stack: error.stack, props };
  // A cause that cannot be cloned would make piscina's reply fail: it goes, as the clone would lose it anyway.
  if (error.cause !== undefined && cloneable(error.cause)) encoded.cause = error.cause;
  return encoded;
}

/**
 * Rebuilds a kvbus error that a pool task threw.
 * @param value - what `pool.run` rejected with
 * @returns the kvbus error, or `value` itself when it is not an encoded one
 */
export function decodeTaskError(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || (value as Partial<EncodedTaskError>)[TAG] !== 1) return value;
  const encoded = value as EncodedTaskError;
  const options = Object.hasOwn(encoded, 'cause') ? { cause: encoded.cause } : undefined;
  const error = new KvbusError(encoded.code, String(encoded.message), options);
  if (typeof encoded.stack === 'string') error.stack = encoded.stack;
  const props = encoded.props;
  if (props !== null && typeof props === 'object') {
    for (const key of Object.keys(props)) {
      if (!STANDARD.has(key))
        Object.defineProperty(error, key, { value: props[key], enumerable: true, writable: true, configurable: true });
    }
  }
  return error;
}

function cloneable(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}
