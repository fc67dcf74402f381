import { KvbusError } from './errors.js';
import { holdsSharedMemory } from './shared-memory.js';

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
 * goes to `structuredClone`. Any failure on the way (a function, a getter that
 * throws) is `ERR_NOT_CLONEABLE` with the cause attached, and so is a value
 * holding a `SharedArrayBuffer`, which `structuredClone` would share rather than
 * copy (plain data cannot hold one, so only the fallback looks). The message is
 * built only on failure: this sits on every write's path.
 * @param value - the value to copy
 * @param label - what the value is for: `'key'`, `'channel'`, or a full description when `name` is absent
 * @param name - the key or channel name
 */
export function cloneValue<TValue>(value: TValue, label: string, name?: string): TValue {
  return isPrimitive(value) ? value : copyOrThrow(value, label, name, true);
}

/**
 * @internal {@link cloneValue} for what leaves the store (replies, events in the
 * main thread): every stored value was checked for shared memory on its way in,
 * so this one only copies.
 * @param value - a value read from the store
 * @param label - what it is, for the error message
 */
export function copyOut<TValue>(value: TValue, label: string): TValue {
  return isPrimitive(value) ? value : copyOrThrow(value, label, undefined, false);
}

function copyOrThrow<TValue>(value: TValue, label: string, name: string | undefined, checkShared: boolean): TValue {
  let copy: unknown;
  try {
    if (typeof value === 'object' && value !== null) {
      copy = copyPlain(value, undefined);
      // Plain data cannot hold shared memory: a view or a buffer makes copyPlain give up.
      if (copy !== NOT_PLAIN) return copy as TValue;
    }
    copy = structuredClone(value);
  } catch (cause) {
    throw notCloneable(
      label,
      name,
      `cannot be structured-cloned (${describeCause(cause)}); store plain data: objects, arrays, Maps, Dates, typed arrays`,
      cause,
    );
  }
  // The copy, not the original, is searched: it has no getters and no proxies, and is what would be stored.
  if (checkShared && typeof copy === 'object' && copy !== null && holdsSharedMemory(copy)) throw sharedError(label, name);
  return copy as TValue;
}

/**
 * @internal A value estimated at this many bytes or more is "large": a client whose
 * values cross a wire posts it at once instead of copying it at the call (see
 * {@link wireCopy}). Below it a copy is cheap next to a message of its own, and
 * the value rides in the tick's batch with the other requests.
 */
export const LARGE_VALUE_BYTES = 32 * 1024;

/**
 * @internal Set by the store end's wire decoder, and only there, on a `kv.set`
 * whose value it deserialized itself from bytes (see
 * streams/protocol/encoded-value.ts): such a value cannot hold shared memory,
 * so the store skips its walk. A symbol is never part of a message (a
 * structured clone drops symbol keys), so no client can set it.
 */
export const DECODED: unique symbol = Symbol('kvbus.decoded');

/** @internal Marks a command whose value was left uncopied: it must be posted (serialized) before the call returns. */
export const POST_NOW: unique symbol = Symbol('kvbus.postNow');

/**
 * @internal {@link cloneValue} for a client whose values cross a wire (a worker,
 * a child): a large value is not copied here but returned as {@link POST_NOW},
 * and the caller posts it at once: its serialization there (a `set`'s value
 * as bytes, see streams/protocol/encoded-value.ts, else the post's structured
 * clone) is its one copy, made before the call returns, so a later mutation
 * cannot reach what is stored. Shared memory is refused when it is serialized
 * (or, in a value that is not, by the store), naming the key; a value that
 * cannot be cloned at all fails when it is posted, naming the key too.
 * @param value - the value to copy
 * @param label - `'key'` or `'channel'`
 * @param name - the key or channel name
 * @returns the copy, or POST_NOW
 */
export function wireCopy<TValue>(value: TValue, label: string, name: string): TValue | typeof POST_NOW {
  if (isPrimitive(value)) return value;
  let large = false;
  try {
    large = isLarge(value);
  } catch {
    // A getter or a proxy that throws: copying reports it, with the key.
  }
  return large ? POST_NOW : copyOrThrow(value, label, name, true);
}

// Past this many nodes a value counts as large whatever its bytes (and a cycle ends the walk).
const MAX_NODES = 4096;
// Past this depth a value is left to the batched path (see isLarge).
const MAX_DEPTH = 256;

/**
 * @internal Estimates whether a value's structured clone is at least
 * {@link LARGE_VALUE_BYTES} long: a walk with no recursion that stops as soon as
 * it knows, so it costs at most a few thousand steps whatever the value's size.
 * A value nested deeper than {@link MAX_DEPTH} is not called large: the store's
 * thread may be unable to read it (its stack), and the batched path already
 * reports such a request alone, by sending its batch again item by item.
 */
export function isLarge(value: unknown): boolean {
  let bytes = 0;
  let nodes = 0;
  const stack: unknown[] = [value];
  const depths: number[] = [0];
  while (stack.length > 0) {
    const item = stack.pop();
    const depth = depths.pop()! + 1;
    if (typeof item === 'string') bytes += 8 + item.length * 2;
    else if (typeof item === 'bigint') bytes += 16;
    else if (typeof item !== 'object' || item === null) bytes += 8;
    else {
      if (depth > MAX_DEPTH) return false;
      if (++nodes > MAX_NODES) return true;
      bytes += 16;
      const before = stack.length;
      if (ArrayBuffer.isView(item)) bytes += item.byteLength;
      else if (item instanceof ArrayBuffer) bytes += item.byteLength;
      else if (Array.isArray(item)) {
        if (item.length > MAX_NODES) return true;
        for (let i = 0; i < item.length; i++) stack.push(item[i]);
      } else if (item instanceof Map || item instanceof Set) {
        if (item.size > MAX_NODES) return true;
        for (const entry of item.entries()) stack.push(entry[0], entry[1]);
      } else for (const key of Object.keys(item)) (bytes += 8 + key.length * 2), stack.push((item as Record<string, unknown>)[key]);
      for (let i = before; i < stack.length; i++) depths.push(depth);
    }
    if (bytes >= LARGE_VALUE_BYTES || stack.length > MAX_NODES) return true;
  }
  return false;
}

/**
 * @internal Throws `ERR_NOT_CLONEABLE` if `value` holds a `SharedArrayBuffer`
 * anywhere (itself, a view on one, or one nested in an object, array, Map, Set or
 * error cause): a structured clone, and so any message between threads, shares
 * such memory instead of copying it. It is the check of values that came over a
 * wire (the commands' `untrusted` check, run by the actor); a primitive costs one `typeof`, and
 * the walk has no recursion, so no nesting depth can overflow the stack.
 * @param value - the value (a command's value, data or argument)
 * @param label - `'key'` or `'channel'`
 * @param name - the key or channel name
 */
export function assertNotShared(value: unknown, label: string, name: string): void {
  if (typeof value !== 'object' || value === null) return;
  let shared: boolean;
  try {
    shared = holdsSharedMemory(value);
  } catch (cause) {
    // A caller's own value (validation also runs before the copy): a getter or a proxy that throws.
    throw notCloneable(label, name, `cannot be structured-cloned (${describeCause(cause)}); store plain data`, cause);
  }
  if (shared) throw sharedError(label, name);
}

function notCloneable(label: string, name: string | undefined, problem: string, cause?: unknown): KvbusError {
  const what = name === undefined ? label : `${label} ${JSON.stringify(name)}`;
  return new KvbusError('ERR_NOT_CLONEABLE', `The value for ${what} ${problem}`, cause === undefined ? undefined : { cause });
}

/**
 * @internal The `ERR_NOT_CLONEABLE` of a value that holds a SharedArrayBuffer.
 * @param label - `'key'` or `'channel'`
 * @param name - the key or channel name
 */
export function sharedError(label: string, name: string | undefined): KvbusError {
  return notCloneable(
    label,
    name,
    'holds a SharedArrayBuffer, which a copy would still share with the store: copy it into a plain ArrayBuffer first (a typed array `t` as `t.slice()`, a SharedArrayBuffer `s` as `new Uint8Array(s).slice().buffer`)',
  );
}

function describeCause(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
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
