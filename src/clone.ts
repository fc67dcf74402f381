import { KvbusError } from './errors.js';

// Copy semantics: every value enters and leaves the store as a structured clone.

/** @internal True for values that are their own copy (no structured clone needed). */
export function isPrimitive(value: unknown): boolean {
  return value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol');
}

/**
 * @internal Returns a structured clone of `value`, or throws `ERR_NOT_CLONEABLE` naming what it was for.
 * Primitives are returned as they are, and small plain data (objects and arrays
 * of primitives, a few levels deep) is copied in JavaScript, which gives the
 * same result as `structuredClone` at a fraction of its cost; anything else
 * goes to `structuredClone`. The message is built only on failure: this sits
 * on every write's path.
 * @param value - the value to copy
 * @param label - what the value is for: `'key'`, `'channel'`, or a full description when `name` is absent
 * @param name - the key or channel name
 */
export function cloneValue<TValue>(value: TValue, label: string, name?: string): TValue {
  if (isPrimitive(value)) return value;
  if (typeof value === 'object' && value !== null) {
    const copy = copyPlain(value, undefined);
    if (copy !== NOT_PLAIN) return copy as TValue;
  }
  try {
    return structuredClone(value);
  } catch (cause) {
    const what = name === undefined ? label : `${label} ${JSON.stringify(name)}`;
    throw new KvbusError(
      'ERR_NOT_CLONEABLE',
      `The value for ${what} cannot be structured-cloned (${(cause as Error).message}); store plain data: objects, arrays, Maps, Dates, typed arrays`,
      { cause },
    );
  }
}

const NOT_PLAIN = Symbol('not plain');
// Past these, structuredClone is as fast and the bookkeeping here is not.
const MAX_PLAIN_OBJECTS = 16;
const MAX_PLAIN_ENTRIES = 64;

interface CopyBudget {
  objects: number;
  /** Objects met so far and their copies: shared references and cycles stay shared, as in a structured clone. */
  seen: object[];
  copies: object[];
}

/**
 * Copies plain objects and arrays of primitives; NOT_PLAIN for anything a
 * structured clone treats otherwise. The budget (and its bookkeeping of shared
 * references) is made only when the value turns out to nest objects: a flat
 * object, the usual message, allocates nothing but its copy.
 */
function copyPlain(value: object, budget: CopyBudget | undefined): unknown {
  if (budget) {
    const index = budget.seen.indexOf(value);
    if (index !== -1) return budget.copies[index];
    if (--budget.objects < 0) return NOT_PLAIN;
  }
  if (Array.isArray(value)) {
    const length = value.length;
    if (length > MAX_PLAIN_ENTRIES || Object.getPrototypeOf(value) !== Array.prototype) return NOT_PLAIN;
    const out: unknown[] = new Array(length);
    if (budget) budget.seen.push(value), budget.copies.push(out);
    for (let i = 0; i < length; i++) {
      if (!(i in value)) return NOT_PLAIN; // holes: let structuredClone keep them
      let item: unknown = value[i];
      if (!isPrimitive(item)) {
        budget ??= rootBudget(value, out);
        if ((item = copyItem(item, budget)) === NOT_PLAIN) return NOT_PLAIN;
      }
      out[i] = item;
    }
    return Object.keys(value).length === length ? out : NOT_PLAIN; // extra named properties
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return NOT_PLAIN;
  const keys = Object.keys(value);
  if (keys.length > MAX_PLAIN_ENTRIES) return NOT_PLAIN;
  const out: Record<string, unknown> = {};
  if (budget) budget.seen.push(value), budget.copies.push(out);
  for (const key of keys) {
    let item = (value as Record<string, unknown>)[key];
    if (!isPrimitive(item)) {
      budget ??= rootBudget(value, out);
      if ((item = copyItem(item, budget)) === NOT_PLAIN) return NOT_PLAIN;
    }
    // An own "__proto__" property must stay one; assigning it would set the prototype.
    if (key === '__proto__') Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
    else out[key] = item;
  }
  return out;
}

/** The budget of a copy whose root (already counted) turned out to nest objects. */
function rootBudget(root: object, copy: object): CopyBudget {
  return { objects: MAX_PLAIN_OBJECTS - 1, seen: [root], copies: [copy] };
}

/** Copies an item that is not a primitive. */
function copyItem(item: unknown, budget: CopyBudget): unknown {
  // Functions and symbols: structuredClone throws the DataCloneError we report.
  return typeof item === 'object' && item !== null ? copyPlain(item, budget) : NOT_PLAIN;
}
