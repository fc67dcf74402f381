import type { MessagePort } from 'node:worker_threads';
import type { CacheConfig } from '../cache-types.js';
import type { MessageStream } from '../streams/message-stream.js';
import { PROTOCOL } from '../streams/protocol/framing.js';
import { RemoteConnection } from '../streams/store-end/remote-connection.js';
import type { PeerEvent } from '../types.js';
import type { StoreHost } from './store-host.js';

/**
 * Serves one remote client on a stream, and tells `peers()` it joined.
 * @param host - the main-thread store's host
 * @param stream - the channel to the client
 * @param kind - a worker or a child process
 * @param sync - for workers: where blocking calls are answered
 * @param onGone - called once when the connection is gone (with why, when the store cut the client off)
 * @param who - the worker's thread id or the child's process id, when known
 * @param cache - the client's near cache settings, when it has one
 * @returns the connection
 */
export function serve(
  host: StoreHost,
  stream: MessageStream,
  kind: 'worker' | 'process',
  sync: { port: MessagePort; flag: Int32Array } | undefined,
  onGone: (reason?: string) => void,
  who: { threadId?: number | undefined; pid?: number | undefined } = {},
  cache?: CacheConfig,
): RemoteConnection {
  const id = host.nextClientId();
  const connection = new RemoteConnection(host.gate, stream, {
    id,
    kind,
    buffer: host.subscriberBuffer,
    requestTimeoutMs: host.requestTimeoutMs,
    sync,
    onGone,
    threadId: who.threadId,
    pid: who.pid,
  });
  if (cache) {
    const { keys, maxEntries } = cache;
    host.openCache(connection, {
      kind,
      config: cache,
      // Posted before any reply can be: a worker's on its sync port (its event loop may be blocked in sync reads).
      open: (table) =>
        sync
          ? sync.port.postMessage({ p: PROTOCOL, cache: { keys, maxEntries, table } })
          : stream.post({ p: PROTOCOL, cache: { keys, maxEntries } }),
    });
  }
  host.announce(withWho(peer('join', id, kind), who));
  return connection;
}

/**
 * A `peers()` event.
 * @param type - what happened
 * @param id - the client's id
 * @param kind - a worker or a child process
 * @param exitCode - its exit code, when known
 * @returns the event
 */
export function peer(type: PeerEvent['type'], id: number, kind: 'worker' | 'process', exitCode?: number | null): PeerEvent {
  return exitCode === undefined || exitCode === null ? { type, id, kind } : { type, id, kind, exitCode };
}

/**
 * A `peers()` event with the client's thread id or process id, when known.
 * @param event - the event
 * @param who - the worker's thread id or the child's process id
 * @returns the event, with them
 */
export function withWho(event: PeerEvent, who: { threadId?: number | undefined; pid?: number | undefined }): PeerEvent {
  if (who.threadId !== undefined) event.threadId = who.threadId;
  if (who.pid !== undefined) event.pid = who.pid;
  return event;
}
