import { CachedLink } from '../cache/cached-link.js';
import type { ClientCache } from '../cache/client-cache.js';
import { KvbusError } from '../errors.js';
import type { RemoteLink } from '../streams/client-end/remote-link.js';
import type { Store } from '../types.js';
import { reportToConsole, StoreClient } from './store-client.js';
import { createSyncStore, refusingSyncStore } from './sync-store.js';

/**
 * The store API of a worker or a child process, over its link to the parent's store.
 * Reads go through the client's near cache, which stays empty unless the store
 * says this client has one (the `cache` option of createPool, attach or fork).
 * @param link - the connected link
 * @param kind - a worker can block on the store (`store.sync`), a child process cannot
 * @param cache - the client's near cache, told its settings by the store
 * @param pollCache - looks for the cache's settings when they are not known yet (a worker's sync port)
 * @returns the client
 */
export function remoteClient(link: RemoteLink, kind: 'worker' | 'process', cache: ClientCache, pollCache?: () => void): Store {
  const cached = new CachedLink(link, cache, pollCache);
  const sync =
    kind === 'worker'
      ? createSyncStore(
          (cmd, spec) => cached.requestSync(cmd, spec),
          true,
          (key) => cached.hit(key),
        )
      : refusingSyncStore(
          () =>
            new KvbusError(
              'ERR_WOULD_DEADLOCK',
              'store.sync cannot block a child process on its parent (no shared memory across processes): use the async API (await store.get(...))',
            ),
        );
  // Copy at the call, not at the flush: a value mutated after set() in the same tick must not leak in
  // ('wire': a large value's copy is the post that sends it, made at the call too).
  return new StoreClient(cached, { copyIn: 'wire', onError: reportToConsole, sync, kind });
}
