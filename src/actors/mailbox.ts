/**
 * The actor's queue: items are processed one at a time, each to completion.
 * An item posted while another is processed (from a subscriber callback, say)
 * waits its turn, so nothing ever runs re-entrantly; a paused mailbox (an
 * I/O answer the next item must wait for) holds everything until resumed.
 * An item whose processing throws is handed to `onError` and the queue goes
 * on: a failure can neither strand the items behind it nor reach the poster.
 */
export class Mailbox<TItem> {
  readonly #process: (item: TItem) => void;
  readonly #onError: (error: unknown, item: TItem) => void;
  #items: Array<TItem | undefined> = [];
  #head = 0;
  #running = false;
  #paused = false;

  /**
   * @param process - handles one item; it should not throw
   * @param onError - told when `process` threw anyway (a bug): the item is dropped, the rest runs
   */
  constructor(process: (item: TItem) => void, onError: (error: unknown, item: TItem) => void) {
    this.#process = process;
    this.#onError = onError;
  }

  /** Items waiting. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** True inside a turn: something posted now would wait. */
  get running(): boolean {
    return this.#running;
  }

  /** True inside a turn or while paused. */
  get busy(): boolean {
    return this.#running || this.#paused;
  }

  /**
   * Processes an item now if the mailbox is idle, else after what waits.
   * @param item - the item
   */
  post(item: TItem): void {
    if (this.#running || this.#paused) {
      this.#items.push(item);
      return;
    }
    // Written out rather than through turn(): this is every command's path, and a closure per item costs.
    this.#running = true;
    try {
      this.#process(item);
    } catch (error) {
      this.#onError(error, item);
    }
    try {
      this.#drain();
    } finally {
      this.#running = false;
    }
  }

  /**
   * Runs `fn` as a turn: items posted meanwhile wait until it returns, then run.
   * @param fn - the work (a delivery of events, say)
   * @returns what `fn` returned
   */
  turn<TResult>(fn: () => TResult): TResult {
    if (this.#running) return fn();
    this.#running = true;
    try {
      return fn();
    } finally {
      this.#drain();
      this.#running = false;
    }
  }

  /** Holds every item until {@link Mailbox.resume}. */
  pause(): void {
    this.#paused = true;
  }

  /** Lets the items that waited run. */
  resume(): void {
    this.#paused = false;
    if (this.#running) return;
    this.#running = true;
    try {
      this.#drain();
    } finally {
      this.#running = false;
    }
  }

  /** Removes and returns every waiting item. */
  takeAll(): TItem[] {
    // In place: a drain under way (this may run inside an item) must see the queue empty.
    const taken = this.#items.splice(this.#head) as TItem[];
    this.#items.length = 0;
    this.#head = 0;
    return taken;
  }

  #drain(): void {
    const items = this.#items;
    while (!this.#paused && this.#head < items.length) {
      const item = items[this.#head]!;
      items[this.#head++] = undefined;
      try {
        this.#process(item);
      } catch (error) {
        // Without this catch the items behind this one would wait for the next post, and run after it.
        this.#onError(error, item);
      }
    }
    if (this.#head === 0) return; // the usual case: nothing was queued
    if (this.#head === items.length) {
      items.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > items.length) {
      this.#items = items.slice(this.#head);
      this.#head = 0;
    }
  }
}
