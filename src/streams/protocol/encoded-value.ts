import { Deserializer, Serializer } from 'node:v8';

// A worker's (or a child's) large `set` value travels as the bytes of its V8
// serialization, made at the call: the same format, and so the same copy, as
// a structured clone (Maps, Sets, Dates, typed arrays sharing a buffer, cycles,
// errors), but the store reads it back with its own deserializer, whose result
// cannot hold shared memory (it has no shared buffers to hand out). That spares
// the store the walk of the whole value looking for a SharedArrayBuffer, which
// costs about a fifth of the clone itself (issue #10, item 6).

/**
 * The header's third slot (the blocking call's seq, else 0) of a message whose
 * first request is a `kv.set` carrying its value as bytes (see {@link encodeValue}).
 * A tag, not a number: the store ignores any other junk in that slot, as it
 * always has. Being a flag from the wire, it only asks the store to decode:
 * what makes the value trusted is that the store's decoder made it.
 */
export const ENCODED_VALUE = 'kvbus/3:v8';

/** Thrown by the serializer at a SharedArrayBuffer: the caller names the key. */
const SHARED = Symbol('shared memory');

/** The base serializer (typed arrays as V8 writes them natively, as postMessage does), refusing shared memory. */
class ValueSerializer extends Serializer {
  /** Called by V8 for a SharedArrayBuffer, bare or under a view: a copy would still share it. */
  _getSharedArrayBufferId(): never {
    throw SHARED;
  }
}

/**
 * Serializes a value for the wire (a copy: later changes to the value do not reach it).
 * @param value - a `set` value, not a primitive
 * @returns its bytes; `'shared'` when it holds a SharedArrayBuffer; undefined
 *   when it cannot be serialized here (a function, a MessagePort): the caller
 *   posts it as it is, and the post reports or carries it as it does today
 */
export function encodeValue(value: unknown): Uint8Array | 'shared' | undefined {
  const serializer = new ValueSerializer();
  try {
    serializer.writeHeader();
    serializer.writeValue(value);
  } catch (error) {
    return error === SHARED ? 'shared' : undefined;
  }
  return serializer.releaseBuffer();
}

/**
 * Reads back what {@link encodeValue} wrote. Anything else throws: the bytes
 * came over a wire and are checked like any field.
 * @param bytes - the request's value field
 * @returns a value that holds no shared memory
 */
export function decodeValue(bytes: unknown): unknown {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`expected the bytes of a value, got ${typeof bytes}`);
  const deserializer = new Deserializer(bytes);
  deserializer.readHeader();
  return deserializer.readValue();
}
