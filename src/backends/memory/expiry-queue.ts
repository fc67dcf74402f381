import type { Clock } from '../../clock.js';

interface Deadline {
  at: number;
  key: string;
}

// setTimeout fires at once for delays above 2^31 - 1 ms; longer waits re-arm.
const MAX_DELAY = 2 ** 31 - 1;
/**
 * A heap up to this size is compacted in one call (a filter and a sort: a few
 * milliseconds); a bigger one is swept in slices of this many entries, one per
 * turn, so that a million stale deadlines never hold the actor at once.
 */
const SWEEP_SLICE = 16_384;
/** How long one expiry turn may run (wall time): keys expiring together are spread over turns. */
const EXPIRY_SLICE_MS = 10;
/** Deadlines popped between two looks at the time. */
const EXPIRY_BATCH = 1024;

/**
 * Deadlines of keys with a TTL: a binary min-heap and a single timer armed for
 * the earliest one, so a million keys with TTLs cost one timer, not a million.
 * Entries are never removed when a TTL changes; they go stale and are skipped
 * (the owner says which are current), and the heap is compacted when stale
 * ones outnumber live ones. Work left for later (deadlines still due after a
 * bounded {@link ExpiryQueue.popDue}, a sweep under way) arms the timer at once,
 * so the owner gets another turn and other work runs in between.
 */
export class ExpiryQueue {
  readonly #clock: Clock;
  readonly #onDue: () => void;
  #heap: Deadline[] = [];
  #timer: unknown = undefined;
  #timerAt = Infinity;
  /** Where a sweep of stale entries goes on (it walks down to 0); -1 when none is under way. */
  #sweepAt = -1;

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
    this.#siftUp(this.#heap.push({ at, key }) - 1);
    this.#arm();
  }

  /** True when some deadline (current or stale) has passed: a bounded {@link ExpiryQueue.popDue} left work. */
  get hasDue(): boolean {
    const top = this.#heap[0];
    return top !== undefined && top.at <= this.#clock.now();
  }

  /**
   * Removes and returns the keys whose current deadline has passed, at most
   * `limit` entries looked at (stale ones count: they cost the same). When
   * some are left, the timer is armed at once for the rest.
   * @param isCurrent - whether `key` still expires at `at` (false for stale entries)
   * @param limit - how many entries to pop at most
   * @returns the keys to expire now, earliest first
   */
  popDue(isCurrent: (key: string, at: number) => boolean, limit = Infinity): string[] {
    const now = this.#clock.now();
    const due: string[] = [];
    for (let popped = 0; popped < limit && this.#heap.length > 0 && this.#heap[0]!.at <= now; popped++) {
      const top = this.#pop();
      if (isCurrent(top.key, top.at)) due.push(top.key);
    }
    this.#timerAt = Infinity;
    this.#arm();
    return due;
  }

  /**
   * Drops stale entries when they make up most of the heap: at once for a
   * small heap, else one slice per call (the timer brings the next call).
   * @param liveCount - how many keys currently have a TTL
   * @param isCurrent - whether an entry is still the key's deadline
   */
  compact(liveCount: number, isCurrent: (key: string, at: number) => boolean): void {
    const heap = this.#heap;
    if (this.#sweepAt < 0) {
      if (heap.length < 1024 || heap.length < 2 * liveCount) return;
      if (heap.length <= SWEEP_SLICE) {
        this.#heap = heap.filter((d) => isCurrent(d.key, d.at)).sort((a, b) => a.at - b.at); // a sorted array is a valid heap
        return;
      }
      this.#sweepAt = heap.length - 1;
    }
    // From the end down, each stale entry is replaced by the last one, which is
    // then sifted into place: the heap stays valid between slices, while deadlines
    // come and go. An entry that a sift moves past the sweep escapes it (rare:
    // compaction only bounds memory, it need not be exact).
    let at = Math.min(this.#sweepAt, heap.length - 1);
    for (const stop = Math.max(-1, at - SWEEP_SLICE); at > stop; at--) {
      const entry = heap[at]!;
      if (!isCurrent(entry.key, entry.at)) this.#removeAt(at);
    }
    this.#sweepAt = at;
    if (at < 0) return;
    this.#timerAt = Infinity;
    this.#arm();
  }

  /**
   * Expires what is due, for a bounded slice of wall time: a million keys
   * expiring together take many short turns (the timer is armed at once for
   * the rest), and reads meanwhile check deadlines.
   * @param isCurrent - whether a deadline is still the key's
   * @param expire - removes one key whose deadline passed
   * @param liveCount - the keys that have a deadline now, after the slice (to decide on compaction)
   */
  expireSlice(isCurrent: (key: string, at: number) => boolean, expire: (key: string) => void, liveCount: () => number): void {
    const stop = performance.now() + EXPIRY_SLICE_MS;
    do {
      for (const key of this.popDue(isCurrent, EXPIRY_BATCH)) expire(key);
    } while (this.hasDue && performance.now() < stop);
    this.compact(liveCount(), isCurrent);
  }

  /** Forgets every deadline and disarms the timer. */
  clear(): void {
    this.#heap = [];
    this.#sweepAt = -1;
    this.#disarm();
  }

  #removeAt(index: number): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (index >= heap.length) return;
    heap[index] = last;
    this.#siftDown(this.#siftUp(index));
  }

  /** Moves the entry at `index` up to its place; returns where it landed. */
  #siftUp(index: number): number {
    const heap = this.#heap;
    const entry = heap[index]!;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (heap[parent]!.at <= entry.at) break;
      heap[index] = heap[parent]!;
      index = parent;
    }
    heap[index] = entry;
    return index;
  }

  #siftDown(index: number): void {
    const heap = this.#heap;
    const entry = heap[index]!;
    const length = heap.length;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= length) break;
      if (child + 1 < length && heap[child + 1]!.at < heap[child]!.at) child++;
      if (heap[child]!.at >= entry.at) break;
      heap[index] = heap[child]!;
      index = child;
    }
    heap[index] = entry;
  }

  #pop(): Deadline {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.#siftDown(0);
    }
    return top;
  }

  #arm(): void {
    // A sweep under way wants the next turn, whatever the deadlines.
    const next = this.#sweepAt >= 0 ? this.#clock.now() : this.#heap[0]?.at;
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
