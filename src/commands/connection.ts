import type { TopicKind } from '../types.js';
import type { SubEvent } from './events.js';

/** What kind of client a connection serves. */
export type ConnectionKind = 'local' | 'worker' | 'process';

/**
 * The actor's view of one client: where replies and subscription events go.
 * The main thread's own client is one; every worker and child process is one.
 */
export interface Connection {
  readonly id: number;
  readonly kind: ConnectionKind;
  /** True for the main thread's own client, whose commands were validated where they were made. */
  readonly trusted?: boolean;
  /** Answers the command numbered `seq` of this client (never called for seq 0). */
  reply(seq: number, ok: boolean, value: unknown): void;
  /**
   * Hands an event to this client's subscription `sid`.
   * @param kind - what the subscription is to: a `'channel'`'s messages need not repeat its name, and a
   *   `'key'` (a watch) needs only its latest event when the client falls behind
   */
  deliver(sid: number, event: SubEvent, kind: TopicKind): void;
  /**
   * A paused `changes` subscription caught up from history (a remote client's
   * connection pauses one that would overflow its buffer, then asks to resume).
   * @param changes - the next changes, in order, to send whatever the buffer holds
   * @param more - history holds more: the subscription stays paused after the last of these
   * @param error - history no longer reaches back: the subscription ends with it
   */
  resumed?(sid: number, changes: readonly SubEvent[], more: boolean, error?: unknown): void;
  /**
   * Ends subscription `sid` with `error`, after the events already handed to it
   * (history lost changes it should have had: `ERR_COMPACTED`).
   */
  endSubscription?(sid: number, error: unknown): void;
  /** The store closed: complete every subscription, reject what is pending. */
  end(): void;
  /** What a remote client is, and how its buffer fares (for `clients()`). */
  describe?(): ConnectionDetail;
}

/** What a remote connection tells of itself. */
export interface ConnectionDetail {
  threadId?: number;
  pid?: number;
  /** Events posted and not yet acknowledged, plus those waiting to be posted. */
  buffered: number;
  /** Events this client's buffer dropped. */
  dropped: number;
}
