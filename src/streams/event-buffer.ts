import type { SubEvent } from '../actors/commands.js';
import { pushEvent } from './protocol.js';

/**
 * The events waiting for one remote client: a FIFO of (subscription, event)
 * pairs kept flat in one array with a moving head, so push and shift cost
 * O(1) and no pair is allocated.
 */
export class EventBuffer {
  #items: unknown[] = [];
  #head = 0;

  get length(): number {
    return (this.#items.length - this.#head) >> 1;
  }

  push(sid: number, event: SubEvent): void {
    this.#items.push(sid, event);
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
   * @param channelKnown - whether a subscription is to one channel (its messages omit the name)
   * @returns how many were moved
   */
  drainInto(out: unknown[], n: number, channelKnown: (sid: number) => boolean): number {
    const count = Math.min(n, this.length);
    const items = this.#items;
    let at = this.#head;
    for (let i = 0; i < count; i++, at += 2) {
      const sid = items[at] as number;
      pushEvent(out, sid, items[at + 1] as SubEvent, channelKnown(sid));
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
