// The near cache of child processes (SPEC §7): no shared memory, so the store sends
// invalidations in order with its replies and events; every read is at least as
// fresh as the last message the child received from the store (causal).
import { afterEach, describe, expect, it } from 'vitest';
import { fixturePath } from '../helpers/fixtures.js';
import { messageFrom } from '../helpers/processes.js';
import { Resources } from '../helpers/resources.js';
import { nextValue } from '../helpers/wait.js';

const CHILD = fixturePath('cache-child.mjs');

const res = new Resources();
afterEach(() => res.cleanup());

describe('near cache in child processes', () => {
  it('answers reads from the cache, with copies, and counts them', async () => {
    const store = res.store();
    const revision = await store.set('cb:k', { n: 1 });
    const child = res.child(store.fork(CHILD, ['basics', 'cb:k'], { cache: { keys: 'cb:*' } }));
    const r = await messageFrom<{ first: unknown; third: unknown; has: boolean; cache: Record<string, number> }>(child, () => true);
    expect(r.first).toEqual({ n: 1 });
    expect(r.third).toEqual({ value: { n: 1 }, revision });
    expect(r.has).toBe(true);
    // The first read left before the store's first message (which turns the cache on): it went to the store, uncounted.
    expect(r.cache).toEqual({ hits: 2, misses: 1, evictions: 0, entries: 1 });
  });

  it('is causal: after a message published behind a write, the child reads that write, even from its cache', async () => {
    const store = res.store();
    await store.set('cz:k', 0);
    const rounds = 400;
    const ready = nextValue(store.channel<number>('cz:ready'), () => true, 'the child to subscribe');
    const child = res.child(store.fork(CHILD, ['causal', 'cz:k', String(rounds)], { cache: { keys: 'cz:*' } }));
    const report = messageFrom<{ stale: number; reads: number; cache: { hits: number } }>(child, () => true, "the child's report", 30_000);
    await ready;
    for (let i = 1; i <= rounds; i++) {
      await store.set('cz:k', i);
      await store.publish('cz:tick', i);
      // Let the child's fills interleave with the writes.
      if (i % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const r = await report;
    expect(r.stale).toBe(0);
    expect(r.cache.hits).toBeGreaterThan(0);
  });

  it('drops everything on clear, before the messages published after it', async () => {
    const store = res.store();
    await store.set('cc:k', 'v');
    const ready = nextValue(store.channel<number>('cc:ready'), () => true, 'the child to subscribe');
    const child = res.child(store.fork(CHILD, ['clear', 'cc:k'], { cache: { keys: 'cc:*' } }));
    const report = messageFrom<{ before: unknown[]; after: unknown; cache: { hits: number } }>(child, () => true);
    await ready;
    await store.clear();
    await store.publish('cc:cleared', true);
    const r = await report;
    expect(r.before).toEqual(['v', 'v']);
    expect(r.after).toBeUndefined();
    expect(r.cache.hits).toBeGreaterThanOrEqual(1);
  });

  it("never answers from the cache a read issued behind the child's own unanswered write (get, getEntry, has, transaction, clear)", async () => {
    const store = res.store();
    const child = res.child(store.fork(CHILD, ['own', 'co:k'], { cache: { keys: 'co:*' } }));
    const r = await messageFrom<Record<string, unknown>>(child, () => true);
    expect(r).toMatchObject({ get: 'new', getEntry: 'entry', has: false, incr: 11, transaction: 'tx', clear: undefined });
    // Each write's key was a hit just before: the reads above would have been hits too.
    expect((r.cache as { hits: number }).hits).toBeGreaterThanOrEqual(6);
  });
});
