import type { Topic } from '../types.js';
import type { SubEvent } from './events.js';
import type { AnySpec, Command } from './table.js';

/** Callbacks of one subscription made through a {@link Link}. */
export interface SubscriptionHandlers {
  next(event: SubEvent): void;
  error(error: unknown): void;
  complete(): void;
}

/**
 * How a store client reaches the actor: directly in the main thread, through
 * a message stream from a worker or a child process.
 */
export interface Link {
  /**
   * Sends one command; resolves with the actor's reply.
   * @param spec - the command's descriptor, when the caller has it at hand (it saves a lookup by `type`)
   */
  request(cmd: Command, spec?: AnySpec): Promise<unknown>;
  /** Subscribes to a topic; returns the function that ends the subscription. */
  subscribe(topic: Topic, handlers: SubscriptionHandlers): () => void;
  /** Disconnects (remote) or closes the store (main thread). */
  close(): Promise<void>;
}
