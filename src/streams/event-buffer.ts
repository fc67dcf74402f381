/**
 * A FIFO of bounded size with O(1) push and shift (an array with a moving
 * head), for a remote subscriber's events.
 */
export class EventBuffer<TItem> {
  #items: Array<TItem | undefined> = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: TItem): void {
    this.#items.push(item);
  }

  shift(): TItem | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head > 4096 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Removes and returns up to `n` items from the front. */
  take(n: number): TItem[] {
    const count = Math.min(n, this.length);
    const out = this.#items.slice(this.#head, this.#head + count) as TItem[];
    this.#head += count;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else {
      this.#items.fill(undefined, this.#head - count, this.#head);
    }
    return out;
  }
}
