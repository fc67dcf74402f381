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
    const wire: WireError = {
      name: error.name,
      code: typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code) ? code : undefined,
      message: error.message,
    };
    // The context field of a compaction error: where history starts, so the caller can recover.
    const oldest = (error as { oldestRevision?: unknown }).oldestRevision;
    if (code === 'ERR_COMPACTED' && typeof oldest === 'number') wire.oldestRevision = oldest;
    return wire;
  }
  return { name: 'Error', message: String(error) };
}

/**
 * Rebuilds an error from the wire: a `KvbusError` with the same code when it had one.
 * @param wire - the encoded error
 * @returns the error to reject with
 */
export function decodeError(wire: WireError): Error {
  if (wire.code && (ERROR_CODES as readonly string[]).includes(wire.code)) {
    const error = new KvbusError(wire.code as KvbusErrorCode, wire.message);
    if (wire.code === 'ERR_COMPACTED' && typeof wire.oldestRevision === 'number') {
      (error as KvbusError & { oldestRevision: number }).oldestRevision = wire.oldestRevision;
    }
    return error;
  }
  const error = new Error(wire.message);
  error.name = wire.name;
  return error;
}
