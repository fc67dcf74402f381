import { conflictError, KvbusError, notANumberError } from '../../errors.js';
import { compileGlob } from '../../glob.js';
import { incrRangeError } from '../../validate.js';
import type { Backend, BackendContext, BackendSetOptions } from '../backend.js';
import { ExpiryQueue } from './expiry-queue.js';

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

  clear(): void {
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
    for (const key of this.#expiry.popDue(isCurrent)) this.#remove(key, this.#map.get(key)!, 'expire');
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
    const match = pattern === undefined ? undefined : compileGlob(pattern);
    const now = this.#context.clock.now();
    const expired: Array<[string, Slot]> = [];
    for (const [key, slot] of this.#map) {
      if (slot.expiresAt !== 0 && slot.expiresAt <= now) expired.push([key, slot]);
      else if (match === undefined || match(key)) visit(key, slot);
    }
    for (const [key, slot] of expired) this.#remove(key, slot, 'expire');
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
