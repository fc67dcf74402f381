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
 * to choose a watch event to drop. Nor does it ever drop a `changes` event:
 * those subscriptions pause instead (see RemoteConnection), so only messages
 * are dropped, leaving holes that draining skips.
 */
export class EventBuffer {
  #items: unknown[] = [];
  #head = 0;
  /** Dropped messages not yet passed by the head. */
  #holes = 0;
  /** No message waits before this index (where the next drop starts looking). */
  #messagesFrom = 0;
  /** The event waiting for each watch, by sid, in the order the watches first waited. */
  readonly #latest = new Map<number, SubEvent>();

  /** Events waiting. */
  get length(): number {
    return ((this.#items.length - this.#head) >> 1) - this.#holes + this.#latest.size;
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

  /** Drops the oldest message of the FIFO (never a watch's or a feed's event); returns false when there was none. */
  shift(): boolean {
    const items = this.#items;
    for (let at = Math.max(this.#head, this.#messagesFrom); at < items.length; at += 2) {
      if ((items[at + 1] as SubEvent | undefined)?.type !== 'message') continue;
      items[at + 1] = undefined;
      this.#messagesFrom = at + 2;
      if (at === this.#head) {
        this.#head += 2;
        this.#compact();
      } else {
        this.#holes++;
      }
      return true;
    }
    this.#messagesFrom = items.length;
    return false;
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
    const items = this.#items;
    let at = this.#head;
    for (; moved < n && at < items.length; at += 2) {
      const event = items[at + 1] as SubEvent | undefined;
      if (event === undefined) {
        this.#holes--;
        continue;
      }
      const sid = items[at] as number;
      pushEvent(out, sid < 0 ? -sid : sid, event, sid < 0);
      items[at + 1] = undefined;
      moved++;
    }
    this.#head = at;
    this.#compact();
    return moved;
  }

  #compact(): void {
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
      this.#holes = 0;
      this.#messagesFrom = 0;
    } else if (this.#head > 8192 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#messagesFrom = Math.max(0, this.#messagesFrom - this.#head);
      this.#head = 0;
    }
  }
}
