import { conflictError, KvbusError, lockLostError } from '../../errors.js';
import { compileGlob } from '../../glob.js';
import type { Entry, LockRef, TransactionOp } from '../../types.js';
import type { Backend, BackendContext, BackendScan, BackendSetOptions } from '../backend.js';
import { ExpiryQueue } from './expiry-queue.js';
import { MemoryLocks } from './memory-locks.js';
import { GLOB_CHARS, MemoryScan, NONE, oneKeyScan, type ScanSource, walkLive } from './memory-scan.js';
import { ABSENT, incremented, type KeyState, planTransaction } from './memory-transaction.js';

/** How long one expiry turn may run (wall time): keys expiring together are spread over turns. */
const EXPIRY_SLICE_MS = 10;
/** Deadlines popped between two looks at the time. */
const EXPIRY_BATCH = 1024;

/** Revisions kept before the first growth of their array. */
const INITIAL_CELLS = 1024;

/**
 * Creates the in-memory backend: a `Map` owned by the store actor, with lazy
 * and active expiry (one timer for all keys). It is the default backend.
 *
 * @returns a backend for one store
 * @example
 * const store = createStore({ backend: memoryBackend() });
 */
export function memoryBackend(): Backend {
  return new MemoryBackend();
}

// Layout: what a key costs is its Map entry plus two array slots. Each key has
// a cell (an index): its value in `#values`, its revision in `#revisions` (a
// Float64Array: revisions pass 2^31, where an array element would be boxed).
// Deadlines live apart, for the keys that have one. An object per key would
// cost 48 bytes more (measured: heap per key 1.79× a plain Map's, against
// ~1.3× with cells; `npm run bench heap`).
class MemoryBackend implements Backend, ScanSource {
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
  locks!: MemoryLocks;

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
    if (fence) this.#fence(fence, key);
    const cell = this.#live(key);
    if (ifRevision !== undefined) this.#check(key, cell, ifRevision);
    const expiresAt = ttlMs !== undefined ? this.#context.clock.now() + ttlMs : keepTtl ? this.#deadline(key) : 0;
    return this.#write(key, value, expiresAt, cell);
  }

  delete(key: string, ifRevision?: number, fence?: LockRef): boolean {
    if (fence) this.#fence(fence, key);
    const cell = this.#live(key);
    if (ifRevision !== undefined) this.#check(key, cell, ifRevision);
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
    return new MemoryScan(this, this.#map.entries(), pattern === undefined ? undefined : compileGlob(pattern));
  }

  changesSince(_since: number, _pattern: string | undefined): never {
    throw new Error('kvbus: history is not built yet (issue 11)'); // TODO(issue 11)
  }

  snapshot(_pattern: string | undefined): never {
    throw new Error('kvbus: snapshot is not built yet (issue 11)'); // TODO(issue 11)
  }

  clear(): void {
    // Open scans see the map empty and end: a Map iterator follows clear().
    this.#reset();
    this.#context.emitChange({ type: 'clear', key: '*', revision: ++this.#revision });
  }

  incr(key: string, by: number, fence?: LockRef): number {
    if (fence) this.#fence(fence, key);
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
    const isCurrent = (key: string, at: number) => this.#deadlines.get(key) === at;
    // A bounded slice: a million keys expiring together take many short turns (the
    // queue arms its timer at once for the rest), and reads meanwhile check deadlines.
    const stop = performance.now() + EXPIRY_SLICE_MS;
    do {
      for (const key of this.#expiry.popDue(isCurrent, EXPIRY_BATCH)) {
        const cell = this.#map.get(key);
        if (cell !== undefined) this.#remove(key, cell, 'expire');
      }
    } while (this.#expiry.hasDue && performance.now() < stop);
    this.#expiry.compact(this.#deadlines.size, isCurrent);
    this.locks.expireDue();
  }

  getMany(keys: readonly string[]): unknown[] {
    return keys.map((key) => this.#valueOf(key));
  }

  transaction(ops: readonly TransactionOp[], fence?: LockRef): number[] {
    if (fence) this.#fence(fence);
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
    this.#reset();
  }

  /** @internal For scans: the key's value at `cell`, or NONE when its deadline has passed (`now`: the scan's clock reading). */
  valueIfLive(key: string, cell: number, now: number): unknown {
    if (this.#deadlines.size !== 0) {
      const at = this.#deadlines.get(key);
      if (at !== undefined && at <= now) return NONE;
    }
    return this.#values[cell];
  }

  /** @internal The clock scans read. */
  now(): number {
    return this.#context.clock.now();
  }

  #reset(): void {
    this.#map.clear();
    this.#deadlines.clear();
    this.#values = [];
    this.#revisions = new Float64Array(INITIAL_CELLS);
    this.#free = [];
  }

  /** Throws ERR_CONFLICT unless the key's revision (0: absent) is `expected`. */
  #check(key: string, cell: number, expected: number): void {
    const actual = cell === -1 ? 0 : this.#revisions[cell]!;
    if (actual !== expected) throw conflictError(key, actual, expected);
  }

  /** Throws `ERR_CONFLICT` unless `fence`'s lock is held with its token now (`key`: the write's, none for a transaction). */
  #fence(fence: LockRef, key?: string): void {
    if (this.locks.holds(fence.name, fence.token)) return;
    throw lockLostError(fence.name, fence.token, key === undefined ? 'transaction' : `write to key ${JSON.stringify(key)}`);
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
    if (this.#context.watchingKeys) this.#context.emitChange({ type: 'set', key, value, revision });
    return revision;
  }

  #remove(key: string, cell: number, type: 'delete' | 'expire'): void {
    this.#map.delete(key);
    this.#values[cell] = undefined;
    this.#free.push(cell);
    if (this.#deadlines.size !== 0) this.#deadlines.delete(key);
    const revision = ++this.#revision;
    if (this.#context.watchingKeys) this.#context.emitChange({ type, key, revision });
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
