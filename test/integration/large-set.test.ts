// A worker's set of a large value is posted at the call (its one copy) instead
// of being cloned at the call and again when the batch leaves (issue #10, item
// 6). What must not change: a value mutated after set() is stored as it was;
// calls of the same tick keep their order; ERR_NOT_CLONEABLE names the key.
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { messageFrom } from '../helpers/processes.js';
import { Resources } from '../helpers/resources.js';

const res = new Resources();
afterEach(() => res.cleanup());

describe('a worker’s set of a large value', () => {
  it('stores what the value was at the call, in order with the calls around it, and names the key when it fails', async () => {
    const store = res.store();
    const worker = res.worker(new Worker(new URL('./fixtures/large-set-worker.mjs', import.meta.url)));
    store.attach(worker);
    const { results } = await messageFrom<{ results: Record<string, any> }>(worker, (m) => m?.type === 'result', 'the results');

    expect(results.mutated).toEqual({ tag: 'original', first: `item-0-${'x'.repeat(100)}`, length: 2000 });
    expect(((await store.get('mutated')) as { tag: string }).tag).toBe('original');

    expect(results.order).toEqual({ afterBig: 'big-a', afterSmall: 'small' });

    const [before, failed, after] = results.notCloneable;
    expect(before).toMatchObject({ ok: true, value: 1 });
    expect(failed).toMatchObject({ ok: false, name: 'KvbusError', code: 'ERR_NOT_CLONEABLE' });
    expect(failed.message).toContain('key "big:fn"');
    expect(after).toMatchObject({ ok: true, value: 2 });
    expect(results.notCloneableStored).toBe(false);

    expect(results.shared).toMatchObject({ ok: false, code: 'ERR_NOT_CLONEABLE' });
    expect(results.shared.message).toMatch(/key "big:sab".*SharedArrayBuffer/);
    expect(results.sharedStored).toBe(false);
  });
});
