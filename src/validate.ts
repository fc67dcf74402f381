import { describe, KvbusError } from './errors.js';

// Shared by the client side (fail fast, in the caller's stack) and the actor (a
// remote message may be anything): cheap typeof checks only.

/** @internal Throws `ERR_BAD_KEY` unless `key` is a non-empty string. */
export function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new KvbusError('ERR_BAD_KEY', `Expected \`key\` to be a non-empty string, got ${describe(key)}`);
  }
}

/** @internal Throws `ERR_BAD_ARGUMENT` unless `value` is a non-empty string. */
export function assertName(what: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`${what}\` to be a non-empty string, got ${describe(value)}`);
  }
}

/** @internal Throws `ERR_BAD_ARGUMENT` unless `pattern` is absent or a non-empty string. */
export function assertPattern(pattern: unknown): asserts pattern is string | undefined {
  if (pattern !== undefined) assertName('pattern', pattern);
}

/** @internal Throws `ERR_BAD_ARGUMENT` unless `value` is a finite number. */
export function assertFinite(what: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`${what}\` to be a finite number, got ${describe(value)}`);
  }
}

/** @internal Throws `ERR_BAD_ARGUMENT` unless `options` is absent or an object. */
export function assertOptions(what: string, options: unknown): asserts options is object | undefined {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected ${what} to be an object, got ${describe(options)}`);
  }
}

/** @internal Throws `ERR_BAD_ARGUMENT` unless `ttlMs` is absent or a positive finite number. */
export function assertTtl(ttlMs: unknown): void {
  if (ttlMs !== undefined && (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0)) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`ttlMs\` to be a positive finite number, got ${describe(ttlMs)}`);
  }
}

/** @internal Throws `ERR_BAD_ARGUMENT` unless `ifRevision` is absent or a revision (0 = only if absent). */
export function assertRevision(ifRevision: unknown): void {
  if (ifRevision !== undefined && (typeof ifRevision !== 'number' || !Number.isSafeInteger(ifRevision) || ifRevision < 0)) {
    throw new KvbusError(
      'ERR_BAD_ARGUMENT',
      `Expected \`ifRevision\` to be a revision (an integer >= 0, 0 = only if absent), got ${describe(ifRevision)}`,
    );
  }
}

/** @internal Throws `ERR_BAD_ARGUMENT` for `undefined`, which is not a storable value. */
export function assertValue(key: string, value: unknown): void {
  if (value === undefined) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Cannot store \`undefined\` under key ${JSON.stringify(key)}: use delete() to remove a key`);
  }
}
