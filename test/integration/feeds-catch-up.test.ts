// The catch-up of `changes(glob, { since })` against a backend whose history
// read answers later (as Redis does), while changes keep arriving meanwhile
// (as another process's writes do): the replay comes first, then the changes
// held during the read, none twice, none lost. The memory backend answers at
// once, so here it is wrapped: its history read waits a tick, and "another
// process" writes to it directly before and after taking the read.
import { describe, expect, it } from 'vitest';
import { type Backend, type ChangeEvent, createStore, memoryBackend } from '../../src/index.js';
import { record, sleep } from '../helpers/wait.js';

/** A memory backend whose history read answers a tick later, with writes from "elsewhere" before and after it. */
function laggingBackend(): { backend: Backend; elsewhere: (key: string, value: unknown) => void } {
  const inner = memoryBackend();
  const elsewhere = (key: string, value: unknown) => void inner.set(key, value, {});
  const changesSince = async (since: number, pattern: string | undefined) => {
    await sleep(0);
    elsewhere('during:1', 1); // written before the read: the replay carries it
    const replay = inner.changesSince(since, pattern);
    elsewhere('during:2', 2); // written after the read: only the held live event carries it
    await sleep(0);
    return replay;
  };
  // Every other member is the memory backend's own, called on it (its fields are private).
  const backend = new Proxy(inner, {
    get(target, property) {
      if (property === 'isAsync') return true;
      if (property === 'changesSince') return changesSince;
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { backend, elsewhere };
}

describe('changes(glob, { since }) catch-up', () => {
  it('delivers the replay, then the changes held during the read after its last revision: in order, none twice', async () => {
    const { backend } = laggingBackend();
    const store = createStore({ backend });
    try {
      // A plain subscriber makes the backend emit changes (watchingKeys).
      const all = record(store.changes('*'));
      await store.set('before:1', 1);
      await store.set('before:2', 2);
      const feed = record(store.changes('*', { since: 1 }));
      await store.stats();
      const last = await store.set('after', 3);
      await feed.some((e: ChangeEvent) => e.revision === last);
      const revisions = feed.values.map((e) => e.revision);
      expect(feed.values.map((e) => e.key)).toEqual(['before:2', 'during:1', 'during:2', 'after']);
      expect(revisions).toEqual([2, 3, 4, 5]);
      expect(all.values.map((e) => e.revision)).toEqual([1, 2, 3, 4, 5]);
    } finally {
      await store.close();
    }
  });
});
