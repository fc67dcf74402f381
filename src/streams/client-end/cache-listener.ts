// What a RemoteLink tells the near cache of a child process.
import type { CacheConfig } from '../../cache-types.js';

/** What a link tells a child's near cache. */
export interface CacheListener {
  /** The store's settings for this client's cache (null: it has none). */
  configure(config: CacheConfig | null): void;
  /** Keys changed in the store (null: all of them). */
  invalidate(keys: string[] | null): void;
  /** The link failed or closed: nothing may be answered from the cache any more. */
  stop(): void;
}
