import type { WireError } from '../../commands/events.js';
import { ERROR_CODES, KvbusError, type KvbusErrorCode } from '../../errors.js';

export type { WireError };

/**
 * Encodes an error for the wire.
 * @param error - what was thrown
 * @returns its name, code and message
 */
export function encodeError(error: unknown): WireError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      code: typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code) ? code : undefined,
      message: error.message,
    };
  }
  return { name: 'Error', message: String(error) };
}

/**
 * Rebuilds an error from the wire: a `KvbusError` with the same code when it had one.
 * @param wire - the encoded error
 * @returns the error to reject with
 */
export function decodeError(wire: WireError): Error {
  if (wire.code && (ERROR_CODES as readonly string[]).includes(wire.code)) return new KvbusError(wire.code as KvbusErrorCode, wire.message);
  const error = new Error(wire.message);
  error.name = wire.name;
  return error;
}
