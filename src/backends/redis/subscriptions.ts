// What this process listens to on Redis: channels, patterns, and the change
// events (with expiry) that watched keys and `changes` globs share, which
// reach the store through a ChangeFeed (exactly once across reconnects).
import { KvbusError } from '../../errors.js';
import type { Topic } from '../../types.js';
import type { BackendContext } from '../backend.js';
import type { ChangeFeed } from './change-feed.js';
import type { Connection } from './connection.js';
import type { Codec, Layout } from './layout.js';
import { withTimeout } from './watchdog.js';

/** Subscribes the backend's subscriber client to the topics this process has subscribers for. */
export class Subscriptions {
  readonly #connection: Connection;
  readonly #layout: Layout;
  readonly #codec: Codec;
  readonly #feed: ChangeFeed;
  #context!: BackendContext;
  #watchers = 0;
  /** The change events are subscribed to (as far as the last finished step knows). */
  #following = false;
  /** The steps that (un)subscribe the change events, one after the other. */
  #steps: Promise<void> = Promise.resolve();
  /** Watchers (as one) and history: each needs expiries announced. */
  #expiryListeners = 0;
  /** The subscriber's connection events reach the feed (set up once). */
  #listening = false;

  constructor(connection: Connection, layout: Layout, codec: Codec, feed: ChangeFeed) {
    this.#connection = connection;
    this.#layout = layout;
    this.#codec = codec;
    this.#feed = feed;
  }

  /** Where what is heard goes: set when the backend opens. */
  serve(context: BackendContext): void {
    this.#context = context;
    this.#feed.serve((change) => context.emitChange(change));
    // A resume that finds changes lost: the actor ends `changes` subscriptions with ERR_COMPACTED.
    if (context.changesLost) this.#feed.onLost = (after, oldest) => context.changesLost?.(after, oldest);
  }

  /** Subscribes to `topic` (or unsubscribes), at most commandTimeoutMs for the caller. */
  interest(topic: Topic, active: boolean): Promise<void> {
    // node-redis waits for a reconnect before it (un)subscribes, and the actor waits
    // for this: bound it like any command, and undo a subscription that timed out.
    const timeout = this.#connection.timeout;
    const change = this.#connection.run(() => this.#changeInterest(topic, active));
    return withTimeout(change, timeout, () => {
      if (active) void this.#changeInterest(topic, false).catch(() => {});
      return new KvbusError(
        'ERR_BACKEND',
        `Redis did not confirm the ${active ? 'subscription' : 'unsubscription'} of ${topic.kind} ${JSON.stringify(topic.name)} within ${timeout} ms (commandTimeoutMs)`,
      );
    });
  }

  async #changeInterest(topic: Topic, active: boolean): Promise<void> {
    const sub = this.#connection.subscriber;
    switch (topic.kind) {
      case 'channel': {
        const channel = this.#layout.channel(topic.name);
        if (active)
          await sub.subscribe(
            channel,
            (message: Buffer) => this.#context.emitChannelMessage(topic.name, this.#codec.decodeMessage(message)),
            true,
          );
        else await sub.unsubscribe(channel);
        return;
      }
      case 'pattern': {
        const pattern = this.#layout.channelGlob(topic.name);
        const skip = this.#layout.channel('').length;
        if (active) {
          await sub.pSubscribe(
            pattern,
            (message: Buffer, channel: Buffer) => {
              this.#context.emitPatternMessage(topic.name, channel.toString().slice(skip), this.#codec.decodeMessage(message));
            },
            true,
          );
        } else {
          await sub.pUnsubscribe(pattern);
        }
        return;
      }
      default:
        // Watched keys and `changes` globs share one Redis subscription to the change events.
        this.#watchers += active ? 1 : -1;
        await this.#followChanges();
    }
  }

  /**
   * Brings the subscription to the change events in line with the watchers, one
   * step at a time: an unsubscribe and a subscribe run concurrently (a `changes`
   * subscription ended with ERR_COMPACTED, and a new one made at once by its
   * error handler) would race on Redis and on the feed, and the new one would
   * hear nothing. A step that finds the state already right does nothing.
   */
  #followChanges(): Promise<void> {
    const step = this.#steps.then(async () => {
      const wanted = this.#watchers > 0;
      if (wanted === this.#following) return;
      await this.#watchChanges(wanted);
      this.#following = wanted;
    });
    this.#steps = step.catch(() => {});
    return step;
  }

  /**
   * With history on, this process announces every expiry it hears of, watched or not:
   * history must hold the `expire` of a key nobody watched when it expired, or a
   * follower replaying from before it would keep the key (see docs/redis.md).
   */
  async recordExpiries(): Promise<void> {
    await this.#connection.run(() => this.#listenExpiries(true));
  }

  async #watchChanges(active: boolean): Promise<void> {
    const sub = this.#connection.subscriber;
    const changes = this.#layout.changes;
    if (!active) {
      await sub.unsubscribe(changes);
      await this.#listenExpiries(false);
      this.#feed.stop();
      return;
    }
    if (!this.#listening) {
      this.#listening = true;
      // 'error' when the socket fails (then 'reconnecting'); 'ready' once it is back AND resubscribed.
      sub.on('error', () => this.#feed.dropped());
      sub.on('reconnecting', () => this.#feed.dropped());
      sub.on('ready', () => this.#feed.reconnected());
    }
    await this.#feed.start(); // before SUBSCRIBE: a resume starts no later than the subscription
    await sub.subscribe(
      changes,
      (message: Buffer) => {
        const change = this.#codec.parseChange(message);
        if (change) this.#feed.heard(change);
      },
      true,
    );
    // Following is confirmed only now: a worker's near cache may have filled while it was set up
    // (near-caches.ts opens before following), with values changed before SUBSCRIBE took effect.
    this.#context.invalidated(null);
    await this.#listenExpiries(true);
  }

  /** Counts who needs expiries announced (watchers, history) and subscribes while anyone does. */
  async #listenExpiries(active: boolean): Promise<void> {
    const expired = this.#connection.expiredChannel;
    if (!expired) return;
    this.#expiryListeners += active ? 1 : -1;
    const sub = this.#connection.subscriber;
    if (!active) {
      if (this.#expiryListeners === 0) await sub.unsubscribe(expired);
      return;
    }
    if (this.#expiryListeners !== 1) return;
    const dataPrefix = this.#layout.data('');
    const changes = this.#layout.changes;
    await sub.subscribe(
      expired,
      (name: Buffer) => {
        // Every process hears the expiry; the EXPIRED script lets exactly one announce it (see scripts.ts).
        const redisKey = name.toString();
        if (!redisKey.startsWith(dataPrefix)) return;
        const key = redisKey.slice(dataPrefix.length);
        this.#connection
          .script('EXPIRED', [redisKey, this.#layout.rev, this.#layout.ttlMark(key)], [changes, key, this.#layout.historyCap])
          .catch(() => {});
      },
      true,
    );
  }
}
