/**
 * The stable error codes of kvbus. They survive thread and process boundaries.
 */
export const ERROR_CODES = [
  'ERR_BAD_KEY',
  'ERR_BAD_ARGUMENT',
  'ERR_NOT_CLONEABLE',
  'ERR_TYPE',
  'ERR_CONFLICT',
  'ERR_CLOSED',
  'ERR_DISCONNECTED',
  'ERR_TIMEOUT',
  'ERR_ABORTED',
  'ERR_NO_STORE',
  'ERR_WOULD_DEADLOCK',
  'ERR_BACKEND',
  'ERR_COMPACTED',
] as const;

/** One of {@link ERROR_CODES}. */
export type KvbusErrorCode = (typeof ERROR_CODES)[number];

/**
 * The one error class kvbus throws; callers branch on `code`, never on the message.
 *
 * @example
 * try { await store.set('n', 1, { ifRevision: 0 }); }
 * catch (err) { if (err instanceof KvbusError && err.code === 'ERR_CONFLICT') retry(); }
 */
export class KvbusError extends Error {
  override name = 'KvbusError';
  readonly code: KvbusErrorCode;

  /**
   * @param code - the stable error code
   * @param message - what went wrong and what to do about it
   * @param options - `cause`: the lower-level error, when there is one
   */
  constructor(code: KvbusErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/**
 * Tells whether a value is a kvbus error, even one built by another copy of the library.
 *
 * @param error - anything caught
 * @returns true when `error` carries a kvbus error code
 */
export function isKvbusError(error: unknown): error is KvbusError {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code);
}

/**
 * @internal The error of a compare-and-set whose key moved on, the same from every backend.
 * @param key - the key
 * @param actual - its current revision (0: absent)
 * @param expected - the revision the caller expected, when known
 */
export function conflictError(key: string, actual: number, expected?: number): KvbusError {
  const wanted = expected === undefined ? '' : `expected revision ${expected}${expected === 0 ? ' (absent)' : ''}, but `;
  const now = actual === 0 ? 'it is absent' : `it is at revision ${actual}`;
  return new KvbusError('ERR_CONFLICT', `Key ${JSON.stringify(key)} moved on: ${wanted}${now}; re-read it and retry`);
}

/**
 * @internal The error of an `incr` on a key that does not hold a number, the same from every backend.
 * @param key - the key
 * @param held - what it holds, when the backend knows (`'a string'`, `'an object'`)
 */
export function notANumberError(key: string, held?: string): KvbusError {
  return new KvbusError('ERR_TYPE', `Cannot incr key ${JSON.stringify(key)}: it holds ${held ?? 'something else'}, not a number`);
}

/**
 * @internal The error of an `incr` whose result would leave the finite numbers, the same from every backend.
 * @param key - the key
 * @param old - the number it holds
 * @param by - the increment
 */
export function incrRangeError(key: string, old: number, by: number): KvbusError {
  return new KvbusError(
    'ERR_BAD_ARGUMENT',
    `Cannot incr key ${JSON.stringify(key)} by ${by}: it holds ${old}, and the result would not be a finite number; nothing was changed`,
  );
}

/**
 * @internal The error of a fenced write, or an `extend`, whose lock is no longer held with that token, the same from every backend.
 * @param name - the lock
 * @param token - the token the caller gave
 * @param what - what was refused (`'write to key "a"'`, `'extend'`)
 */
export function lockLostError(name: string, token: number, what: string): KvbusError {
  return new KvbusError(
    'ERR_CONFLICT',
    `Lock ${JSON.stringify(name)} is no longer held with token ${token} (it was released, or its lease ran out): the ${what} was refused and nothing was changed`,
  );
}

/**
 * @internal The error of a change feed asked to resume from before what history holds, the same from every backend.
 * It carries `oldestRevision`, the oldest revision history still holds (kept across threads and processes).
 * @param since - the revision the caller asked to resume after
 * @param oldestRevision - the oldest revision history holds (the store's next revision when it holds none)
 */
export function compactedError(since: number, oldestRevision: number): KvbusError & { oldestRevision: number } {
  const error = new KvbusError(
    'ERR_COMPACTED',
    `History no longer reaches back to revision ${since + 1}: it starts at revision ${oldestRevision}; read a snapshot() and follow changes from its revision, or keep more history (history: { maxEvents })`,
  ) as KvbusError & { oldestRevision: number };
  error.oldestRevision = oldestRevision;
  return error;
}

/**
 * @internal The error that ends a remote subscriber whose buffer overflowed under the policy 'error'.
 * @param size - the buffer's size
 */
export function overflowError(size: number): KvbusError {
  return new KvbusError(
    'ERR_DISCONNECTED',
    `This subscriber fell ${size} messages behind and was ended (subscriberBuffer.overflow: 'error'); consume faster or choose 'drop-oldest'`,
  );
}

/**
 * @internal The error of a change feed asked to resume after a revision the store has not reached
 * (the store was recreated, or the revision came from another store): the follower must start again
 * from a snapshot, as after a compaction, so it carries the same code and `oldestRevision`.
 * @param since - the revision the caller asked to resume after
 * @param current - the store's current revision
 */
export function futureRevisionError(since: number, current: number): KvbusError & { oldestRevision: number } {
  const error = new KvbusError(
    'ERR_COMPACTED',
    `Cannot resume after revision ${since}: this store is at revision ${current} (was it recreated, or is the revision another store's?); read a snapshot() and follow changes from its revision`,
  ) as KvbusError & { oldestRevision: number };
  error.oldestRevision = current + 1;
  return error;
}

/** @internal Describes a value for an error message: its type, and short values in full. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return value.length > 40 ? `a string of length ${value.length}` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? `an object (${className(value)})` : typeof value;
}

/** The name of an object's class, read from its prototype (an own `constructor` key from a wire could be anything). */
function className(value: object): string {
  try {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === null) return 'null prototype';
    const name: unknown = (proto as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name.length > 0 ? name : 'anonymous class';
  } catch {
    return 'unreadable'; // a Proxy whose trap throws
  }
}
