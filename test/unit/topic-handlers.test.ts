import { describe, expect, it } from 'vitest';
import { observeTopic } from '../../src/api/topic-observables.js';
import type { SubEvent } from '../../src/commands/events.js';
import type { Link, SubscriptionHandlers } from '../../src/commands/link.js';
import { SharedTopics } from '../../src/streams/client-end/shared-topics.js';

/** A link that only records its subscriptions, so a test can deliver to them by hand. */
function recordingLink() {
  const subs: SubscriptionHandlers[] = [];
  const link = {
    subscribe(_topic: unknown, handlers: SubscriptionHandlers) {
      subs.push(handlers);
      return () => subs.splice(subs.indexOf(handlers), 1);
    },
  } as unknown as Link;
  return { link, subs };
}

const message = (data: unknown): SubEvent => ({ type: 'message', channel: 'c', data });

describe('observeTopic', () => {
  it('each value a map emits reaches its own subscriber, even when an observer causes another delivery in between', () => {
    const { link, subs } = recordingLink();
    // Each event is emitted twice: a delivery nested inside the first emit must not redirect the second.
    const twice = (event: SubEvent, next: (value: unknown) => void) => {
      if (event.type !== 'message') return;
      next(event.data);
      next(`${event.data}'`);
    };
    const a: unknown[] = [];
    const b: unknown[] = [];
    observeTopic(link, { kind: 'channel', name: 'b' }, twice, 'latest').subscribe((v) => b.push(v));
    observeTopic(link, { kind: 'channel', name: 'a' }, twice, 'latest').subscribe((v) => {
      a.push(v);
      if (v === 'x') subs[0]!.next(message('nested'));
    });
    subs[1]!.next(message('x'));
    expect(a).toEqual(['x', "x'"]);
    expect(b).toEqual(['nested', "nested'"]);
  });

  it('passes errors and completion on, and unsubscribing leaves the link', () => {
    const { link, subs } = recordingLink();
    const seen: string[] = [];
    const observable = observeTopic(link, { kind: 'channel', name: 'a' }, (e, next) => next(e), 'latest');
    const subscription = observable.subscribe({ error: () => seen.push('error'), complete: () => seen.push('complete') });
    expect(subs).toHaveLength(1);
    subscription.unsubscribe();
    expect(subs).toHaveLength(0);
    observable.subscribe({ error: (e) => seen.push(`error ${(e as Error).message}`) });
    subs[0]!.error(new Error('boom'));
    observable.subscribe({ complete: () => seen.push('complete') });
    subs[0]!.complete();
    expect(seen).toEqual(['error boom', 'complete']);
  });
});

describe('SharedTopics', () => {
  const handlers = (log: string[], name: string, leave?: () => void): SubscriptionHandlers => ({
    next: () => {
      log.push(name);
      leave?.();
    },
    error: () => {},
    complete: () => {},
  });

  for (const count of [3, 12]) {
    it(`an observer that leaves during a delivery does not make another miss it (${count} observers)`, () => {
      const topics = new SharedTopics();
      const topic = { kind: 'channel', name: 'c' } as const;
      const log: string[] = [];
      const all: SubscriptionHandlers[] = [];
      const { entry } = topics.add(topic, (all[0] = handlers(log, 'h0', () => topics.remove(entry, all[0]!))));
      for (let i = 1; i < count; i++) topics.add(topic, (all[i] = handlers(log, `h${i}`)));
      for (const h of entry.handlers) h.next(message(1));
      expect(log).toEqual(all.map((_, i) => `h${i}`));
      log.length = 0;
      for (const h of entry.handlers) h.next(message(2));
      expect(log).toEqual(all.slice(1).map((_, i) => `h${i + 1}`));
    });
  }

  it('drops the topic when its last observer leaves, and adds an observer once', () => {
    const topics = new SharedTopics();
    const topic = { kind: 'channel', name: 'c' } as const;
    const h = handlers([], 'h');
    const { entry, added } = topics.add(topic, h);
    expect(added).toBe(true);
    expect(topics.add(topic, h).added).toBe(false);
    expect([...entry.handlers]).toHaveLength(1);
    expect(topics.remove(entry, h)).toBe(true);
    expect(topics.size).toBe(0);
    expect(topics.get(entry.sid)).toBeUndefined();
  });
});
