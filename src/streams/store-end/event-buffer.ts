import type { SubEvent } from '../../commands/events.js';
import { pushEvent } from '../protocol/events.js';

/**
 * The events waiting for one remote client: a FIFO of (subscription, event)
 * pairs kept flat in one array with a moving head, so push and shift cost
 * O(1) and no pair is allocated. A channel subscription's sid is kept negated,
 * as on the wire: its messages need not repeat the channel's name.
 *
 * A watch (a key subscription) keeps at most one event waiting, apart from the
 * FIFO: a newer one replaces it (conflation), so a slow watcher skips to the
 * key's latest value instead of losing it, and the overflow policy never has
 * to choose a watch event to drop.
 */
export class EventBuffer {
  #items: unknown[] = [];
  #head = 0;
  /** The event waiting for each watch, by sid, in the order the watches first waited. */
  readonly #latest = new Map<number, SubEvent>();

  /** Events waiting. */
  get length(): number {
    return ((this.#items.length - this.#head) >> 1) + this.#latest.size;
  }

  push(sid: number, event: SubEvent, channel: boolean): void {
    this.#items.push(channel ? -sid : sid, event);
  }

  /**
   * Makes `event` the one waiting for watch `sid`.
   * @returns true when it replaced an older one (which is dropped)
   */
  putLatest(sid: number, event: SubEvent): boolean {
    const latest = this.#latest;
    const replaced = latest.has(sid);
    latest.set(sid, event);
    return replaced;
  }

  /** Drops the oldest event of the FIFO (never a watch's); returns false when there was none. */
  shift(): boolean {
    if (this.#head === this.#items.length) return false;
    this.#items[this.#head + 1] = undefined;
    this.#head += 2;
    this.#compact();
    return true;
  }

  /**
   * Moves up to `n` events into a wire batch: the watches' first, then the FIFO's from the front.
   * @param out - the batch
   * @param n - how many at most
   * @returns how many were moved
   */
  drainInto(out: unknown[], n: number): number {
    let moved = 0;
    const latest = this.#latest;
    if (latest.size > 0) {
      for (const [sid, event] of latest) {
        if (moved === n) return moved;
        pushEvent(out, sid, event, false);
        latest.delete(sid);
        moved++;
      }
    }
    const count = Math.min(n - moved, (this.#items.length - this.#head) >> 1);
    const items = this.#items;
    let at = this.#head;
    for (let i = 0; i < count; i++, at += 2) {
      const sid = items[at] as number;
      pushEvent(out, sid < 0 ? -sid : sid, items[at + 1] as SubEvent, sid < 0);
      items[at + 1] = undefined;
    }
    this.#head = at;
    this.#compact();
    return moved + count;
  }

  #compact(): void {
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 8192 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}
