// node-redis's client-side cache (BasicClientSideCache), told who to inform:
// every key it drops because Redis said so (an invalidation push, a flush) or
// because the connection failed (node-redis then empties it, since
// invalidations may have been lost) reaches kvbus, which stamps worker near caches.
import { BasicClientSideCache } from 'redis';

/** node-redis's ClientSideCacheConfig (not exported by name). */
type ClientSideCacheConfig = NonNullable<ConstructorParameters<typeof BasicClientSideCache>[0]>;

/** Where the provider reports what it dropped: Redis keys, or `null` for every key. */
export type DropListener = (redisKey: string | null) => void;

/** node-redis's cache key of `GET <key>` (its generateCacheKey: lengths, then arguments, joined by `_`). */
export function getCacheKey(redisKey: string): string {
  return `3_${redisKey.length}_GET_${redisKey}`;
}

/**
 * node-redis's BasicClientSideCache, which reports the keys Redis invalidates
 * and the flushes of a failed connection, and lets kvbus read an entry without
 * sending a command ({@link KvbusClientSideCache.peek}).
 */
export class KvbusClientSideCache extends BasicClientSideCache {
  #listener: DropListener | undefined;
  /** False once node-redis's cache keys are seen to differ from {@link getCacheKey}: then nothing is peeked. */
  #peekable = true;
  #closing = false;

  constructor(config: ClientSideCacheConfig) {
    super(config);
  }

  /** Reports drops to `listener` from now on. */
  listen(listener: DropListener): void {
    this.#listener = listener;
  }

  /** The cached reply of `GET redisKey` (a Buffer or null), or undefined when none is cached; counts a hit. */
  peek(redisKey: string): Buffer | null | undefined {
    if (!this.#peekable) return undefined;
    const entry = this.get(getCacheKey(redisKey)) as { value?: Buffer | null } | undefined;
    // A promise entry (a GET in flight) has no `value`: the caller sends its own GET, which waits for it.
    if (!entry || !('value' in entry)) return undefined;
    this.recordHits(1);
    return entry.value ?? null;
  }

  /** Drops `redisKey` because this process wrote it, without reporting it (the actor knows its own writes). */
  drop(redisKey: string | null): void {
    super.invalidate(redisKey);
  }

  override set(
    cacheKey: string,
    cacheEntry: Parameters<BasicClientSideCache['set']>[1],
    keys: Parameters<BasicClientSideCache['set']>[2],
  ): void {
    // A newer node-redis could build its keys another way: then peeking would miss forever, so stop trying.
    if (keys.length === 1 && cacheKey !== getCacheKey(String(keys[0]))) this.#peekable = false;
    super.set(cacheKey, cacheEntry, keys);
  }

  /** Redis invalidated a key (or, with `null`, every key: FLUSHALL, or tracking lost). */
  override invalidate(key: Parameters<BasicClientSideCache['invalidate']>[0]): void {
    super.invalidate(key);
    this.#listener?.(key === null ? null : String(key));
  }

  /** The connection failed: node-redis empties the cache (invalidations may have been lost meanwhile). */
  override onError(): void {
    super.onError();
    if (!this.#closing) this.#listener?.(null);
  }

  /** The client closes: nothing to report, the store is closing. */
  override onClose(): void {
    this.#closing = true;
    super.onClose();
  }
}
