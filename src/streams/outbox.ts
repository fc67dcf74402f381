/**
 * A queue flushed once per tick: everything added during one synchronous run
 * (and the microtasks queued before the flush) leaves as one message.
 */
export class Outbox<TItem> {
  #items: TItem[] = [];
  #scheduled = false;
  readonly #flush: (items: TItem[]) => void;

  /** @param flush - sends one batch; called from a microtask */
  constructor(flush: (items: TItem[]) => void) {
    this.#flush = flush;
  }

  get length(): number {
    return this.#items.length;
  }

  /** Queues an item and schedules a flush. */
  push(item: TItem): void {
    this.#items.push(item);
    this.schedule();
  }

  /** Schedules a flush even with nothing queued (the owner may have other things to send). */
  schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(this.#run);
  }

  /** Takes everything queued, now. */
  take(): TItem[] {
    const items = this.#items;
    this.#items = [];
    return items;
  }

  readonly #run = (): void => {
    this.#scheduled = false;
    this.#flush(this.take());
  };
}
