import { KvbusError } from '../../errors.js';
import { compileGlob } from '../../glob.js';
import type { Entry, HistoryOptions, KeyChange, LockRef, TransactionOp } from '../../types.js';
import type { Backend, BackendContext, BackendScan, BackendSetOptions } from '../backend.js';
import { CHANGE, type ChangeHistory, historyOf } from './change-history.js';
import { ExpiryQueue } from './expiry-queue.js';
import { MemoryLocks } from './memory-locks.js';
import { GLOB_CHARS, MemoryScan, oneKeyScan, type ScanSource, walkLive } from './memory-scan.js';
import { ABSENT, assertRevision, incremented, type KeyState, planTransaction } from './memory-transaction.js';

/** Revisions kept before the first growth of their array. */
const INITIAL_CELLS = 1024;

/**
 * Creates the in-memory backend: a `Map` owned by the store actor, with lazy
 * and active expiry (one timer for all keys), and a history of its last changes.
 * It is the default backend.
 *
 * @param options - how many change events to keep
 * @returns a backend for one store
 * @example
 * const store = createStore({ backend: memoryBackend({ history: { maxEvents: 50_000 } }) });
 */
export function memoryBackend(options?: {
  /** The change events kept for `changes(glob, { since })`. @defaultValue `{ maxEvents: 10_000 }` */
  history?: HistoryOptions;
}): Backend {
  return new MemoryBackend(historyOf(options));
}

// Layout: what a key costs is its Map entry plus two array slots. Each key has
// a cell (an index): its value in `#values`, its revision in `#revisions` (a
// Float64Array: revisions pass 2^31, where an array element would be boxed).
// Deadlines live apart, for the keys that have one. An object per key would
// cost 48 bytes more (measured: heap per key 1.79× a plain Map's, against
// ~1.3× with cells; `npm run bench heap`).
class MemoryBackend implements Backend {
  readonly kind = 'memory';
  readonly sharesValues = true;
  readonly isAsync = false;
  /** Key → cell, in insertion order (scans walk it). */
  readonly #map = new Map<string, number>();
  #values: unknown[] = [];
  #revisions = new Float64Array(INITIAL_CELLS);
  /** Cells of deleted keys, to reuse. */
  #free: number[] = [];
  /** Epoch ms, for the keys that have a TTL. */
  readonly #deadlines = new Map<string, number>();
  #revision = 0;
  #context!: BackendContext;
  #expiry!: ExpiryQueue;
  /** The last changes, recorded whether or not anyone watches (a later `changes(glob, { since })` may ask). */
  readonly #history: ChangeHistory;
  locks!: MemoryLocks;

  constructor(history: ChangeHistory) {
    this.#history = history;
  }

  open(context: BackendContext): void {
    if (this.#expiry) {
      throw new KvbusError('ERR_BAD_ARGUMENT', 'This memory backend already serves a store: call memoryBackend() once per store');
    }
    this.#context = context;
    this.#expiry = new ExpiryQueue(context.clock, () => context.requestExpiry());
    this.locks = new MemoryLocks(context.clock, () => context.requestExpiry());
  }

  get(key: string): Entry | undefined {
    const cell = this.#live(key);
    return cell === -1 ? undefined : { value: this.#values[cell], revision: this.#revisions[cell]! };
  }

  has(key: string): boolean {
    return this.#live(key) !== -1;
  }

  ttl(key: string): number | undefined {
    if (this.#live(key) === -1) return undefined;
    const deadline = this.#deadline(key);
    return deadline === 0 ? Number.POSITIVE_INFINITY : deadline - this.#context.clock.now();
  }

  set(key: string, value: unknown, { ttlMs, ifRevision, keepTtl, fence }: BackendSetOptions): number {
    if (fence) this.locks.assertFence(fence, key);
    const cell = this.#live(key);
    if (ifRevision !== undefined) assertRevision(key, cell === -1 ? 0 : this.#revisions[cell]!, ifRevision);
    const expiresAt = ttlMs !== undefined ? this.#context.clock.now() + ttlMs : keepTtl ? this.#deadline(key) : 0;
    return this.#write(key, value, expiresAt, cell);
  }

  delete(key: string, ifRevision?: number, fence?: LockRef): boolean {
    if (fence) this.locks.assertFence(fence, key);
    const cell = this.#live(key);
    if (ifRevision !== undefined) assertRevision(key, cell === -1 ? 0 : this.#revisions[cell]!, ifRevision);
    if (cell === -1) return false;
    this.#remove(key, cell, 'delete');
    return true;
  }

  keys(pattern: string | undefined): string[] {
    const out: string[] = [];
    this.#scan(pattern, (key) => out.push(key));
    return out;
  }

  entries(pattern: string | undefined): Map<string, unknown> {
    const out = new Map<string, unknown>();
    const values = this.#values;
    this.#scan(pattern, (key, cell) => out.set(key, values[cell]));
    return out;
  }

  scan(pattern: string | undefined): BackendScan {
    if (pattern !== undefined && !GLOB_CHARS.test(pattern)) return oneKeyScan(pattern, () => this.#valueOf(pattern));
    const source: ScanSource = { now: () => this.#context.clock.now(), deadlines: this.#deadlines, values: () => this.#values };
    return new MemoryScan(source, this.#map.entries(), pattern === undefined ? undefined : compileGlob(pattern));
  }

  changesSince(since: number, pattern: string | undefined): KeyChange[] {
    return this.#history.since(since, pattern, this.#revision + 1);
  }

  snapshot(pattern: string | undefined): { revision: number; entries: Map<string, Entry> } {
    const entries = new Map<string, Entry>();
    const values = this.#values;
    // Keys past their deadline are left out: their expire events come later, with later revisions.
    this.#scan(pattern, (key, cell) => entries.set(key, { value: values[cell], revision: this.#revisions[cell]! }));
    return { revision: this.#revision, entries };
  }

  clear(): void {
    // Open scans see the map empty and end: a Map iterator follows clear().
    this.#reset();
    const revision = ++this.#revision;
    this.#history.record(CHANGE.clear, '*', undefined, revision);
    this.#context.emitChange({ type: 'clear', key: '*', revision });
  }

  incr(key: string, by: number, fence?: LockRef): number {
    if (fence) this.locks.assertFence(fence, key);
    const cell = this.#live(key);
    const next = incremented(key, cell === -1 ? 0 : this.#values[cell], by);
    this.#write(key, next, this.#deadline(key), cell);
    return next;
  }

  apply(key: string, op: (old: unknown) => unknown): unknown {
    const cell = this.#live(key);
    const next = op(cell === -1 ? undefined : this.#values[cell]);
    if (next === undefined) {
      if (cell !== -1) this.#remove(key, cell, 'delete');
    } else {
      this.#write(key, next, this.#deadline(key), cell);
    }
    return next;
  }

  publish(channel: string, data: unknown): number {
    return this.#context.emitMessage(channel, data);
  }

  interest(): void {
    // Every subscriber lives in this process: the router alone decides delivery.
  }

  size(): number {
    this.expireDue();
    return this.#map.size;
  }

  expireDue(): void {
    this.#expiry.expireSlice(
      (key, at) => this.#deadlines.get(key) === at,
      (key) => {
        const cell = this.#map.get(key);
        if (cell !== undefined) this.#remove(key, cell, 'expire');
      },
      () => this.#deadlines.size,
    );
    this.locks.expireDue();
  }

  getMany(keys: readonly string[]): unknown[] {
    return keys.map((key) => this.#valueOf(key));
  }

  transaction(ops: readonly TransactionOp[], fence?: LockRef): number[] {
    if (fence) this.locks.assertFence(fence);
    // Keys whose time has passed expire first (their events and revisions come before the
    // transaction's), so that the plan reads one instant and its writes take the next revisions.
    for (const op of ops) this.#live(op.key);
    const plan = planTransaction(ops, (key) => this.#peek(key), this.#revision);
    const now = this.#context.clock.now();
    for (const { key, value, ttlMs, keepTtl } of plan.writes) {
      const cell = this.#map.get(key) ?? -1;
      if (value === undefined) this.#remove(key, cell, 'delete');
      else this.#write(key, value, ttlMs !== undefined ? now + ttlMs : keepTtl ? this.#deadline(key) : 0, cell);
    }
    return plan.results;
  }

  close(): void {
    this.#expiry?.clear();
    this.locks?.close();
    this.#history.clear();
    this.#reset();
  }

  #reset(): void {
    this.#map.clear();
    this.#deadlines.clear();
    this.#values = [];
    this.#revisions = new Float64Array(INITIAL_CELLS);
    this.#free = [];
  }

  /** The key's value (`undefined`: absent), expiring it first if its time has passed. */
  #valueOf(key: string): unknown {
    const cell = this.#live(key);
    return cell === -1 ? undefined : this.#values[cell];
  }

  /** The key as it is in the map, without looking at its deadline. */
  #peek(key: string): KeyState {
    const cell = this.#map.get(key);
    return cell === undefined ? ABSENT : { value: this.#values[cell], revision: this.#revisions[cell]! };
  }

  /** The key's deadline (0: none). */
  #deadline(key: string): number {
    return this.#deadlines.size === 0 ? 0 : (this.#deadlines.get(key) ?? 0);
  }

  /** The key's cell (-1: absent), expiring it first if its time has passed (lazy expiry). */
  #live(key: string): number {
    const cell = this.#map.get(key);
    if (cell === undefined) return -1;
    if (this.#deadlines.size !== 0) {
      const at = this.#deadlines.get(key);
      if (at !== undefined && at <= this.#context.clock.now()) {
        this.#remove(key, cell, 'expire');
        return -1;
      }
    }
    return cell;
  }

  /** Writes the key (at `cell`, or at a new one when -1) with the next revision. */
  #write(key: string, value: unknown, expiresAt: number, cell: number): number {
    const revision = ++this.#revision;
    if (cell === -1) {
      cell = this.#free.length > 0 ? this.#free.pop()! : this.#values.length;
      if (cell === this.#revisions.length) {
        const grown = new Float64Array(cell * 2);
        grown.set(this.#revisions);
        this.#revisions = grown;
      }
      this.#map.set(key, cell);
    }
    this.#values[cell] = value;
    this.#revisions[cell] = revision;
    if (expiresAt !== 0) {
      // A kept deadline (incr, apply, update) is already in the queue.
      if (this.#deadlines.get(key) !== expiresAt) {
        this.#deadlines.set(key, expiresAt);
        this.#expiry.schedule(key, expiresAt);
      }
    } else if (this.#deadlines.size !== 0) {
      this.#deadlines.delete(key);
    }
    this.#history.record(CHANGE.set, key, value, revision);
    if (this.#context.watchingKeys) this.#context.emitChange({ type: 'set', key, value, revision });
    else this.#context.keyWritten?.(key);
    return revision;
  }

  #remove(key: string, cell: number, type: 'delete' | 'expire'): void {
    this.#map.delete(key);
    this.#values[cell] = undefined;
    this.#free.push(cell);
    if (this.#deadlines.size !== 0) this.#deadlines.delete(key);
    const revision = ++this.#revision;
    this.#history.record(CHANGE[type], key, undefined, revision);
    if (this.#context.watchingKeys) this.#context.emitChange({ type, key, revision });
    else this.#context.keyWritten?.(key);
  }

  #scan(pattern: string | undefined, visit: (key: string, cell: number) => void): void {
    if (pattern !== undefined && !GLOB_CHARS.test(pattern)) {
      const cell = this.#live(pattern);
      if (cell !== -1) visit(pattern, cell);
      return;
    }
    const match = pattern === undefined ? undefined : compileGlob(pattern);
    walkLive(this.#map, this.#deadlines, this.#context.clock.now(), match, visit);
  }
}
