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
    // Shared memory is refused at the call (the serializer meets it), naming the key.
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

// The large value travels as the bytes of its V8 serialization, which the store
// decodes itself and need not search for shared memory (issue #10, item 6).
describe('the value of a large set, as bytes the store decodes', () => {
  const VALUES = new URL('./fixtures/large-values-worker.mjs', import.meta.url);

  /** What the store kept is what a structured clone of each value gives (the copy kvbus promises). */
  async function expectStoredAsCloned(store: { get(key: string): Promise<unknown> }): Promise<void> {
    const { largeValues } = await import('./fixtures/large-values.mjs');
    for (const [key, value] of Object.entries(largeValues())) {
      const stored = (await store.get(key)) as any;
      const cloned = structuredClone(value) as any;
      expect(stored, key).toEqual(cloned);
      expect(Object.getPrototypeOf(stored), key).toBe(Object.getPrototypeOf(cloned));
    }
    const views = (await store.get('fid:views')) as any;
    expect(views.u8.buffer).toBe(views.f64.buffer);
    expect(views.u8.buffer).toBe(views.dv.buffer);
    expect([views.u8.byteOffset, views.u8.buffer.byteLength, views.u8[0]]).toEqual([16, 64 * 1024, 7]);
    expect(((await store.get('fid:buffer')) as object).constructor).toBe(Uint8Array);
    const { error } = (await store.get('fid:error')) as { error: RangeError };
    expect([error instanceof RangeError, error.cause]).toEqual([true, { code: 42 }]);
    const cyclic = (await store.get('fid:cyclic')) as any;
    expect([cyclic.self === cyclic, cyclic.list[0] === cyclic, cyclic.list[1].back === cyclic]).toEqual([true, true, true]);
    const protokey = (await store.get('fid:protokey')) as any;
    expect(Object.keys(protokey)).toEqual(['__proto__', 'pad']);
    expect([Object.getPrototypeOf(protokey), ({} as any).polluted]).toEqual([Object.prototype, undefined]);
    const sparse = (await store.get('fid:sparse')) as unknown[];
    expect([sparse.length, 1 in sparse, 4 in sparse]).toEqual([6, false, false]);
  }

  it('from a worker: Maps, Sets, Dates, RegExps, BigInts, views sharing a buffer, Buffers, errors, cycles, null prototypes and __proto__ keys are kept as a structured clone keeps them', async () => {
    const store = res.store();
    const worker = res.worker(new Worker(VALUES));
    store.attach(worker);
    const { failed } = await messageFrom<{ failed: string[] }>(worker, (m) => m?.type === 'result', 'the sets');
    expect(failed).toEqual([]);
    await expectStoredAsCloned(store);
  });

  it('from a child process: the same, over its IPC channel', async () => {
    const store = res.store();
    const child = res.child(store.fork(fileURLToPath(VALUES)));
    const { failed } = await messageFrom<{ failed: string[] }>(child, (m) => m?.type === 'result', 'the sets');
    expect(failed).toEqual([]);
    await expectStoredAsCloned(store);
  });

  it('a client that claims its value is bytes cannot get shared memory past the store', async () => {
    const store = res.store();
    const worker = res.worker(new Worker(new URL('./fixtures/forged-set-worker.mjs', import.meta.url)));
    store.attach(worker);
    const { replies } = await messageFrom<{ replies: Record<string, { ok: boolean; code?: string; message?: string }> }>(
      worker,
      (m) => m?.type === 'result',
      'the replies',
    );
    // Not bytes: the decoder refuses it, naming the key.
    expect(replies[1]).toMatchObject({ ok: false, code: 'ERR_NOT_CLONEABLE', message: expect.stringContaining('key "forged:view"') });
    // Not claimed: the walk finds the shared memory (a marker cannot come from the wire).
    expect(replies[2]).toMatchObject({
      ok: false,
      code: 'ERR_NOT_CLONEABLE',
      message: expect.stringMatching(/"forged:named".*SharedArrayBuffer/),
    });
    // The claim covers one request: the next one is walked.
    expect(replies[3]).toMatchObject({ ok: true });
    expect(replies[4]).toMatchObject({
      ok: false,
      code: 'ERR_NOT_CLONEABLE',
      message: expect.stringMatching(/"forged:second".*SharedArrayBuffer/),
    });
    // Bytes on shared memory: what the store decodes from them is its own.
    expect(replies[5]).toMatchObject({ ok: true });
    expect(replies[6]).toMatchObject({ ok: false, code: 'ERR_NOT_CLONEABLE', message: expect.stringContaining('key "forged:garbage"') });
    expect(await store.get('forged:first')).toEqual({ ok: 1 });
    expect(await store.get('forged:copied')).toEqual({ n: [1, 2, 3] });
    for (const key of ['forged:view', 'forged:named', 'forged:second', 'forged:garbage']) expect(await store.has(key)).toBe(false);
  });
});
