// KeyvKvbus with no store given (getStore()) in pool workers and forked
// children: they share one cache with the main thread and with each other.
import { fileURLToPath } from 'node:url';
import Keyv from 'keyv';
import { createPool } from 'kvbus';
import { KeyvKvbus } from 'kvbus/keyv';
import { afterEach, describe, expect, it } from 'vitest';
import { messageFrom } from '../helpers/processes.js';
import { Resources } from '../helpers/resources.js';

const TASKS = new URL('./fixtures/keyv-tasks.mjs', import.meta.url);
const res = new Resources();
afterEach(() => res.cleanup());

type Lookup = { threadId: number; hit: boolean; value: unknown };

describe('KeyvKvbus across threads and processes', () => {
  it('a pool worker hits what another pool worker computed', async () => {
    const store = res.store();
    const pool = res.pool(createPool({ store, filename: TASKS.href, minThreads: 2, maxThreads: 2 }));
    const first = (await pool.run({ key: 'report', compute: { total: 42 } }, { name: 'lookup' })) as Lookup;
    expect(first.hit).toBe(false);
    // Two lookups that wait for each other hold both workers at once, so one of
    // them runs on the thread that did not compute the report.
    const second = (await Promise.all(
      [1, 2].map(() => pool.run({ key: 'report', barrier: 'meet', parties: 2 }, { name: 'lookup' })),
    )) as Lookup[];
    expect(new Set(second.map((r) => r.threadId)).size).toBe(2);
    const other = second.find((r) => r.threadId !== first.threadId);
    expect(other).toEqual({ threadId: expect.any(Number), hit: true, value: { total: 42 } });
    // The main thread reads the same entry, through its own Keyv on the same store.
    expect(await new Keyv({ store: new KeyvKvbus(store), namespace: 'shared' }).get('report')).toEqual({ total: 42 });
  });

  it('a forked child reads what the main thread cached, and its writes reach the main thread', async () => {
    const store = res.store();
    const keyv = new Keyv({ store: new KeyvKvbus(store), namespace: 'shared' });
    await keyv.set('config', { theme: 'dark' });
    const child = res.child(store.fork(fileURLToPath(TASKS), ['child', 'config']));
    expect(await messageFrom(child, (m) => typeof m === 'object' && m !== null && 'value' in m, "the child's read")).toEqual({
      value: { theme: 'dark' },
    });
    expect(await keyv.get('config:from-child')).toEqual({ pid: child.pid });
  });
});
