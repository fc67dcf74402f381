import { conflictError, incrRangeError, notANumberError } from '../../errors.js';
import type { TransactionOp } from '../../types.js';

/** A key as a transaction sees it: its value and revision (0: absent). */
export interface KeyState {
  readonly value: unknown;
  readonly revision: number;
}

/** The state of an absent key. */
export const ABSENT: KeyState = { value: undefined, revision: 0 };

/** One write a transaction will make, in order. */
export interface PlannedWrite {
  readonly key: string;
  /** The new value; `undefined` deletes. */
  readonly value: unknown;
  /** A `set`'s TTL (none: the key loses its TTL, as with a plain set). */
  readonly ttlMs?: number | undefined;
  /** An `incr` keeps the key's TTL. */
  readonly keepTtl: boolean;
}

/** What a transaction will do, found before anything is written. */
export interface TransactionPlan {
  /** The writes, in order: the n-th takes revision `base + n`. */
  readonly writes: PlannedWrite[];
  /** Per op, its revision (`check`: the key's; a `delete` of an absent key: 0). */
  readonly results: number[];
}

/**
 * Checks every op of a transaction against the keys as they are (and as the
 * ops before it leave them) and lists the writes to make: throws, having
 * written nothing, on the first failed `check` or `ifRevision` (`ERR_CONFLICT`
 * naming the key) or `incr` of a non-number (`ERR_TYPE`) or out of range.
 * @param ops - the transaction's ops, validated in shape
 * @param read - the state of a key now (without side effects)
 * @param base - the store's revision now: the writes take the next ones, consecutively
 * @returns the writes and each op's revision
 */
export function planTransaction(ops: readonly TransactionOp[], read: (key: string) => KeyState, base: number): TransactionPlan {
  const view = new Map<string, KeyState>();
  const writes: PlannedWrite[] = [];
  const results: number[] = [];
  const write = (key: string, value: unknown, ttlMs: number | undefined, keepTtl: boolean) => {
    writes.push({ key, value, ttlMs, keepTtl });
    const revision = base + writes.length;
    view.set(key, value === undefined ? ABSENT : { value, revision });
    results.push(revision);
  };
  for (const op of ops) {
    const key = op.key;
    const state = view.get(key) ?? read(key);
    switch (op.op) {
      case 'check':
        if (state.revision !== op.revision) throw conflictError(key, state.revision, op.revision);
        results.push(state.revision);
        break;
      case 'set':
        if (op.ifRevision !== undefined && state.revision !== op.ifRevision) throw conflictError(key, state.revision, op.ifRevision);
        write(key, op.value, op.ttlMs, false);
        break;
      case 'delete':
        if (op.ifRevision !== undefined && state.revision !== op.ifRevision) throw conflictError(key, state.revision, op.ifRevision);
        if (state.revision === 0) results.push(0);
        else write(key, undefined, undefined, false);
        break;
      case 'incr':
        write(key, incremented(key, state.revision === 0 ? 0 : state.value, op.by ?? 1), undefined, true);
        break;
    }
  }
  return { writes, results };
}

/**
 * The number an `incr` by `by` makes of `old`.
 * @throws KvbusError `ERR_TYPE` when `old` is not a number; `ERR_BAD_ARGUMENT` when the sum is not finite
 */
export function incremented(key: string, old: unknown, by: number): number {
  if (typeof old !== 'number') throw notANumberError(key, typeName(old));
  const next = old + by;
  if (!Number.isFinite(next)) throw incrRangeError(key, old, by);
  return next;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Throws `ERR_CONFLICT` unless a key's revision is the one expected.
 * @param key - the key
 * @param actual - its revision now (0: absent)
 * @param expected - the revision the write was made against
 */
export function assertRevision(key: string, actual: number, expected: number): void {
  if (actual !== expected) throw conflictError(key, actual, expected);
}
