import { createRequire } from 'node:module';
import * as esm from 'kvbus';
import { afterEach, describe, expect, it } from 'vitest';

// Both builds of kvbus can be loaded in one process (an ESM app with a CJS
// dependency that also uses kvbus): they must share one default store.
const cjs = createRequire(import.meta.url)('kvbus') as typeof esm;

describe('the ESM and CJS builds in one process', () => {
  afterEach(async () => {
    await esm.getStore().close();
  });

  it('are two different module instances', () => {
    expect(cjs.getStore).not.toBe(esm.getStore);
  });

  it('share one default store', async () => {
    const fromEsm = esm.getStore();
    const fromCjs = cjs.getStore();
    expect(fromCjs).toBe(fromEsm);
    await fromEsm.set('shared', 1);
    expect(await fromCjs.get('shared')).toBe(1);
  });

  it("recognise each other's errors by code", async () => {
    const error = await cjs
      .getStore()
      .get('')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(cjs.KvbusError);
    expect(error).not.toBeInstanceOf(esm.KvbusError);
    expect(esm.isKvbusError(error)).toBe(true);
    expect((error as esm.KvbusError).code).toBe('ERR_BAD_KEY');
  });
});
