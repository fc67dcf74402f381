import type { SubEvent } from '../commands/events.js';
import type { KeyChange, Topic } from '../types.js';
import { GlobIndex } from './glob-index.js';

/** Where the router delivers an event: one main-thread observer, or one remote client's subscription. */
export interface Sink {
  deliver(event: SubEvent): void;
}

/**
 * Maps topics to their sinks, so delivering an event costs work proportional
 * to the subscribers of that channel or key, never to all subscribers. Exact
 * topics are one `Map` lookup; globs are kept in a {@link GlobIndex} by their
 * literal prefix, so a publish or a key change tries only the globs that share
 * a prefix with it (and a repeated channel none), never every glob subscribed.
 */
export class Router {
  readonly #channels = new Map<string, Set<Sink>>();
  readonly #keys = new Map<string, Set<Sink>>();
  readonly #patterns = new GlobIndex<Set<Sink>>();
  readonly #changes = new GlobIndex<Set<Sink>>();
  #size = 0;

  /** Number of sinks across all topics. */
  get size(): number {
    return this.#size;
  }

  /**
   * Adds a sink to a topic.
   * @param topic - what the sink listens to
   * @param sink - where events go
   * @returns true when the topic had no sink before (the backend may need to subscribe)
   */
  add(topic: Topic, sink: Sink): boolean {
    let sinks: Set<Sink>;
    let first = false;
    if (topic.kind === 'channel' || topic.kind === 'key') {
      const table = topic.kind === 'channel' ? this.#channels : this.#keys;
      sinks = table.get(topic.name) ?? new Set();
      if (sinks.size === 0) {
        table.set(topic.name, sinks);
        first = true;
      }
    } else {
      const table = topic.kind === 'pattern' ? this.#patterns : this.#changes;
      first = table.get(topic.name) === undefined;
      sinks = table.add(topic.name, new Set()).value;
    }
    if (!sinks.has(sink)) {
      sinks.add(sink);
      this.#size++;
    }
    return first;
  }

  /**
   * Removes a sink from a topic.
   * @param topic - what the sink listened to
   * @param sink - the sink given to {@link Router.add}
   * @returns true when the topic has no sink left
   */
  remove(topic: Topic, sink: Sink): boolean {
    const table =
      topic.kind === 'channel'
        ? this.#channels
        : topic.kind === 'key'
          ? this.#keys
          : topic.kind === 'pattern'
            ? this.#patterns
            : this.#changes;
    const entry = table.get(topic.name);
    if (!entry) return false;
    const sinks = entry instanceof Set ? entry : entry.value;
    if (!sinks.delete(sink)) return false;
    this.#size--;
    if (sinks.size > 0) return false;
    table.delete(topic.name);
    return true;
  }

  /**
   * Delivers a published message to the channel's sinks and to every matching pattern's sinks.
   * @param channel - the channel published to
   * @param data - the message
   * @returns the number of sinks that received it
   */
  publish(channel: string, data: unknown): number {
    const event: SubEvent = { type: 'message', channel, data };
    let count = this.#deliverExact(channel, event);
    for (const glob of this.#patterns.match(channel)) for (const sink of glob.value) sink.deliver(event), count++;
    return count;
  }

  /**
   * Delivers a message to the sinks of that exact channel only (a backend that
   * matches patterns itself, like Redis, reports pattern matches separately).
   * @param channel - the channel published to
   * @param data - the message
   */
  publishExact(channel: string, data: unknown): void {
    this.#deliverExact(channel, { type: 'message', channel, data });
  }

  /**
   * Delivers a message to the sinks of one pattern.
   * @param pattern - the glob that matched
   * @param channel - the channel published to
   * @param data - the message
   */
  publishToPattern(pattern: string, channel: string, data: unknown): void {
    const glob = this.#patterns.get(pattern);
    if (!glob) return;
    const event: SubEvent = { type: 'message', channel, data };
    for (const sink of glob.value) sink.deliver(event);
  }

  #deliverExact(channel: string, event: SubEvent): number {
    const sinks = this.#channels.get(channel);
    if (!sinks) return 0;
    for (const sink of sinks) sink.deliver(event);
    return sinks.size;
  }

  /**
   * Delivers a key change to the key's watchers and to every matching `changes` glob;
   * a `clear` goes to every watcher and every glob.
   * @param change - what happened
   */
  change(change: KeyChange): void {
    if (change.type === 'clear') {
      for (const sinks of this.#keys.values()) for (const sink of sinks) sink.deliver(change);
      for (const glob of this.#changes.values()) for (const sink of glob.value) sink.deliver(change);
      return;
    }
    const sinks = this.#keys.get(change.key);
    if (sinks) for (const sink of sinks) sink.deliver(change);
    for (const glob of this.#changes.match(change.key)) for (const sink of glob.value) sink.deliver(change);
  }

  /** True when some `watch` or `changes` subscriber exists (so changes are worth building). */
  get watchesKeys(): boolean {
    return this.#keys.size > 0 || this.#changes.size > 0;
  }
}
