import type { SubEvent } from './commands.js';

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
  /** Answers the command numbered `seq` of this client. */
  reply(seq: number, ok: boolean, value: unknown): void;
  /** Hands an event to this client's subscription `sid`. */
  deliver(sid: number, event: SubEvent): void;
  /** The store closed: complete every subscription, reject what is pending. */
  end(): void;
}
