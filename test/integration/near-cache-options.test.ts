// The `cache` option of createPool, store.attach and store.fork: checked, and a plain attached Worker gets it too.
import { Worker } from 'node:worker_threads';
import { createPool, KvbusError } from 'kvbus';
import { afterEach, describe, expect, it } from 'vitest';
import { fixturePath, fixtureUrl } from '../helpers/fixtures.js';
import { messageFrom } from '../helpers/processes.js';
import { Resources } from '../helpers/resources.js';

const TASKS = fixtureUrl('cache-tasks.mjs').href;

const res = new Resources();
afterEach(() => res.cleanup());

const BAD: Array<[unknown, RegExp]> = [
  [null, /`cache` to be \{ keys, maxEntries\? \}/],
  ['k:*', /`cache` to be \{ keys, maxEntries\? \}/],
  [{}, /`cache\.keys`/],
  [{ keys: '' }, /`cache\.keys`/],
  [{ keys: [] }, /`cache\.keys`/],
  [{ keys: ['a', 3] }, /`cache\.keys`/],
  [{ keys: 'a', maxEntries: 0 }, /`cache\.maxEntries` to be a positive safe integer, got .*0/],
  [{ keys: 'a', maxEntries: 1.5 }, /`cache\.maxEntries`/],
  [{ keys: 'a', maxEntries: '10' }, /`cache\.maxEntries`/],
];

function expectBad(run: () => unknown, message: RegExp): void {
  let error: unknown;
  try {
    run();
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(KvbusError);
  expect((error as KvbusError).code).toBe('ERR_BAD_ARGUMENT');
  expect((error as KvbusError).message).toMatch(message);
}

describe('cache option', () => {
  it.each(BAD)('createPool refuses cache %j, naming the field', (cache, message) => {
    const store = res.store();
    expectBad(() => createPool({ store, filename: TASKS, cache: cache as never }), message);
  });

  it('attach and fork refuse a bad cache before starting anything', async () => {
    const store = res.store();
    const worker = res.worker(new Worker('process.exit(0)', { eval: true }));
    expectBad(() => store.attach(worker, { cache: { keys: [] } }), /`cache\.keys`/);
    expectBad(() => store.fork(fixturePath('cache-child.mjs'), [], { cache: { keys: 'a', maxEntries: -1 } }), /`cache\.maxEntries`/);
    await expect(store.stats()).resolves.toMatchObject({ clients: 0 });
  });

  it('gives an attached plain Worker its cache: getStore() there needs no change', async () => {
    const store = res.store();
    await store.set('w:k', 'v');
    const source = `
      const { parentPort } = require('node:worker_threads');
      const { getStore } = require(${JSON.stringify(fixturePath('../../dist/index.cjs'))});
      const store = getStore();
      (async () => {
        const values = [store.sync.get('w:k'), store.sync.get('w:k'), await store.get('w:k')];
        parentPort.postMessage({ values, cache: (await store.stats()).cache });
      })();`;
    const worker = res.worker(new Worker(source, { eval: true }));
    store.attach(worker, { cache: { keys: 'w:*' } });
    const r = await messageFrom<{ values: unknown[]; cache: { hits: number } }>(worker, (m) => m?.values !== undefined);
    expect(r.values).toEqual(['v', 'v', 'v']);
    // The first read may leave before the store has served the worker's hello (no settings yet): then it is sent as it is, uncounted.
    expect(r.cache).toMatchObject({ misses: 1, evictions: 0, entries: 1 });
    expect(r.cache.hits).toBeGreaterThanOrEqual(1);
  });

  it('answers nothing from the cache once the worker is detached (writes no longer reach it)', async () => {
    const store = res.store();
    await store.set('w:k', 'v');
    const source = `
      const { parentPort } = require('node:worker_threads');
      const { getStore } = require(${JSON.stringify(fixturePath('../../dist/index.cjs'))});
      const store = getStore();
      store.sync.has('warm:up');
      const cached = [store.sync.get('w:k'), store.sync.get('w:k')];
      // The subscription errs when the link to the store is gone.
      store.channel('any').subscribe({
        error: () => {
          let after;
          try {
            after = { value: store.sync.get('w:k') };
          } catch (error) {
            after = { code: error.code };
          }
          parentPort.postMessage({ cached, after });
        },
      });
      store.publish('any', 1).then(() => parentPort.postMessage({ subscribed: true }));`;
    const worker = res.worker(new Worker(source, { eval: true }));
    const detach = store.attach(worker, { cache: { keys: 'w:*' } });
    await messageFrom(worker, (m) => m?.subscribed === true);
    const report = messageFrom<{ cached: unknown[]; after: { code?: string; value?: unknown } }>(worker, (m) => m?.after !== undefined);
    detach();
    await store.set('w:k', 'changed');
    const r = await report;
    expect(r.cached).toEqual(['v', 'v']);
    expect(r.after).toEqual({ code: 'ERR_DISCONNECTED' });
  });
});
