// How a `changes` subscription catches up from history (SPEC §7): one mechanism for a
// subscription that starts from `since`, and for a slow remote subscriber that resumes.
import type { Backend, MaybePromise } from '../backends/backend.js';
import type { Connection } from '../commands/connection.js';
import type { SubEvent } from '../commands/events.js';
import type { KeyChange } from '../types.js';
import { isThenable, mapMaybe } from './maybe-promise.js';
import type { Sink } from './router.js';

/**
 * A `changes` subscription's sink that can hold live events while its
 * replay is read from history (on Redis the read answers later, and the
 * router goes on delivering meanwhile), then lets through only those the
 * replay did not already carry. It goes on dropping any event at or below
 * the last revision replayed: on Redis, the notice of a write another process
 * made before the read may arrive after it.
 */
export class CatchUpSink implements Sink {
  readonly #target: Sink;
  /** Live events held during a catch-up; undefined when live events pass straight through. */
  #held: SubEvent[] | undefined;
  /** The last revision replayed: an event at or below it was delivered already. */
  #last = 0;

  /** @param target - where events go once caught up */
  constructor(target: Sink) {
    this.#target = target;
  }

  deliver(event: SubEvent): void {
    if (this.#held !== undefined) this.#held.push(event);
    else if (!('revision' in event) || event.revision > this.#last) this.#target.deliver(event);
  }

  /** Delivers an event now, held events or not (a replayed one). */
  pass(event: SubEvent): void {
    this.#target.deliver(event);
  }

  /** Starts holding live events (a catch-up begins). */
  hold(): void {
    this.#held ??= [];
  }

  /**
   * Ends a catch-up: delivers the held events after `last` (the replay carried
   * the rest) and lets live events through again.
   * @param last - the revision of the last event replayed (or the catch-up's `since`)
   * @param deliverHeld - false when the subscriber stays behind (it will read those from history later): the held events are dropped
   */
  release(last: number, deliverHeld: boolean): void {
    const held = this.#held;
    this.#held = undefined;
    if (last > this.#last) this.#last = last;
    if (!held || !deliverHeld) return;
    for (const event of held) this.deliver(event);
  }
}

/** How a catch-up ended. */
export interface CatchUpResult {
  /** The revision of the last change handed over (`since` when none was). */
  last: number;
  /** True when history held more than `limit` changes: the subscriber must ask again from `last`. */
  more: boolean;
}

/**
 * Catches a subscription up from history: its sink holds live events, the
 * changes after `since` are read and handed to `replay` (at most `limit` of
 * them), then the held ones not already replayed follow and the sink goes
 * live. With a backend that answers at once, all of it happens in the
 * caller's turn, so nothing can come in between.
 * @param backend - where history is read
 * @param pattern - the subscription's glob
 * @param since - the revision the subscriber has seen
 * @param sink - the subscription's sink, already routed
 * @param replay - takes the replayed changes (and whether more remain), before any held event
 * @param limit - the most changes to hand over in one go
 * @returns how it ended; throws (or rejects) with `ERR_COMPACTED` when history no longer reaches `since`, the sink released
 */
export function catchUp(
  backend: Backend,
  pattern: string,
  since: number,
  sink: CatchUpSink,
  replay: (changes: KeyChange[], more: boolean) => void,
  limit = Number.POSITIVE_INFINITY,
): MaybePromise<CatchUpResult> {
  sink.hold();
  let read: MaybePromise<KeyChange[]>;
  try {
    read = backend.changesSince(since, pattern === '*' ? undefined : pattern);
  } catch (error) {
    sink.release(since, false);
    throw error;
  }
  const done = (changes: KeyChange[]): CatchUpResult => {
    const more = changes.length > limit;
    if (more) changes = changes.slice(0, limit);
    const last = changes.length > 0 ? changes[changes.length - 1]!.revision : since;
    replay(changes, more);
    sink.release(last, !more);
    return { last, more };
  };
  if (!isThenable(read)) return done(read);
  return (read as Promise<KeyChange[]>).then(done, (error: unknown) => {
    sink.release(since, false);
    throw error;
  });
}

/**
 * Starts a `changes` subscription from `since`, once the backend listens (`interest`):
 * the replay goes to the subscriber first, then live events.
 * @param cancel - removes the subscription (history no longer reaches `since`: it fails with that error)
 * @returns settles when the subscription is live; throws (or rejects) with `ERR_COMPACTED`
 */
export function startFrom(
  backend: Backend,
  pattern: string,
  since: number,
  sink: CatchUpSink,
  interest: unknown,
  cancel: () => unknown,
): unknown {
  const fail = (error: unknown) =>
    mapMaybe(cancel(), () => {
      throw error;
    });
  const start = () => {
    let result: MaybePromise<CatchUpResult>;
    try {
      result = catchUp(backend, pattern, since, sink, (changes) => {
        for (const change of changes) sink.pass(change);
      });
    } catch (error) {
      return fail(error);
    }
    return isThenable(result) ? (result as Promise<CatchUpResult>).then(() => undefined, fail) : undefined;
  };
  return isThenable(interest) ? (interest as Promise<unknown>).then(start) : start();
}

/**
 * Resumes a paused `changes` subscription of a remote client: at most `limit`
 * changes after `since` go to its connection's {@link Connection.resumed},
 * then (when nothing more waits) live events again.
 * @param cancel - removes the subscription (history no longer reaches `since`: it ends with that error)
 */
export function resumeFrom(
  backend: Backend,
  pattern: string,
  since: number,
  limit: number,
  sink: CatchUpSink,
  conn: Connection,
  sid: number,
): MaybePromise<{ ended: unknown } | undefined> {
  const ended = (error: unknown) => {
    conn.resumed?.(sid, [], false, error);
    return { ended: error };
  };
  let result: MaybePromise<CatchUpResult>;
  try {
    result = catchUp(backend, pattern, since, sink, (changes, more) => conn.resumed?.(sid, changes, more), limit);
  } catch (error) {
    return ended(error);
  }
  return isThenable(result) ? (result as Promise<CatchUpResult>).then(() => undefined, ended) : undefined;
}
