import { createPool, createStore } from 'kvbus';
import { afterEach, describe, expect, it } from 'vitest';
import { fixtureUrl } from '../helpers/fixtures.js';
import { Resources } from '../helpers/resources.js';
import { waitForStats } from '../helpers/wait.js';

const res = new Resources();
afterEach(() => res.cleanup());

describe('Symbol.asyncDispose', () => {
  it('closes a main-thread store', async () => {
    const store = res.store();
    await store.set('a', 1);
    await store[Symbol.asyncDispose]();
    expect(store.closed).toBe(true);
    await expect(store.get('a')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('closes the store at the end of an `await using` scope', async () => {
    let outer: ReturnType<typeof createStore> | undefined;
    {
      await using store = createStore();
      outer = store;
      await store.set('a', 1);
      expect(store.closed).toBe(false);
    }
    expect(outer.closed).toBe(true);
  });

  it("closes a worker's connection, and the store sees the client go", async () => {
    const store = res.store();
    const pool = res.pool(createPool({ store, filename: fixtureUrl('conventions-tasks.mjs').href, maxThreads: 1, minThreads: 1 }));
    const after = await pool.run(undefined, { name: 'disposeClient' });
    expect(after).toBe('ERR_CLOSED');
    await waitForStats(store, (s) => s.clients === 0, 'the disposed client to leave');
  });
});

describe('for await from a real worker', () => {
  it('consumes a channel and breaks out; the store sees the subscription removed', async () => {
    const store = res.store();
    const pool = res.pool(createPool({ store, filename: fixtureUrl('conventions-tasks.mjs').href, maxThreads: 1, minThreads: 1 }));
    const task = pool.run({ channel: 'feed', stopAt: 3 }, { name: 'iterateChannel' });
    await waitForStats(store, (s) => s.subscriptions === 1, 'the worker to subscribe');
    for (let i = 1; i <= 5; i++) await store.publish('feed', i);
    expect(await task).toEqual([1, 2, 3]);
    await waitForStats(store, (s) => s.subscriptions === 0, "the worker's subscription to be removed");
    expect((await store.stats()).clients).toBe(1);
  });
});
