import { deserialize, serialize } from 'node:v8';
import { describe, KvbusError } from '../../errors.js';

/** Turns values into bytes and back, for a backend that stores bytes. */
export interface Serializer {
  /** A value as the bytes (or text) stored in Redis; throws when it cannot be encoded. */
  encode(value: unknown): Buffer | string;
  /** The value back from what {@link Serializer.encode} made. */
  decode(bytes: Buffer): unknown;
}

/** `v8.serialize`: structured-clone fidelity (Dates, Maps, Sets, typed arrays, cycles). */
export const v8Serializer: Serializer = {
  encode: (value) => serialize(value),
  decode: (bytes) => deserialize(bytes),
};

/** JSON: readable from any language, but only JSON's types survive. */
export const jsonSerializer: Serializer = {
  encode: (value) => JSON.stringify(value),
  decode: (bytes) => JSON.parse(bytes.toString('utf8')),
};

/**
 * Resolves the `serializer` option of a backend.
 * @param option - `'v8'`, `'json'` or your own `{ encode, decode }`
 * @returns the serializer
 */
export function resolveSerializer(option: 'v8' | 'json' | Serializer | undefined): Serializer {
  if (option === undefined || option === 'v8') return v8Serializer;
  if (option === 'json') return jsonSerializer;
  if (option && typeof option === 'object' && typeof option.encode === 'function' && typeof option.decode === 'function') return option;
  throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`serializer\` to be 'v8', 'json' or { encode, decode }, got ${describe(option)}`);
}
