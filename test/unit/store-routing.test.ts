import { describe, expect, it, vi } from 'vitest';
import { Router, type Sink } from '../../src/actors/router.js';
import type { SubEvent } from '../../src/commands/events.js';
import { createStore } from '../../src/index.js';
import type { KeyChange, Topic } from '../../src/types.js';
import { useStores } from '../helpers/use-stores.js';

// Every matcher compileGlob hands out is wrapped to count its calls, per glob.
const globCalls = vi.hoisted(() => new Map<string, number>());
vi.mock('../../src/glob.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/glob.js')>();
  return {
    ...original,
    compileGlob: (glob: string) => {
      const match = original.compileGlob(glob);
      return (subject: string) => {
        globCalls.set(glob, (globCalls.get(glob) ?? 0) + 1);
        return match(subject);
      };
    },
  };
});

const { newStore } = useStores(createStore, { beforeClose: () => globCalls.clear() });

interface CountingSink extends Sink {
  calls: number;
  events: SubEvent[];
}
function countingSink(): CountingSink {
  const sink: CountingSink = {
    calls: 0,
    events: [],
    deliver(event) {
      sink.calls++;
      sink.events.push(event);
    },
  };
  return sink;
}
const channel = (name: string): Topic => ({ kind: 'channel', name });
const pattern = (name: string): Topic => ({ kind: 'pattern', name });
const key = (name: string): Topic => ({ kind: 'key', name });
const changes = (name: string): Topic => ({ kind: 'changes', name });
const sum = (sinks: CountingSink[]) => sinks.reduce((n, s) => n + s.calls, 0);

/**
 * Counts the steps taken by every Map, Set and Array iterator (and forEach)
 * while `fn` runs: a measure of work that does not depend on time.
 */
function countIterationSteps(fn: () => void): number {
  let steps = 0;
  const restores: Array<() => void> = [];
  const wrapIterator = (proto: object, name: PropertyKey) => {
    const original = Reflect.get(proto, name) as (this: unknown, ...args: unknown[]) => Iterator<unknown>;
    Reflect.set(proto, name, function (this: unknown, ...args: unknown[]) {
      const it = original.apply(this, args);
      return {
        next: () => {
          const r = it.next();
          if (!r.done) steps++;
          return r;
        },
        [Symbol.iterator]() {
          return this;
        },
      };
    });
    restores.push(() => Reflect.set(proto, name, original));
  };
  const wrapForEach = (proto: object) => {
    const original = Reflect.get(proto, 'forEach') as (this: unknown, cb: (...a: unknown[]) => void, thisArg?: unknown) => void;
    Reflect.set(proto, 'forEach', function (this: unknown, cb: (...a: unknown[]) => void, thisArg?: unknown) {
      return original.call(this, (...a: unknown[]) => (steps++, cb.apply(thisArg, a)));
    });
    restores.push(() => Reflect.set(proto, 'forEach', original));
  };
  for (const proto of [Map.prototype, Set.prototype, Array.prototype]) {
    for (const name of ['values', 'keys', 'entries', Symbol.iterator]) wrapIterator(proto, name);
    wrapForEach(proto);
  }
  let counted: number;
  try {
    fn();
  } finally {
    counted = steps; // before restoring: the restore loop itself iterates
    for (let i = restores.length - 1; i >= 0; i--) restores[i]!();
  }
  return counted;
}

describe('routing, not filtering', () => {
  it('publishing to a channel calls deliver exactly on that channel’s sinks, among 10 000 other channels', () => {
    const router = new Router();
    const others: CountingSink[] = [];
    for (let i = 0; i < 10_000; i++) {
      const sink = countingSink();
      others.push(sink);
      router.add(channel(`other-${i}`), sink);
    }
    const mine = [countingSink(), countingSink(), countingSink()];
    for (const sink of mine) router.add(channel('X'), sink);

    expect(router.publish('X', 'hello')).toBe(3);
    expect(mine.map((s) => s.calls)).toEqual([1, 1, 1]);
    expect(mine[0]!.events).toEqual([{ type: 'message', channel: 'X', data: 'hello' }]);
    expect(sum(others)).toBe(0);

    expect(router.publish('nobody-here', 1)).toBe(0);
    expect(sum(others) + sum(mine)).toBe(3);
  });

  it('the work of a publish does not grow with the number of other channels', () => {
    const steps = (otherChannels: number): number => {
      const router = new Router();
      for (let i = 0; i < otherChannels; i++) router.add(channel(`other-${i}`), countingSink());
      router.add(channel('X'), countingSink());
      router.add(channel('X'), countingSink());
      return countIterationSteps(() => router.publish('X', 1));
    };
    const alone = steps(0);
    expect(steps(10_000)).toBe(alone);
    expect(alone).toBeLessThanOrEqual(2 + 2); // the channel's two sinks, and a little bookkeeping
  });

  it('a key change is delivered only to that key’s watchers', () => {
    const router = new Router();
    const others: CountingSink[] = [];
    for (let i = 0; i < 10_000; i++) {
      const sink = countingSink();
      others.push(sink);
      router.add(key(`k-${i}`), sink);
    }
    const mine = countingSink();
    router.add(key('mine'), mine);
    const change: KeyChange = { type: 'set', key: 'mine', value: 1, revision: 1 };
    const steps = countIterationSteps(() => router.change(change));
    expect(mine.calls).toBe(1);
    expect(sum(others)).toBe(0);
    expect(steps).toBeLessThan(10);
  });

  it('a clear reaches every watcher and every changes glob', () => {
    const router = new Router();
    const watchers = [countingSink(), countingSink()];
    router.add(key('a'), watchers[0]!);
    router.add(key('b'), watchers[1]!);
    const globs = [countingSink(), countingSink()];
    router.add(changes('x*'), globs[0]!);
    router.add(changes('y'), globs[1]!);
    const channelSink = countingSink();
    router.add(channel('a'), channelSink);
    router.change({ type: 'clear', key: '*', revision: 1 });
    expect([...watchers, ...globs].map((s) => s.calls)).toEqual([1, 1, 1, 1]);
    expect(channelSink.calls).toBe(0);
  });

  it('patterns are tried once per distinct glob sharing the channel’s prefix, not once per subscriber', () => {
    const router = new Router();
    const news = Array.from({ length: 50 }, countingSink);
    const sport = Array.from({ length: 50 }, countingSink);
    for (const sink of news) router.add(pattern('news.*'), sink);
    for (const sink of sport) router.add(pattern('sport.*'), sink);
    for (let i = 0; i < 1000; i++) router.add(channel(`ch-${i}`), countingSink());
    globCalls.clear();

    expect(router.publish('news.today', 'n')).toBe(50);
    expect(Object.fromEntries(globCalls)).toEqual({ 'news.*': 1 });
    expect(sum(news)).toBe(50);
    expect(sum(sport)).toBe(0);
  });

  it('changes globs are tried once per distinct glob sharing the key’s prefix, not once per subscriber', () => {
    const router = new Router();
    const users = Array.from({ length: 20 }, countingSink);
    const orders = Array.from({ length: 20 }, countingSink);
    for (const sink of users) router.add(changes('user:*'), sink);
    for (const sink of orders) router.add(changes('order:*'), sink);
    globCalls.clear();
    router.change({ type: 'delete', key: 'user:1', revision: 3 });
    expect(Object.fromEntries(globCalls)).toEqual({ 'user:*': 1 });
    expect(sum(users)).toBe(20);
    expect(sum(orders)).toBe(0);
  });

  it('a topic whose last sink left is forgotten (no leftover work)', () => {
    const router = new Router();
    const sinks = Array.from({ length: 100 }, countingSink);
    for (const [i, sink] of sinks.entries()) router.add(pattern(`p${i}*`), sink);
    for (const [i, sink] of sinks.entries()) router.remove(pattern(`p${i}*`), sink);
    expect(router.size).toBe(0);
    globCalls.clear();
    expect(router.publish('p1x', 1)).toBe(0);
    expect(globCalls.size).toBe(0);
  });

  it('reports the first sink of a topic and the last one to leave', () => {
    const router = new Router();
    const a = countingSink();
    const b = countingSink();
    expect(router.add(channel('c'), a)).toBe(true);
    expect(router.add(channel('c'), b)).toBe(false);
    expect(router.size).toBe(2);
    expect(router.remove(channel('c'), a)).toBe(false);
    expect(router.remove(channel('c'), a)).toBe(false);
    expect(router.remove(channel('c'), b)).toBe(true);
    expect(router.size).toBe(0);
  });
});

describe('routing through the store', () => {
  it('with 10 000 other subscribed channels, a publish reaches only its own subscriber', async () => {
    const store = newStore();
    let otherCalls = 0;
    for (let i = 0; i < 10_000; i++) store.channel(`other-${i}`).subscribe(() => otherCalls++);
    const mine: unknown[] = [];
    store.channel('X').subscribe((d) => mine.push(d));
    expect(await store.publish('X', 42)).toBe(1);
    expect(mine).toEqual([42]);
    expect(otherCalls).toBe(0);
    expect((await store.stats()).subscriptions).toBe(10_001);
  });
});
