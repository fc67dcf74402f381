import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExpiryQueue } from '../../src/backends/memory/expiry-queue.js';
import type { Clock } from '../../src/clock.js';

interface FakeTimer {
  readonly id: number;
  readonly fn: () => void;
  readonly ms: number;
  cleared: boolean;
  fired: boolean;
}

/** A clock whose time is set by hand and whose timers fire only when told. */
class FakeClock implements Clock {
  time = 1_000_000;
  readonly timers: FakeTimer[] = [];

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer: FakeTimer = { id: this.timers.length + 1, fn, ms, cleared: false, fired: false };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    const timer = this.timers.find((t) => t.id === handle);
    if (timer) timer.cleared = true;
  }

  /** Timers set and neither cleared nor fired. */
  get armed(): FakeTimer[] {
    return this.timers.filter((t) => !t.cleared && !t.fired);
  }

  /** Moves time to the armed timer's deadline and fires it. */
  fireArmed(): void {
    const [timer, ...others] = this.armed;
    expect(timer, 'a timer is armed').toBeDefined();
    expect(others).toHaveLength(0);
    timer!.fired = true;
    this.time += timer!.ms;
    timer!.fn();
  }
}

const always = (): boolean => true;

function setup(): { clock: FakeClock; queue: ExpiryQueue; dueCalls: () => number } {
  const clock = new FakeClock();
  let calls = 0;
  const queue = new ExpiryQueue(clock, () => calls++);
  return { clock, queue, dueCalls: () => calls };
}

describe('ExpiryQueue', () => {
  it('pops the keys whose deadline has passed, earliest first, and keeps the rest', () => {
    const { clock, queue } = setup();
    const t = clock.time;
    queue.schedule('c', t + 300);
    queue.schedule('a', t + 100);
    queue.schedule('late', t + 1000);
    queue.schedule('b', t + 200);
    queue.schedule('now', t);
    clock.time = t + 300;
    expect(queue.popDue(always)).toEqual(['now', 'a', 'b', 'c']);
    expect(queue.size).toBe(1);
    expect(queue.popDue(always)).toEqual([]);
    clock.time = t + 1000;
    expect(queue.popDue(always)).toEqual(['late']);
    expect(queue.size).toBe(0);
  });

  it('pops any set of deadlines in deadline order (a heap, checked against a sort)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 200 }), fc.integer({ min: 0, max: 1000 }), (offsets, cut) => {
        const { clock, queue } = setup();
        const base = clock.time;
        const deadlines = new Map<string, number>();
        offsets.forEach((offset, i) => {
          deadlines.set(`k${i}`, base + offset);
          queue.schedule(`k${i}`, base + offset);
        });
        clock.time = base + cut;
        const due = queue.popDue(always);
        const expected = [...deadlines].filter(([, at]) => at <= base + cut).map(([key]) => key);
        expect([...due].sort()).toEqual(expected.sort());
        const ats = due.map((key) => deadlines.get(key)!);
        expect(ats).toEqual([...ats].sort((a, b) => a - b));
        expect(queue.size).toBe(offsets.length - due.length);
      }),
      { numRuns: 200 },
    );
  });

  it('skips stale entries: only a deadline the owner says is current is popped', () => {
    const { clock, queue } = setup();
    const t = clock.time;
    const current = new Map<string, number>();
    const schedule = (key: string, at: number) => (current.set(key, at), queue.schedule(key, at));
    const isCurrent = (key: string, at: number) => current.get(key) === at;
    schedule('moved', t + 100);
    schedule('moved', t + 400); // the TTL was changed: the first entry goes stale
    schedule('kept', t + 200);
    schedule('removed', t + 150);
    current.delete('removed'); // the TTL was removed
    const asked: Array<[string, number]> = [];
    clock.time = t + 300;
    expect(
      queue.popDue((key, at) => {
        asked.push([key, at]);
        return isCurrent(key, at);
      }),
    ).toEqual(['kept']);
    expect(asked).toEqual([
      ['moved', t + 100],
      ['removed', t + 150],
      ['kept', t + 200],
    ]);
    expect(queue.size).toBe(1);
    clock.time = t + 400;
    expect(queue.popDue(isCurrent)).toEqual(['moved']);
  });

  it('arms one timer for many keys, for the earliest deadline', () => {
    const { clock, queue } = setup();
    const t = clock.time;
    for (let i = 0; i < 100; i++) queue.schedule(`k${i}`, t + 500 + i);
    expect(clock.timers).toHaveLength(1);
    expect(clock.armed[0]?.ms).toBe(500);
  });

  it('re-arms earlier when an earlier deadline arrives, and not for a later one', () => {
    const { clock, queue } = setup();
    const t = clock.time;
    queue.schedule('a', t + 500);
    const first = clock.armed[0]!;
    queue.schedule('later', t + 900);
    expect(clock.timers).toHaveLength(1);
    queue.schedule('earlier', t + 50);
    expect(first.cleared).toBe(true);
    expect(clock.armed).toHaveLength(1);
    expect(clock.armed[0]?.ms).toBe(50);
    queue.schedule('same', t + 50);
    expect(clock.timers).toHaveLength(2);
  });

  it('calls onDue when the timer fires, and popDue re-arms for the next deadline', () => {
    const { clock, queue, dueCalls } = setup();
    const t = clock.time;
    queue.schedule('a', t + 100);
    queue.schedule('b', t + 250);
    clock.fireArmed();
    expect(dueCalls()).toBe(1);
    expect(clock.time).toBe(t + 100);
    expect(queue.popDue(always)).toEqual(['a']);
    expect(clock.armed).toHaveLength(1);
    expect(clock.armed[0]?.ms).toBe(150);
    clock.fireArmed();
    expect(dueCalls()).toBe(2);
    expect(queue.popDue(always)).toEqual(['b']);
    expect(clock.armed).toHaveLength(0);
  });

  it('arms a timer again when a key is scheduled after the timer fired', () => {
    const { clock, queue, dueCalls } = setup();
    const t = clock.time;
    queue.schedule('a', t + 10);
    clock.fireArmed();
    expect(dueCalls()).toBe(1);
    // onDue has not popped yet: the next schedule must still leave a timer armed for 'a'.
    queue.schedule('b', t + 1000);
    expect(clock.armed).toHaveLength(1);
    expect(clock.armed[0]?.ms).toBe(0);
  });

  it('arms with delay 0 for a deadline already past', () => {
    const { clock, queue } = setup();
    queue.schedule('past', clock.time - 5000);
    expect(clock.armed[0]?.ms).toBe(0);
  });

  it('caps a delay above 2^31 - 1 ms (setTimeout would fire at once), and re-arms when it fires early', () => {
    const { clock, queue } = setup();
    const t = clock.time;
    const far = t + 2 ** 40;
    queue.schedule('far', far);
    expect(clock.armed[0]?.ms).toBe(2 ** 31 - 1);
    clock.fireArmed();
    expect(queue.popDue(always)).toEqual([]);
    expect(clock.armed).toHaveLength(1);
    expect(clock.armed[0]?.ms).toBe(Math.min(2 ** 31 - 1, far - clock.time));
    expect(queue.size).toBe(1);
  });

  it('compact leaves a small heap alone, even when every entry is stale', () => {
    const { queue } = setup();
    for (let i = 0; i < 1023; i++) queue.schedule(`k${i}`, i);
    queue.compact(0, () => false);
    expect(queue.size).toBe(1023);
  });

  it('compact leaves a heap alone while live keys are more than half of it', () => {
    const { queue } = setup();
    for (let i = 0; i < 2000; i++) queue.schedule(`k${i}`, i);
    queue.compact(1001, (key) => Number(key.slice(1)) % 2 === 0);
    expect(queue.size).toBe(2000);
  });

  it('compact drops stale entries past its thresholds, and the heap still pops in order', () => {
    const { clock, queue } = setup();
    const t = clock.time;
    const current = new Map<string, number>();
    // 2000 entries: each key scheduled twice, only the second deadline is current.
    for (let i = 999; i >= 0; i--) {
      queue.schedule(`k${i}`, t + 5000 + i);
      queue.schedule(`k${i}`, t + 10 * i);
      current.set(`k${i}`, t + 10 * i);
    }
    const isCurrent = (key: string, at: number) => current.get(key) === at;
    expect(queue.size).toBe(2000);
    queue.compact(1000, isCurrent);
    expect(queue.size).toBe(1000);
    clock.time = t + 10 * 999;
    const due = queue.popDue(always); // no stale entries left, so every one popped is current
    expect(due).toEqual(Array.from({ length: 1000 }, (_, i) => `k${i}`));
  });

  it('clear forgets every deadline and disarms the timer', () => {
    const { clock, queue } = setup();
    const t = clock.time;
    queue.schedule('a', t + 100);
    queue.schedule('b', t + 200);
    const armed = clock.armed[0]!;
    queue.clear();
    expect(armed.cleared).toBe(true);
    expect(clock.armed).toHaveLength(0);
    expect(queue.size).toBe(0);
    clock.time = t + 1000;
    expect(queue.popDue(always)).toEqual([]);
    // A later schedule arms afresh, even for a deadline later than the old one.
    queue.schedule('c', t + 2000);
    expect(clock.armed).toHaveLength(1);
    expect(clock.armed[0]?.ms).toBe(1000);
  });
});
