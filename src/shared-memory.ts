import { isDataView, isMap, isSet, isSharedArrayBuffer } from 'node:util/types';

// Is a SharedArrayBuffer reachable from a value? A structured clone, and so any
// message between threads, shares such memory instead of copying it, so the
// store must refuse it (see clone.ts).

/**
 * @internal True when a `SharedArrayBuffer` is reachable from `value` (itself, a
 * view on one, or one nested in an object, array, Map, Set or error cause).
 * Small plain data is decided by a bounded check that allocates nothing; the
 * rest by a walk without recursion, so no nesting depth overflows the stack.
 * May throw what a getter or a proxy of the value throws.
 */
export function holdsSharedMemory(value: object): boolean {
  quickBudget = QUICK_OBJECTS;
  const quick = quickCheck(value);
  return quick === UNSURE ? holdsShared(value) : quick === SHARED;
}

// Read through the intrinsic getters: a view's own `buffer` property could say anything.
const typedArrayBuffer = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), 'buffer')!.get!;
const dataViewBuffer = Object.getOwnPropertyDescriptor(DataView.prototype, 'buffer')!.get!;

const CLEAN = 0;
const SHARED = 1;
const UNSURE = 2;
// Past this many objects, or at anything but plain objects, arrays and views, the full walk decides.
const QUICK_OBJECTS = 32;
let quickBudget = 0;

/**
 * The common case first: small plain data (objects, arrays, typed arrays),
 * checked by a bounded recursion that allocates nothing (the budget also ends
 * a cycle). CLEAN or SHARED when it could tell, UNSURE otherwise.
 */
function quickCheck(value: object): number {
  if (--quickBudget < 0) return UNSURE;
  if (Array.isArray(value)) {
    const length = value.length;
    for (let i = 0; i < length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null) {
        const result = quickCheck(item);
        if (result !== CLEAN) return result;
      }
    }
    // Named properties (or holes): see holdsShared.
    const keys = Object.keys(value);
    return keys.length === 0 || keys[keys.length - 1] === String(length - 1) ? CLEAN : UNSURE;
  }
  if (isPlainObject(value)) {
    for (const key in value) {
      const item: unknown = (value as Record<string, unknown>)[key];
      if (typeof item === 'object' && item !== null) {
        const result = quickCheck(item);
        if (result !== CLEAN) return result;
      }
    }
    return CLEAN;
  }
  if (ArrayBuffer.isView(value) && !isDataView(value)) return isSharedArrayBuffer(typedArrayBuffer.call(value)) ? SHARED : CLEAN;
  return UNSURE;
}

/**
 * True when a `SharedArrayBuffer` is reachable from `root` the way a structured
 * clone reaches things. Iterative; a flat object allocates nothing, and the
 * bookkeeping of visited objects (cycles, shared references) starts only when
 * an object nests another.
 */
function holdsShared(root: object): boolean {
  let stack: object[] | undefined;
  let seen: Set<object> | undefined;
  let value: object | undefined = root;
  while (value !== undefined) {
    if (Array.isArray(value)) {
      const length = value.length;
      for (let i = 0; i < length; i++) {
        const item: unknown = value[i];
        if (typeof item === 'object' && item !== null) (stack ??= []).push(item);
      }
      // Named properties of an array are cloned too. Keys list indices first, so a
      // dense array without any ends with the last index; otherwise look at them all.
      const keys = Object.keys(value);
      if (keys.length > 0 && keys[keys.length - 1] !== String(length - 1)) {
        for (const key of keys) {
          const item: unknown = (value as unknown as Record<string, unknown>)[key];
          if (typeof item === 'object' && item !== null) (stack ??= []).push(item);
        }
      }
    } else if (isPlainObject(value)) {
      for (const key in value) {
        const item: unknown = (value as Record<string, unknown>)[key];
        if (typeof item === 'object' && item !== null) (stack ??= []).push(item);
      }
    } else if (ArrayBuffer.isView(value)) {
      if (isSharedArrayBuffer((isDataView(value) ? dataViewBuffer : typedArrayBuffer).call(value))) return true;
    } else if (isSharedArrayBuffer(value)) {
      return true;
    } else if (isMap(value)) {
      stack ??= [];
      for (const [k, v] of value as Map<unknown, unknown>) {
        if (typeof k === 'object' && k !== null) stack.push(k);
        if (typeof v === 'object' && v !== null) stack.push(v);
      }
    } else if (isSet(value)) {
      stack ??= [];
      for (const item of value as Set<unknown>) if (typeof item === 'object' && item !== null) stack.push(item);
    } else {
      // Errors (their cause), class instances (cloned as plain objects), Dates and the like (no own data to speak of).
      stack ??= [];
      if (value instanceof Error && typeof value.cause === 'object' && value.cause !== null) stack.push(value.cause);
      for (const key of Object.keys(value)) {
        const item: unknown = (value as Record<string, unknown>)[key];
        if (typeof item === 'object' && item !== null) stack.push(item);
      }
    }
    value = undefined;
    while (stack !== undefined && stack.length > 0) {
      const next = stack.pop()!;
      seen ??= new Set([root]);
      if (seen.has(next)) continue;
      seen.add(next);
      value = next;
      break;
    }
  }
  return false;
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
