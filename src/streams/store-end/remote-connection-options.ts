// What a RemoteConnection is told when it is made, and the limits it holds a client to.
import type { MessagePort } from 'node:worker_threads';
import type { SubscriberBufferOptions } from '../../types.js';

/**
 * Messages a client may send behind one it lost (see Arrivals) before it has
 * sent that one again; a well-behaved client sends it again at once.
 */
export const MAX_HELD = 10_000;
/**
 * Answer messages a client may leave unacknowledged beyond its event window; a
 * well-behaved client acknowledges with every request it sends.
 */
export const MAX_UNACKED = 10_000;

/** What a remote connection needs to know. */
export interface RemoteConnectionOptions {
  id: number;
  kind: 'worker' | 'process';
  buffer: SubscriberBufferOptions;
  requestTimeoutMs: number;
  /** For workers: where synchronous replies go, and the flag to wake the blocked thread with. */
  sync?: { port: MessagePort; flag: Int32Array } | undefined;
  /** A worker's thread id, or a child's process id (for `clients()`). */
  threadId?: number | undefined;
  pid?: number | undefined;
  /**
   * Called once when the connection is gone (the other side closed, or the store did).
   * @param reason - why the store cut the client off, when it did (it broke the protocol)
   */
  onGone: (reason?: string) => void;
}
