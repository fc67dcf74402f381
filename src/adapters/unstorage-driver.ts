import type { SetOptions, Store } from 'kvbus';
import type { Driver, StorageValue, TransactionOptions, WatchCallback } from 'unstorage';
import { deleteMatching } from './delete-matching.js';
import { prefixGlob } from './glob-literal.js';
import { badArgument, optionalPositive, resolveStore } from './resolve-store.js';

/** Options of {@link kvbusDriver}. */
export interface KvbusDriverOptions {
  /** The kvbus store; by default `getStore()` (so the same code works in the main thread, pool workers and forked children). */
  store?: Store | undefined;
  /**
   * A prefix for every key this driver writes (`base:key`), so that it can share
   * a store with other data: `getKeys`, `clear` and `watch` then see only its keys.
   * Without it, they see every key of the store, and `clear()` empties the store.
   * @defaultValue none
   */
  base?: string | undefined;
  /**
   * The TTL of every item, in seconds (unstorage's unit, as its redis, deno-kv and
   * vercel-kv drivers); `setItem(key, value, { ttl })` overrides it per item.
   * @defaultValue none: items do not expire
   */
  ttl?: number | undefined;
  /**
   * About how many entries one chunk of `clear()` reads from the store.
   * @defaultValue 1 000
   */
  scanCount?: number | undefined;
}

const NAME = 'kvbusDriver';

/**
 * An unstorage driver on a kvbus store: one storage shared by the main thread,
 * every pool worker and every forked child (or, on the Redis backend, every
 * process on every machine), with TTL (`{ ttl }` in seconds) and `watch` fed by
 * the store's own change feed, so a write by any thread or process is seen.
 *
 * Values are kept as the store keeps them (structured clones): `setItemRaw`
 * stores bytes as bytes, not base64. In `watch`, an expiry is a `'remove'`,
 * and a `clear()` of the whole store (`store.clear()`, by anyone) is one
 * `'remove'` of the empty key, meaning every key is gone.
 *
 * @param options - see {@link KvbusDriverOptions}
 * @returns the driver, for `createStorage({ driver })` or `storage.mount(base, driver)`
 * @throws KvbusError `ERR_BAD_ARGUMENT` on a bad option; `ERR_NO_STORE` when no store is reachable
 * @example
 * import { createStorage } from 'unstorage';
 * import { kvbusDriver } from 'kvbus/unstorage';
 * const storage = createStorage({ driver: kvbusDriver({ base: 'pages' }) });
 * await storage.setItem('home', html, { ttl: 60 });
 */
export function kvbusDriver(options: KvbusDriverOptions = {}): Driver<KvbusDriverOptions, Store> {
  if (typeof options !== 'object' || options === null) throw badArgument(NAME, 'options', 'an object', options);
  if (options.base !== undefined && typeof options.base !== 'string') throw badArgument(NAME, 'base', 'a string', options.base);
  const defaultTtl = optionalPositive(NAME, 'ttl', options.ttl);
  const scanCount = optionalPositive(NAME, 'scanCount', options.scanCount, true) ?? 1_000;
  const store = resolveStore(options.store, NAME);
  const base = normalizeKey(options.base);

  const prefixed = (key: string): string => (base ? `${base}:${key}` : key);
  const unprefixed = (key: string): string => (base ? key.slice(base.length + 1) : key);
  const under = (relativeBase: string | undefined): string | undefined =>
    prefixGlob([base, normalizeKey(relativeBase)].filter(Boolean).join(':'));
  const setOptions = (opts: TransactionOptions | undefined): SetOptions | undefined => {
    const ttl: unknown = opts?.ttl ?? defaultTtl;
    if (ttl === undefined || ttl === 0) return undefined;
    return { ttlMs: (optionalPositive(NAME, 'ttl', ttl) as number) * 1000 };
  };
  const read = async (key: string): Promise<StorageValue> => (await store.get<StorageValue>(prefixed(key))) ?? null;
  const write = async (key: string, value: unknown, opts: TransactionOptions | undefined): Promise<void> => {
    await store.set(prefixed(key), value, setOptions(opts));
  };

  return {
    name: 'kvbus',
    flags: { ttl: true },
    options,
    getInstance: () => store,
    hasItem: (key) => store.has(prefixed(key)),
    getItem: read,
    getItemRaw: read,
    // One get / set each, sent together: kvbus has no getMany or transaction yet.
    getItems: (items) => Promise.all(items.map(async ({ key }) => ({ key, value: await read(key) }))),
    setItem: write,
    setItemRaw: write,
    async setItems(items, commonOptions) {
      await Promise.all(items.map(({ key, value, options: opts }) => write(key, value, { ...commonOptions, ...opts })));
    },
    async removeItem(key) {
      await store.delete(prefixed(key));
    },
    async getKeys(relativeBase) {
      return (await store.keys(under(relativeBase))).map(unprefixed);
    },
    async clear(relativeBase) {
      const glob = under(relativeBase);
      if (glob === undefined) await store.clear();
      else await deleteMatching(store, glob, scanCount);
    },
    async watch(callback: WatchCallback) {
      const subscription = store.changes(under(undefined)).subscribe((event) => {
        if (event.type === 'clear') callback('remove', '');
        else callback(event.type === 'set' ? 'update' : 'remove', unprefixed(event.key));
      });
      // Subscribing is a command: once a later command has come back, the store
      // has the subscription, so a write anyone makes after watch() resolves is seen.
      await store.stats();
      return () => subscription.unsubscribe();
    },
  };
}

/** unstorage's key normalization: no query string, `/` and `\` as `:`, no empty segment, no `:` at either end. */
function normalizeKey(key: string | undefined): string {
  if (!key) return '';
  return (key.split('?')[0] ?? '').replace(/[/\\]/g, ':').replace(/:+/g, ':').replace(/^:|:$/g, '');
}
