import type { SubscribeTopic } from '../../commands/bus.js';
import type { SubEvent } from '../../commands/events.js';
import type { SubscriptionHandlers } from '../../commands/link.js';
import type { Topic } from '../../types.js';

/** One topic this client is subscribed to in the store, and its local observers. */
export interface TopicEntry {
  /** Its key in the table. */
  readonly key: string;
  readonly sid: number;
  readonly topic: Topic;
  readonly handlers: Set<SubscriptionHandlers>;
  /** For watched keys: the latest event seen, so a later local observer starts from it. */
  last?: SubEvent;
}

/**
 * The topics of one remote client: each is subscribed in the store once,
 * whatever the number of local observers, under one subscription id.
 */
export class SharedTopics {
  readonly #byKey = new Map<string, TopicEntry>();
  readonly #bySid = new Map<number, TopicEntry>();
  #nextSid = 0;

  /** Topics subscribed. */
  get size(): number {
    return this.#byKey.size;
  }

  /**
   * Adds an observer of a topic.
   * @returns the topic's entry, and whether it is new (so the store must be told)
   */
  add(topic: Topic, handlers: SubscriptionHandlers): { entry: TopicEntry; added: boolean } {
    let key = `${topic.kind}\u0000${topic.name}`;
    // A feed from a revision is its own subscription: its replay is for this observer alone.
    if ((topic as SubscribeTopic).since !== undefined) key += `\u0000${this.#nextSid + 1}`;
    const entry = this.#byKey.get(key);
    if (entry) {
      entry.handlers.add(handlers);
      return { entry, added: false };
    }
    const made: TopicEntry = { key, sid: ++this.#nextSid, topic, handlers: new Set([handlers]) };
    this.#byKey.set(key, made);
    this.#bySid.set(made.sid, made);
    return { entry: made, added: true };
  }

  /**
   * Removes an observer.
   * @returns true when it was the topic's last one, and the topic is dropped (so the store must be told)
   */
  remove(entry: TopicEntry, handlers: SubscriptionHandlers): boolean {
    if (!entry.handlers.delete(handlers) || entry.handlers.size > 0) return false;
    if (this.#byKey.get(entry.key) !== entry) return false;
    this.drop(entry);
    return true;
  }

  /** The entry of a subscription id, if it is still current. */
  get(sid: number): TopicEntry | undefined {
    return this.#bySid.get(sid);
  }

  /** Forgets a topic (its observers are not told). */
  drop(entry: TopicEntry): void {
    this.#byKey.delete(entry.key);
    this.#bySid.delete(entry.sid);
  }

  /** Forgets every topic and returns them. */
  takeAll(): TopicEntry[] {
    const entries = [...this.#byKey.values()];
    this.#byKey.clear();
    this.#bySid.clear();
    return entries;
  }
}
