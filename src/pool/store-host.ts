import type { ConnectionCache } from '../cache-types.js';
import type { ActorGate } from '../commands/gate.js';
import type { PeerEvent, SubscriberBufferOptions } from '../types.js';

/**
 * What the pool side needs of a main-thread store: a way into its actor and
 * its settings. A main-thread store carries one under {@link STORE_HOST}, so
 * that attach, fork and pools work with any of them without knowing its class.
 */
export interface StoreHost {
  /** True once the store is closed. */
  readonly closed: boolean;
  /** The actor, as transports see it. */
  readonly gate: ActorGate;
  readonly requestTimeoutMs: number;
  readonly subscriberBuffer: SubscriberBufferOptions;
  /** The id of the next remote client. */
  nextClientId(): number;
  /** Tells `peers()` observers that a client joined, left or was rejected. */
  announce(event: PeerEvent): void;
  /** Counts, in `stats().malformed`, a message refused before any connection could count it (a bad hello). */
  malformed(): void;
  /** Serves a client's near cache from now on (before any of its commands runs); its end is the connection's. */
  openCache(conn: object, cache: ConnectionCache): void;
}

/** Where a main-thread store keeps its {@link StoreHost} (a global symbol: the ESM and CJS builds share it). */
export const STORE_HOST: unique symbol = Symbol.for('kvbus.host') as never;

/**
 * The host of a main-thread store, or undefined for anything else.
 * @param store - anything
 * @returns its host
 */
export function hostOf(store: unknown): StoreHost | undefined {
  if (store === null || typeof store !== 'object') return undefined;
  return (store as { [STORE_HOST]?: StoreHost })[STORE_HOST];
}
