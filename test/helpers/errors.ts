// The errors a call rejects or throws with, and the checks on them. Imports only
// src/errors.ts (a module with no imports of its own), so tests of the built
// package (test/integration) can use this file without loading src/.
import { expect } from 'vitest';
import { KvbusError } from '../../src/errors.js';

/** The error a promise rejects with; fails if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<KvbusError> {
  const outcome = await promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`Expected a rejection, but it resolved with ${String(outcome.value)}`);
  return outcome.error as KvbusError;
}

/** The error `fn` throws synchronously; fails if it returns. */
export function thrownBy(fn: () => unknown): KvbusError {
  try {
    fn();
  } catch (error) {
    return error as KvbusError;
  }
  throw new Error('Expected a synchronous throw, but the call returned');
}

function expectKvbusError(error: unknown, code: string, message: RegExp | undefined, how: string): KvbusError {
  expect(error, `expected ${how} ${code}, got ${String(error)}`).toBeInstanceOf(KvbusError);
  expect((error as KvbusError).code).toBe(code);
  if (message) expect((error as KvbusError).message).toMatch(message);
  return error as KvbusError;
}

/** Asserts that `promise` rejects with a KvbusError of `code` (whose message matches `message`); returns the error. */
export async function expectCode(promise: Promise<unknown>, code: string, message?: RegExp): Promise<KvbusError> {
  return expectKvbusError(await rejectionOf(promise), code, message, 'a rejection with');
}

/** Asserts that `fn` throws a KvbusError of `code` synchronously (whose message matches `message`); returns the error. */
export function expectThrowsCode(fn: () => unknown, code: string, message?: RegExp): KvbusError {
  return expectKvbusError(thrownBy(fn), code, message, 'a synchronous');
}
