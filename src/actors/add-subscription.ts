// What subscribing does in the actor: route a sink, tell the backend, and start a watch or a feed.
import type { Backend } from '../backends/backend.js';
import type { Connection } from '../commands/connection.js';
import { KvbusError } from '../errors.js';
import type { Topic } from '../types.js';
import { CatchUpSink, startFrom } from './catch-up.js';
import { isThenable, mapMaybe } from './maybe-promise.js';
import type { Router, Sink } from './router.js';

/** One subscription of a client, as the actor keeps it. */
export interface Subscription {
  readonly topic: Topic;
  readonly sink: Sink;
}

/** What {@link addSubscription} works on: the actor's parts. */
export interface SubscribeContext {
  readonly backend: Backend;
  readonly router: Router;
  /** Removes a subscription again (a feed whose history no longer reaches back). */
  unsubscribe(conn: Connection, sid: number): unknown;
}

/**
 * Adds subscription `sid` of `conn`: a watch first gets the key's current
 * value; a `changes` subscription with `since` first gets the changes history
 * holds after it (see catch-up.ts); a remote client's `changes` subscription
 * gets a sink that can catch up, so that its connection can pause and resume it.
 * @param subs - the client's subscriptions, by sid
 * @returns what the command answers (a promise when the backend must subscribe or read first)
 */
export function addSubscription(
  actor: SubscribeContext,
  subs: Map<number, Subscription>,
  conn: Connection,
  sid: number,
  topic: Topic,
  since: number | undefined,
): unknown {
  if (subs.has(sid)) throw new KvbusError('ERR_BAD_ARGUMENT', `Subscription id ${sid} is already in use by this client`);
  const { backend, router } = actor;
  const kind = topic.kind;
  const direct: Sink = { deliver: (event) => conn.deliver(sid, event, kind) };
  const feed = kind === 'changes' && (since !== undefined || conn.resumed !== undefined) ? new CatchUpSink(direct) : undefined;
  const sink = feed ?? direct;
  // Hold live events from the moment the sink is routed: on an I/O backend the catch-up
  // starts only once the backend listens, and what arrives meanwhile must follow the replay.
  if (feed && since !== undefined) feed.hold();
  subs.set(sid, { topic, sink });
  const first = router.add(topic, sink);
  let interest = first ? backend.interest(topic, true) : undefined;
  if (isThenable(interest)) {
    // The backend could not subscribe (Redis unreachable): undo, so nothing half-exists.
    interest = Promise.resolve(interest).catch((error: unknown) => {
      if (subs.get(sid)?.sink === sink) subs.delete(sid);
      router.remove(topic, sink);
      throw error;
    });
  }
  if (feed && since !== undefined) return startFrom(backend, topic.name, since, feed, interest, () => actor.unsubscribe(conn, sid));
  if (kind !== 'key') return interest;
  // A watch starts with the current value, delivered before any later change.
  const snapshot = () =>
    mapMaybe(backend.get(topic.name), (entry) => {
      sink.deliver({ type: 'snapshot', key: topic.name, value: entry?.value, revision: entry?.revision ?? 0 });
    });
  return isThenable(interest) ? interest.then(snapshot) : snapshot();
}
