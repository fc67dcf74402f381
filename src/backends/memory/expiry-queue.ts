import type { Clock } from '../../clock.js';

interface Deadline {
  at: number;
  key: string;
}

// setTimeout fires at once for delays above 2^31 - 1 ms; longer waits re-arm.
const MAX_DELAY = 2 ** 31 - 1;

/**
 * Deadlines of keys with a TTL: a binary min-heap and a single timer armed for
 * the earliest one, so a million keys with TTLs cost one timer, not a million.
 * Entries are never removed when a TTL changes; they go stale and are skipped
 * (the owner says which are current), and the heap is rebuilt when stale ones
 * outnumber live ones.
 */
export class ExpiryQueue {
  readonly #clock: Clock;
  readonly #onDue: () => void;
  #heap: Deadline[] = [];
  #timer: unknown = undefined;
  #timerAt = Infinity;

  /**
   * @param clock - the time source and timer
   * @param onDue - called (from the timer) when the earliest deadline has passed
   */
  constructor(clock: Clock, onDue: () => void) {
    this.#clock = clock;
    this.#onDue = onDue;
  }

  /** Number of deadlines held, stale ones included. */
  get size(): number {
    return this.#heap.length;
  }

  /**
   * Records that `key` expires at `at` (epoch milliseconds).
   * @param key - the key
   * @param at - its deadline
   */
  schedule(key: string, at: number): void {
    const heap = this.#heap;
    heap.push({ at, key });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.at <= at) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
    this.#arm();
  }

  /**
   * Removes and returns the keys whose current deadline has passed.
   * @param isCurrent - whether `key` still expires at `at` (false for stale entries)
   * @returns the keys to expire now, earliest first
   */
  popDue(isCurrent: (key: string, at: number) => boolean): string[] {
    const now = this.#clock.now();
    const due: string[] = [];
    while (this.#heap.length > 0 && this.#heap[0]!.at <= now) {
      const top = this.#pop();
      if (isCurrent(top.key, top.at)) due.push(top.key);
    }
    this.#timerAt = Infinity;
    this.#arm();
    return due;
  }

  /**
   * Drops stale entries when they make up most of the heap.
   * @param liveCount - how many keys currently have a TTL
   * @param isCurrent - whether an entry is still the key's deadline
   */
  compact(liveCount: number, isCurrent: (key: string, at: number) => boolean): void {
    if (this.#heap.length < 1024 || this.#heap.length < 2 * liveCount) return;
    const live = this.#heap.filter((d) => isCurrent(d.key, d.at)).sort((a, b) => a.at - b.at);
    this.#heap = live; // a sorted array is a valid heap
  }

  /** Forgets every deadline and disarms the timer. */
  clear(): void {
    this.#heap = [];
    this.#disarm();
  }

  #pop(): Deadline {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && heap[left]!.at < heap[smallest]!.at) smallest = left;
        if (right < heap.length && heap[right]!.at < heap[smallest]!.at) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
        i = smallest;
      }
    }
    return top;
  }

  #arm(): void {
    const next = this.#heap[0]?.at;
    if (next === undefined || next >= this.#timerAt) return;
    this.#disarm();
    this.#timerAt = next;
    const delay = Math.min(Math.max(0, next - this.#clock.now()), MAX_DELAY);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#onDue();
    }, delay);
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }
}
