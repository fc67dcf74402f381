import type { SubEvent } from '../../commands/events.js';
import { pushEvent } from '../protocol/events.js';

/**
 * The events waiting for one remote client: a FIFO of (subscription, event)
 * pairs kept flat in one array with a moving head, so push and shift cost
 * O(1) and no pair is allocated. A channel subscription's sid is kept negated,
 * as on the wire: its messages need not repeat the channel's name.
 */
export class EventBuffer {
  #items: unknown[] = [];
  #head = 0;

  get length(): number {
    return (this.#items.length - this.#head) >> 1;
  }

  push(sid: number, event: SubEvent, channel: boolean): void {
    this.#items.push(channel ? -sid : sid, event);
  }

  /** Drops the oldest event; returns false when there was none. */
  shift(): boolean {
    if (this.#head === this.#items.length) return false;
    this.#items[this.#head + 1] = undefined;
    this.#head += 2;
    this.#compact();
    return true;
  }

  /**
   * Moves up to `n` events from the front into a wire batch.
   * @param out - the batch
   * @param n - how many at most
   * @returns how many were moved
   */
  drainInto(out: unknown[], n: number): number {
    const count = Math.min(n, this.length);
    const items = this.#items;
    let at = this.#head;
    for (let i = 0; i < count; i++, at += 2) {
      const sid = items[at] as number;
      pushEvent(out, sid < 0 ? -sid : sid, items[at + 1] as SubEvent, sid < 0);
      items[at + 1] = undefined;
    }
    this.#head = at;
    this.#compact();
    return count;
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
