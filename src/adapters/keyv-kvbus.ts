import { EventEmitter } from 'node:events';
import type { KeyvStoreAdapter, StoredData } from 'keyv';
import type { SetOptions, Store } from 'kvbus';
import { deleteMatching } from './delete-matching.js';
import { prefixGlob } from './glob-literal.js';
import { badArgument, optionalPositive, resolveStore } from './resolve-store.js';

/** Options of {@link KeyvKvbus}. */
export interface KeyvKvbusOptions {
  /**
   * Also reject an operation that fails. Without it, as `@keyv/redis` does, a failure
   * is emitted as an `'error'` event (Keyv forwards it to its own listeners) and the
   * operation answers as for an absent key: `get` → `undefined`, `set`/`delete`/`has` → `false`.
   * (With no `'error'` listener at all, Node's EventEmitter throws it anyway.)
   * @defaultValue false
   */
  throwOnErrors?: boolean;
  /**
   * About how many entries one chunk of `iterator()` and `clear()` reads from the store.
   * @defaultValue 1 000
   */
  scanCount?: number;
}

/** What {@link KeyvKvbus.opts} holds (Keyv reads `dialect` and `url`; the test suite writes to it). */
export interface KeyvKvbusOpts {
  /**
   * Keyv 5 wires `keyv.iterator()` only to adapters whose dialect is in its own
   * list (`iterableAdapters`: sqlite, postgres, mysql, mongo, redis, valkey, etcd);
   * Keyv 6 looks for an `iterator` method instead. kvbus iterates as `@keyv/redis`
   * does (a `SCAN` of `namespace:*`), so it declares that dialect. Nothing else in
   * Keyv or cache-manager reads it.
   */
  dialect: 'redis';
  /** Not a connection string: kvbus reaches its store through `getStore()` or the store given. */
  url: string;
  throwOnErrors: boolean;
  scanCount: number;
  [option: string]: unknown;
}

const DEFAULT_SCAN_COUNT = 1_000;

/**
 * A Keyv storage adapter on a kvbus store: one cache shared by the main thread,
 * every pool worker and every forked child (or, on the Redis backend, every
 * process on every machine), with TTL, namespaces, `clear`, the batch methods,
 * iteration and Keyv's `'error'` events.
 *
 * Keys are stored as Keyv gives them, prefixed with `namespace:`; `clear()` removes
 * only this namespace's keys (every key of the store when Keyv has no namespace).
 * TTLs are the store's own, so an expired entry is gone everywhere at once.
 *
 * @example
 * import Keyv from 'keyv';
 * import { KeyvKvbus } from 'kvbus/keyv';
 * const keyv = new Keyv({ store: new KeyvKvbus(), namespace: 'users' }); // getStore(): works in workers too
 * await keyv.set('42', { name: 'Ada' }, 60_000);
 */
// `setMany` is typed `Promise<void>` in KeyvStoreAdapter, yet Keyv's own `setMany`
// returns what the adapter's resolves to as its documented `boolean[]`: we give one.
export class KeyvKvbus extends EventEmitter implements Omit<KeyvStoreAdapter, 'setMany'> {
  /** The kvbus store this adapter reads and writes. */
  readonly store: Store;
  /** The adapter's options, as Keyv expects to find them. */
  opts: KeyvKvbusOpts;
  /** Set by Keyv: its namespace, the prefix (before `:`) of every key it writes. */
  namespace?: string | undefined;

  /**
   * @param store - the kvbus store; by default `getStore()` (the main thread's default
   *   store, or the parent's store in a pool worker or forked child)
   * @param options - see {@link KeyvKvbusOptions}
   * @throws KvbusError `ERR_BAD_ARGUMENT` on a bad store or option; `ERR_NO_STORE` when no store is reachable
   */
  constructor(store?: Store, options: KeyvKvbusOptions = {}) {
    super();
    if (typeof options !== 'object' || options === null) throw badArgument('KeyvKvbus', 'options', 'an object', options);
    if (options.throwOnErrors !== undefined && typeof options.throwOnErrors !== 'boolean') {
      throw badArgument('KeyvKvbus', 'throwOnErrors', 'a boolean', options.throwOnErrors);
    }
    const scanCount = optionalPositive('KeyvKvbus', 'scanCount', options.scanCount, true) ?? DEFAULT_SCAN_COUNT;
    this.store = resolveStore(store, 'KeyvKvbus');
    this.opts = { dialect: 'redis', url: 'kvbus://', throwOnErrors: options.throwOnErrors ?? false, scanCount };
  }

  /**
   * Reads what Keyv stored under `key`.
   * @param key - the key, prefixed by Keyv
   * @returns the stored data, or `undefined` when absent or expired
   */
  get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return this.#guard(undefined, () => this.store.get<StoredData<Value>>(key));
  }

  /**
   * Reads several keys (one `get` each, sent together: kvbus has no `getMany` yet).
   * @param keys - the keys
   * @returns their data, `undefined` where absent, in the order of `keys`
   */
  getMany<Value>(keys: string[]): Promise<Array<StoredData<Value | undefined>>> {
    return this.#guard(
      keys.map(() => undefined),
      () => Promise.all(keys.map((key) => this.store.get<StoredData<Value>>(key))),
    );
  }

  /**
   * Writes `value`; `ttl` makes the store expire it.
   * @param key - the key
   * @param value - what Keyv serialized
   * @param ttl - milliseconds to live; `undefined` or `0` for none (which also removes an existing TTL, as Redis `SET` does)
   * @returns true once written (false when it failed and `throwOnErrors` is off)
   */
  set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    return this.#guard(false, async () => {
      await this.store.set(key, value, ttlOption(ttl));
      return true;
    });
  }

  /**
   * Writes several entries (one `set` each, sent together: no transaction yet, so
   * another client may see some of them before the others).
   * @param entries - `{ key, value, ttl? }` as for {@link KeyvKvbus.set}
   * @returns for each entry, whether it was written (what `keyv.setMany` then resolves to)
   */
  setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<boolean[]> {
    return Promise.all(entries.map(({ key, value, ttl }) => this.set(key, value, ttl)));
  }

  /**
   * Deletes a key.
   * @param key - the key
   * @returns true if a key was removed
   */
  delete(key: string): Promise<boolean> {
    return this.#guard(false, () => this.store.delete(key));
  }

  /**
   * Deletes several keys (one `delete` each, sent together).
   * @param keys - the keys
   * @returns true when every one of them was removed (Keyv's own rule when an adapter has no `deleteMany`)
   */
  deleteMany(keys: string[]): Promise<boolean> {
    return this.#guard(false, async () => (await Promise.all(keys.map((key) => this.store.delete(key)))).every(Boolean));
  }

  /**
   * Tells whether a key is present (and not expired).
   * @param key - the key
   * @returns true when present
   */
  has(key: string): Promise<boolean> {
    return this.#guard(false, () => this.store.has(key));
  }

  /**
   * Tells which keys are present (one `has` each, sent together).
   * @param keys - the keys
   * @returns a boolean per key, in the order of `keys`
   */
  hasMany(keys: string[]): Promise<boolean[]> {
    return this.#guard(
      keys.map(() => false),
      () => Promise.all(keys.map((key) => this.store.has(key))),
    );
  }

  /**
   * Removes this namespace's keys (those matching `namespace:*`, the namespace
   * escaped), a scan chunk at a time; without a namespace, every key of the store.
   */
  clear(): Promise<void> {
    return this.#guard(undefined, async () => {
      const glob = prefixGlob(this.namespace);
      if (glob) await deleteMatching(this.store, glob, this.opts.scanCount);
      else await this.store.clear();
    });
  }

  /**
   * Yields `[key, data]` for each key of `namespace` (every key without one), read
   * from the store a chunk at a time with `scan`. Keyv strips the prefix and
   * skips what expired; `break` releases the scan.
   * @param namespace - the namespace Keyv passes (its own)
   */
  async *iterator<Value>(namespace?: string): AsyncGenerator<Array<string | Awaited<Value> | undefined>, void> {
    const glob = prefixGlob(namespace);
    try {
      for await (const [key, value] of this.store.scan<Awaited<Value>>(glob, { count: this.opts.scanCount })) yield [key, value];
    } catch (error) {
      this.#fail(error);
    }
  }

  async #guard<TResult>(fallback: TResult, op: () => Promise<TResult>): Promise<TResult> {
    try {
      return await op();
    } catch (error) {
      this.#fail(error);
      return fallback;
    }
  }

  #fail(error: unknown): void {
    // Keyv listens for 'error' and re-emits it on the Keyv instance.
    this.emit('error', error);
    if (this.opts.throwOnErrors) throw error;
  }
}

function ttlOption(ttl: number | undefined): SetOptions | undefined {
  // Keyv sends `undefined` for no TTL (it turns its own `0` into that); anything
  // else goes to the store, which rejects a TTL that is not a positive finite number.
  return ttl === undefined || ttl === 0 ? undefined : { ttlMs: ttl };
}
