// A worker's set of a large value is posted at the call (its one copy) instead
// of being cloned at the call and again when the batch leaves (issue #10, item
// 6). What must not change: a value mutated after set() is stored as it was;
// calls of the same tick keep their order; ERR_NOT_CLONEABLE names the key.
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { messageFrom } from '../helpers/processes.js';
import { Resources } from '../helpers/resources.js';

const res = new Resources();
afterEach(() => res.cleanup());

type Results = Record<string, any>;

/** What every client that crosses a wire must show (see the fixture). */
async function expectOneCopySemantics(results: Results, store: { get(key: string): Promise<unknown> }): Promise<void> {
  expect(results.mutated).toEqual({ tag: 'original', first: `item-0-${'x'.repeat(100)}`, length: 2000 });
  expect(((await store.get('mutated')) as { tag: string }).tag).toBe('original');

  expect(results.order).toEqual({ afterBig: 'big-a', afterSmall: 'small' });

  const [before, failed, after] = results.notCloneable;
  expect(before).toMatchObject({ ok: true, value: 1 });
  expect(failed).toMatchObject({ ok: false, name: 'KvbusError', code: 'ERR_NOT_CLONEABLE' });
  expect(failed.message).toContain('key "big:fn"');
  expect(after).toMatchObject({ ok: true, value: 2 });
  expect(results.notCloneableStored).toBe(false);
}

const FIXTURE = new URL('./fixtures/large-set-worker.mjs', import.meta.url);

describe('a set of a large value over a wire', () => {
  it('from a worker: stores what the value was at the call, in order with the calls around it, and names the key when it fails', async () => {
    const store = res.store();
    const worker = res.worker(new Worker(FIXTURE));
    store.attach(worker);
    const { results } = await messageFrom<{ results: Results }>(worker, (m) => m?.type === 'result', 'the results');
    await expectOneCopySemantics(results, store);
    // Shared memory is refused by the store, which reads the post, naming the key.
    expect(results.shared).toMatchObject({ ok: false, code: 'ERR_NOT_CLONEABLE' });
    expect(results.shared.message).toMatch(/key "big:sab".*SharedArrayBuffer/);
    expect(results.sharedStored).toBe(false);
  });

  it('from a child process: the same (its IPC channel serializes at the call too)', async () => {
    const store = res.store();
    const child = res.child(store.fork(fileURLToPath(FIXTURE)));
    const { results } = await messageFrom<{ results: Results }>(child, (m) => m?.type === 'result', 'the results');
    await expectOneCopySemantics(results, store);
  });
});
