import type { Connection } from './connection.js';
import type { AnySpec, Command } from './table.js';

/** One client's way into the actor, given by {@link ActorGate.open}. */
export interface Session {
  /**
   * Sends one command of this client; seq 0 asks for no reply (the connection's own housekeeping).
   * @param spec - the command's descriptor, when the sender has it at hand
   */
  send(seq: number, cmd: Command, spec?: AnySpec): void;
  /** Counts a message from this client that could not be read as a command. */
  malformed(): void;
  /** Counts an event dropped by this client's buffer. */
  dropped(): void;
  /** The client is gone: its subscriptions are dropped at once. */
  close(): void;
}

/** What a transport needs of the actor: a session per client, nothing more. */
export interface ActorGate {
  /** Registers a client; its replies and events go to `conn`. */
  open(conn: Connection): Session;
}
