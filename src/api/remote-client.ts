import { KvbusError } from '../errors.js';
import type { RemoteLink } from '../streams/client-end/remote-link.js';
import type { Store } from '../types.js';
import { reportToConsole, StoreClient } from './store-client.js';
import { createSyncStore, refusingSyncStore } from './sync-store.js';

/**
 * The store API of a worker or a child process, over its link to the parent's store.
 * @param link - the connected link
 * @param kind - a worker can block on the store (`store.sync`), a child process cannot
 * @returns the client
 */
export function remoteClient(link: RemoteLink, kind: 'worker' | 'process'): Store {
  const sync =
    kind === 'worker'
      ? createSyncStore((cmd, spec) => link.requestSync(cmd, spec), true)
      : refusingSyncStore(
          () =>
            new KvbusError(
              'ERR_WOULD_DEADLOCK',
              'store.sync cannot block a child process on its parent (no shared memory across processes): use the async API (await store.get(...))',
            ),
        );
  // Copy at the call, not at the flush: a value mutated after set() in the same tick must not leak in
  // ('wire': a large value's copy is the post that sends it, made at the call too).
  return new StoreClient(link, { copyIn: 'wire', onError: reportToConsole, sync, kind });
}
