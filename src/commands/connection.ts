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
   * @param channel - true when the subscription is to one channel, so a message need not repeat its name
   */
  deliver(sid: number, event: SubEvent, channel: boolean): void;
  /** The store closed: complete every subscription, reject what is pending. */
  end(): void;
}
