// A remote client's `changes` subscriptions that fell behind: paused, then resumed from history (SPEC §7).
import { resume } from '../../commands/feed.js';
import type { Session } from '../../commands/gate.js';
import type { KeyChange } from '../../types.js';

interface Paused {
  /** The revision of the last event sent: history resumes after it. */
  since: number;
  /** A resume was asked for and has not come back yet. */
  resuming: boolean;
}

/**
 * The `changes` subscriptions of one remote client that would have overflowed
 * its buffer. Instead of dropping an event, the connection pauses the
 * subscription (live events for it are ignored: history holds them); once the
 * client has drained half its buffer, it asks the actor to resume one
 * subscription from history, at most as many events as there is room for,
 * and it stays paused while history holds more.
 */
export class PausedFeeds {
  readonly #paused = new Map<number, Paused>();
  readonly #session: Session;

  /** @param session - where the resume commands go */
  constructor(session: Session) {
    this.#session = session;
  }

  /** Paused subscriptions. */
  get size(): number {
    return this.#paused.size;
  }

  /** True when subscription `sid` is paused. */
  has(sid: number): boolean {
    return this.#paused.has(sid);
  }

  /**
   * Pauses a subscription at the first event that did not fit.
   * @param change - that event: every earlier one of this subscription was sent
   */
  pause(sid: number, change: KeyChange): void {
    this.#paused.set(sid, { since: change.revision - 1, resuming: false });
  }

  /**
   * Asks the actor to resume a paused subscription, when there is room for half the buffer: one at a time.
   * @param room - the events the buffer can take now
   * @param least - the least room worth a resume
   */
  resume(room: number, least: number): void {
    if (room < least) return;
    let next: [number, Paused] | undefined;
    for (const entry of this.#paused) {
      if (entry[1].resuming) return;
      next ??= entry;
    }
    if (!next) return;
    next[1].resuming = true;
    this.#session.send(0, { type: 'sub.resume', sid: next[0], since: next[1].since, limit: room }, resume);
  }

  /**
   * The actor answered a resume (see `Connection.resumed`).
   * @returns false when `sid` was not paused (its events must not be sent)
   */
  resumed(sid: number, changes: readonly { revision?: number }[], more: boolean, ended: boolean): boolean {
    const paused = this.#paused.get(sid);
    if (!paused) return false;
    if (more && !ended) {
      paused.since = changes[changes.length - 1]!.revision!;
      paused.resuming = false;
      // To the back of the line: another paused feed of this client gets the next resume.
      this.#paused.delete(sid);
      this.#paused.set(sid, paused);
    } else {
      this.#paused.delete(sid);
    }
    return true;
  }
}
