/**
 * A stored value as tagged JSON, for the inspector page: structured-clone values
 * (Map, Set, Date, typed arrays, bigint, ...) have no JSON form, so every
 * non-JSON thing becomes `{ $t: tag, ... }` and the page prints it. Strings,
 * finite numbers, booleans and null stay as they are.
 */
export type Encoded =
  | string
  | number
  | boolean
  | null
  | { $t: 'undefined' | 'Circular' | 'Function' }
  | { $t: 'number' | 'bigint' | 'Date' | 'RegExp' | 'Symbol'; v: string }
  | { $t: 'Array' | 'Set'; v: Encoded[]; more?: number }
  | { $t: 'Object'; v: [string, Encoded][]; more?: number }
  | { $t: 'Map'; v: [Encoded, Encoded][]; more?: number }
  | { $t: 'Error'; name: string; message: string }
  | { $t: 'Bytes'; type: string; length: number; v: (number | string)[]; more?: number }
  | { $t: 'String'; v: string; more: number };

/** Limits of {@link encodeValue}: a page shows a preview, never megabytes. */
export interface EncodeLimits {
  /** Items per array, set, map or object. */
  items: number;
  /** Characters per string. */
  chars: number;
  /** Nesting depth. */
  depth: number;
}

/** What the key list shows. */
export const PREVIEW_LIMITS: EncodeLimits = { items: 20, chars: 200, depth: 4 };
/** What the detail view shows. */
export const FULL_LIMITS: EncodeLimits = { items: 1000, chars: 100_000, depth: 32 };

/**
 * Encodes a value as tagged JSON (see {@link Encoded}), cut to `limits`.
 * @param value - a structured-clone value (what a kvbus store holds)
 * @param limits - how much of it to keep
 * @returns its tagged JSON form
 */
export function encodeValue(value: unknown, limits: EncodeLimits = FULL_LIMITS): Encoded {
  return encode(value, limits, 0, new Set());
}

function encode(value: unknown, limits: EncodeLimits, depth: number, seen: Set<object>): Encoded {
  switch (typeof value) {
    case 'string':
      return value.length > limits.chars ? { $t: 'String', v: value.slice(0, limits.chars), more: value.length - limits.chars } : value;
    case 'number':
      return Number.isFinite(value) ? value : { $t: 'number', v: String(value) };
    case 'boolean':
      return value;
    case 'bigint':
      return { $t: 'bigint', v: value.toString() };
    case 'undefined':
      return { $t: 'undefined' };
    case 'symbol':
      return { $t: 'Symbol', v: String(value) };
    case 'function':
      return { $t: 'Function' };
  }
  if (value === null) return null;
  const object = value as object;
  if (seen.has(object)) return { $t: 'Circular' };
  if (object instanceof Date) return { $t: 'Date', v: Number.isNaN(object.getTime()) ? 'Invalid Date' : object.toISOString() };
  if (object instanceof RegExp) return { $t: 'RegExp', v: String(object) };
  if (object instanceof Error) return { $t: 'Error', name: object.name, message: object.message };
  if (ArrayBuffer.isView(object) || object instanceof ArrayBuffer) return bytes(object, limits);
  if (depth >= limits.depth) return { $t: 'Object', v: [], more: 1 };
  seen.add(object);
  try {
    const inner = (item: unknown) => encode(item, limits, depth + 1, seen);
    if (Array.isArray(object)) return { $t: 'Array', ...cut(object, limits.items, inner) };
    if (object instanceof Set) return { $t: 'Set', ...cut([...object], limits.items, inner) };
    if (object instanceof Map) {
      return { $t: 'Map', ...cut([...object], limits.items, ([k, v]: [unknown, unknown]): [Encoded, Encoded] => [inner(k), inner(v)]) };
    }
    const entries = Object.entries(object);
    return { $t: 'Object', ...cut(entries, limits.items, ([k, v]: [string, unknown]): [string, Encoded] => [k, inner(v)]) };
  } finally {
    seen.delete(object);
  }
}

function cut<TIn, TOut>(items: TIn[], max: number, map: (item: TIn) => TOut): { v: TOut[]; more?: number } {
  const v = items.slice(0, max).map(map);
  return items.length > max ? { v, more: items.length - max } : { v };
}

function bytes(view: ArrayBufferView | ArrayBuffer, limits: EncodeLimits): Encoded {
  const type = view instanceof ArrayBuffer ? 'ArrayBuffer' : view.constructor.name;
  const items: ArrayLike<number | bigint> =
    view instanceof ArrayBuffer
      ? new Uint8Array(view)
      : view instanceof DataView
        ? new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
        : (view as unknown as ArrayLike<number | bigint>);
  const shown = Math.min(items.length, limits.items);
  const v: (number | string)[] = [];
  for (let i = 0; i < shown; i++) {
    const item = items[i] as number | bigint;
    v.push(typeof item === 'bigint' ? `${item}n` : item);
  }
  return items.length > shown
    ? { $t: 'Bytes', type, length: items.length, v, more: items.length - shown }
    : { $t: 'Bytes', type, length: items.length, v };
}
