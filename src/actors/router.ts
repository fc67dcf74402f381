import type { SubEvent } from '../commands/events.js';
import type { KeyChange, Topic } from '../types.js';
import { GlobIndex } from './glob-index.js';

/** Where the router delivers an event: one main-thread observer, or one remote client's subscription. */
export interface Sink {
  deliver(event: SubEvent): void;
}

/**
 * The sinks of an exact topic: the sink itself while it is the only one (most
 * channels and keys have one subscriber, and a `Set` of one costs ~150 B more).
 */
type ExactSinks = Sink | Set<Sink>;

/**
 * Maps topics to their sinks, so delivering an event costs work proportional
 * to the subscribers of that channel or key, never to all subscribers. Exact
 * topics are one `Map` lookup; globs are kept in a {@link GlobIndex} by their
 * literal prefix, so a publish or a key change tries only the globs that share
 * a prefix with it (and a repeated channel none), never every glob subscribed.
 */
export class Router {
  readonly #channels = new Map<string, ExactSinks>();
  readonly #keys = new Map<string, ExactSinks>();
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
    if (topic.kind === 'channel' || topic.kind === 'key') {
      const table = topic.kind === 'channel' ? this.#channels : this.#keys;
      const held = table.get(topic.name);
      if (held === undefined) {
        table.set(topic.name, sink);
        this.#size++;
        return true;
      }
      if (held === sink || (held instanceof Set && held.has(sink))) return false;
      if (held instanceof Set) held.add(sink);
      else table.set(topic.name, new Set([held, sink]));
      this.#size++;
      return false;
    }
    const table = topic.kind === 'pattern' ? this.#patterns : this.#changes;
    const held = table.get(topic.name);
    const sinks = (held ?? table.add(topic.name, new Set())).value;
    if (!sinks.has(sink)) {
      sinks.add(sink);
      this.#size++;
    }
    return held === undefined;
  }

  /**
   * Removes a sink from a topic.
   * @param topic - what the sink listened to
   * @param sink - the sink given to {@link Router.add}
   * @returns true when the topic has no sink left
   */
  remove(topic: Topic, sink: Sink): boolean {
    if (topic.kind === 'channel' || topic.kind === 'key') {
      const table = topic.kind === 'channel' ? this.#channels : this.#keys;
      const held = table.get(topic.name);
      if (held === sink) {
        table.delete(topic.name);
        this.#size--;
        return true;
      }
      if (!(held instanceof Set) || !held.delete(sink)) return false;
      this.#size--;
      if (held.size > 0) return false;
      table.delete(topic.name);
      return true;
    }
    const table = topic.kind === 'pattern' ? this.#patterns : this.#changes;
    const glob = table.get(topic.name);
    if (!glob?.value.delete(sink)) return false;
    this.#size--;
    if (glob.value.size > 0) return false;
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
    return deliverTo(this.#channels.get(channel), event);
  }

  /**
   * Delivers a key change to the key's watchers and to every matching `changes` glob;
   * a `clear` goes to every watcher and every glob.
   * @param change - what happened
   */
  change(change: KeyChange): void {
    if (change.type === 'clear') {
      for (const sinks of this.#keys.values()) deliverTo(sinks, change);
      for (const glob of this.#changes.values()) for (const sink of glob.value) sink.deliver(change);
      return;
    }
    deliverTo(this.#keys.get(change.key), change);
    for (const glob of this.#changes.match(change.key)) for (const sink of glob.value) sink.deliver(change);
  }

  /** True when some `watch` or `changes` subscriber exists (so changes are worth building). */
  get watchesKeys(): boolean {
    return this.#keys.size > 0 || this.#changes.size > 0;
  }
}

/** Delivers to the sinks of an exact topic; returns how many there were. */
function deliverTo(sinks: ExactSinks | undefined, event: SubEvent): number {
  if (sinks === undefined) return 0;
  if (!(sinks instanceof Set)) {
    sinks.deliver(event);
    return 1;
  }
  const count = sinks.size;
  for (const sink of sinks) sink.deliver(event);
  return count;
}
