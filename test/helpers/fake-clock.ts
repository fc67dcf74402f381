// A Clock for tests of the memory backend's TTL: time moves only when the test says.
import type { Clock } from '../../src/index.js';

/**
 * A manual clock: time moves only on advance() (firing due timers in deadline
 * order, each at its own instant) or jump() (time moves, no timer fires: only
 * lazy expiry can notice).
 */
export class FakeClock implements Clock {
  time = 1_700_000_000_000;
  #nextId = 1;
  readonly timers = new Map<number, { at: number; fn: () => void }>();
  maxPending = 0;
  created = 0;

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn });
    this.created++;
    this.maxPending = Math.max(this.maxPending, this.timers.size);
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  get pending(): number {
    return this.timers.size;
  }

  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= target && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.time = Math.max(this.time, next[1].at);
      next[1].fn();
    }
    this.time = target;
  }

  jump(ms: number): void {
    this.time += ms;
  }
}
