import type { SubscribeTopic } from '../../commands/bus.js';
import type { SubEvent } from '../../commands/events.js';
import type { SubscriptionHandlers } from '../../commands/link.js';
import type { Topic } from '../../types.js';

/** Up to this many observers of a topic are kept in an array (copied on change), more in a Set. */
const FEW_HANDLERS = 8;

/** One topic this client is subscribed to in the store, and its local observers. */
export interface TopicEntry {
  /** Its key in the table. */
  readonly key: string;
  readonly sid: number;
  readonly topic: Topic;
  /**
   * Its local observers: a few in an array, replaced (never changed in place) when one
   * comes or goes, so a loop over it that makes an observer leave goes on over those it
   * started with; past {@link FEW_HANDLERS}, a `Set` (safe to change while iterated).
   * An array of one costs ~40 B where a `Set` costs ~150 B, and most topics have one.
   */
  handlers: readonly SubscriptionHandlers[] | Set<SubscriptionHandlers>;
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
      const held = entry.handlers;
      if (held instanceof Set) held.add(handlers);
      else if (!held.includes(handlers)) entry.handlers = held.length < FEW_HANDLERS ? [...held, handlers] : new Set([...held, handlers]);
      return { entry, added: false };
    }
    const made: TopicEntry = { key, sid: ++this.#nextSid, topic, handlers: [handlers] };
    this.#byKey.set(key, made);
    this.#bySid.set(made.sid, made);
    return { entry: made, added: true };
  }

  /**
   * Removes an observer.
   * @returns true when it was the topic's last one, and the topic is dropped (so the store must be told)
   */
  remove(entry: TopicEntry, handlers: SubscriptionHandlers): boolean {
    const held = entry.handlers;
    if (held instanceof Set) {
      if (!held.delete(handlers) || held.size > 0) return false;
    } else {
      const at = held.indexOf(handlers);
      if (at === -1) return false;
      entry.handlers = held.length === 1 ? [] : held.filter((_, i) => i !== at);
      if (held.length > 1) return false;
    }
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
