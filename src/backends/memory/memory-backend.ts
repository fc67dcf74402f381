import type { Clock } from '../../clock.js';
import { conflictError, KvbusError, notANumberError } from '../../errors.js';
import { compileGlob } from '../../glob.js';
import { incrRangeError } from '../../validate.js';
import type { Backend, BackendContext, BackendScan, BackendSetOptions } from '../backend.js';
import { ExpiryQueue } from './expiry-queue.js';

/** How long one expiry turn may run (wall time): keys expiring together are spread over turns. */
const EXPIRY_SLICE_MS = 10;
/** Deadlines popped between two looks at the time. */
const EXPIRY_BATCH = 1024;
/** A scan chunk looks at no more than this many entries per entry asked for (a sparse glob returns short chunks). */
const SCAN_VISITS_PER_ENTRY = 8;
const MIN_SCAN_VISITS = 4096;
/** A glob without these characters names one key: it is looked up, not scanned for. */
const GLOB_CHARS = /[*?[\\]/;

interface Slot {
  value: unknown;
  revision: number;
  /** Epoch ms; 0 = no TTL. */
  expiresAt: number;
}

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

class MemoryBackend implements Backend {
  readonly kind = 'memory';
  readonly sharesValues = true;
  readonly isAsync = false;
  readonly #map = new Map<string, Slot>();
  #revision = 0;
  #withTtl = 0;
  #context!: BackendContext;
  #expiry!: ExpiryQueue;

  open(context: BackendContext): void {
    if (this.#expiry) {
      throw new KvbusError('ERR_BAD_ARGUMENT', 'This memory backend already serves a store: call memoryBackend() once per store');
    }
    this.#context = context;
    this.#expiry = new ExpiryQueue(context.clock, () => context.requestExpiry());
  }

  get(key: string): Slot | undefined {
    return this.#live(key);
  }

  has(key: string): boolean {
    return this.#live(key) !== undefined;
  }

  set(key: string, value: unknown, { ttlMs, ifRevision, keepTtl }: BackendSetOptions): number {
    const current = this.#live(key);
    if (ifRevision !== undefined && (current?.revision ?? 0) !== ifRevision) throw conflictError(key, current?.revision ?? 0, ifRevision);
    const expiresAt = ttlMs !== undefined ? this.#context.clock.now() + ttlMs : keepTtl && current ? current.expiresAt : 0;
    return this.#write(key, value, expiresAt, current);
  }

  delete(key: string, ifRevision?: number): boolean {
    const current = this.#live(key);
    if (ifRevision !== undefined && (current?.revision ?? 0) !== ifRevision) throw conflictError(key, current?.revision ?? 0, ifRevision);
    if (!current) return false;
    this.#remove(key, current, 'delete');
    return true;
  }

  keys(pattern: string | undefined): string[] {
    const out: string[] = [];
    this.#scan(pattern, (key) => out.push(key));
    return out;
  }

  entries(pattern: string | undefined): Array<[string, unknown]> {
    const out: Array<[string, unknown]> = [];
    this.#scan(pattern, (key, slot) => out.push([key, slot.value]));
    return out;
  }

  scan(pattern: string | undefined): BackendScan {
    if (pattern !== undefined && !GLOB_CHARS.test(pattern)) {
      const key = pattern;
      return {
        next: (_count, out) => {
          const slot = this.#live(key);
          if (slot) out.push(key, slot.value);
          return true;
        },
        close: () => {},
      };
    }
    return new MemoryScan(this.#map.entries(), pattern === undefined ? undefined : compileGlob(pattern), this.#context.clock);
  }

  clear(): void {
    // Open scans see the map empty and end: a Map iterator follows clear().
    this.#map.clear();
    this.#expiry.clear();
    this.#withTtl = 0;
    this.#context.emitChange({ type: 'clear', key: '*', revision: ++this.#revision });
  }

  incr(key: string, by: number): number {
    const current = this.#live(key);
    const old = current ? current.value : 0;
    if (typeof old !== 'number') {
      throw notANumberError(key, typeName(old));
    }
    const next = old + by;
    if (!Number.isFinite(next)) throw incrRangeError(key, old, by);
    this.#write(key, next, current?.expiresAt ?? 0, current);
    return next;
  }

  apply(key: string, op: (old: unknown) => unknown): unknown {
    const current = this.#live(key);
    const next = op(current?.value);
    if (next === undefined) {
      if (current) this.#remove(key, current, 'delete');
    } else {
      this.#write(key, next, current?.expiresAt ?? 0, current);
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
    const isCurrent = (key: string, at: number) => this.#map.get(key)?.expiresAt === at;
    // A bounded slice: a million keys expiring together take many short turns (the
    // queue arms its timer at once for the rest), and reads meanwhile check deadlines.
    const stop = performance.now() + EXPIRY_SLICE_MS;
    do {
      for (const key of this.#expiry.popDue(isCurrent, EXPIRY_BATCH)) this.#remove(key, this.#map.get(key)!, 'expire');
    } while (this.#expiry.hasDue && performance.now() < stop);
    this.#expiry.compact(this.#withTtl, isCurrent);
  }

  close(): void {
    this.#expiry?.clear();
    this.#map.clear();
  }

  /** The key's slot, expiring it first if its time has passed (lazy expiry). */
  #live(key: string): Slot | undefined {
    const slot = this.#map.get(key);
    if (slot !== undefined && slot.expiresAt !== 0 && slot.expiresAt <= this.#context.clock.now()) {
      this.#remove(key, slot, 'expire');
      return undefined;
    }
    return slot;
  }

  #write(key: string, value: unknown, expiresAt: number, current: Slot | undefined): number {
    const revision = ++this.#revision;
    if (current) {
      if (current.expiresAt !== 0) this.#withTtl--;
      current.value = value;
      current.revision = revision;
      current.expiresAt = expiresAt;
    } else {
      this.#map.set(key, { value, revision, expiresAt });
    }
    if (expiresAt !== 0) {
      this.#withTtl++;
      this.#expiry.schedule(key, expiresAt);
    }
    if (this.#context.watchingKeys) this.#context.emitChange({ type: 'set', key, value, revision });
    return revision;
  }

  #remove(key: string, slot: Slot, type: 'delete' | 'expire'): void {
    this.#map.delete(key);
    if (slot.expiresAt !== 0) this.#withTtl--;
    const revision = ++this.#revision;
    if (this.#context.watchingKeys) this.#context.emitChange({ type, key, revision });
  }

  #scan(pattern: string | undefined, visit: (key: string, slot: Slot) => void): void {
    if (pattern !== undefined && !GLOB_CHARS.test(pattern)) {
      const slot = this.#live(pattern);
      if (slot) visit(pattern, slot);
      return;
    }
    const match = pattern === undefined ? undefined : compileGlob(pattern);
    const now = this.#context.clock.now();
    // Expired keys are skipped, not removed: removing a million of them here would hold
    // the actor; the expiry queue removes them a slice at a time. (forEach: the fastest
    // walk of a Map, ~1.5× a for-of over its entries.)
    this.#map.forEach((slot, key) => {
      if ((slot.expiresAt === 0 || slot.expiresAt > now) && (match === undefined || match(key))) visit(key, slot);
    });
  }
}

/** A scan of the memory backend: a live iterator of the Map, which survives inserts and deletes with exactly SCAN's guarantee. */
class MemoryScan implements BackendScan {
  #entries: IterableIterator<[string, Slot]> | undefined;
  readonly #match: ((key: string) => boolean) | undefined;
  readonly #clock: Clock;

  constructor(entries: IterableIterator<[string, Slot]>, match: ((key: string) => boolean) | undefined, clock: Clock) {
    this.#entries = entries;
    this.#match = match;
    this.#clock = clock;
  }

  next(count: number, out: unknown[]): boolean {
    const entries = this.#entries;
    if (entries === undefined) return true;
    const match = this.#match;
    const now = this.#clock.now();
    let found = 0;
    for (let visits = Math.max(count * SCAN_VISITS_PER_ENTRY, MIN_SCAN_VISITS); found < count && visits > 0; visits--) {
      const step = entries.next();
      if (step.done === true) {
        this.#entries = undefined;
        return true;
      }
      const [key, slot] = step.value;
      if ((slot.expiresAt === 0 || slot.expiresAt > now) && (match === undefined || match(key))) {
        out.push(key, slot.value);
        found++;
      }
    }
    return false;
  }

  close(): void {
    this.#entries = undefined;
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
