// createStore's options are checked where they are given (a synchronous
// ERR_BAD_ARGUMENT in the "Expected `x` to be …, got …" form), and getStore's
// process-wide default store. What a store does with bad input is in the
// conformance suite (test/conformance/suite.ts, "bad input").
import { describe, expect, it } from 'vitest';
import { createStore, getStore, type MainStore } from '../../src/index.js';
import { expectThrowsCode } from '../helpers/errors.js';
import { useStores } from '../helpers/use-stores.js';

const { stores } = useStores();

describe('createStore options', () => {
  const FORM = /^Expected `[A-Za-z.]+` to be .+, got .+$/;
  it.each([
    ['namespace: ""', { namespace: '' }, 'namespace'],
    ['namespace: 42', { namespace: 42 }, 'namespace'],
    ["copy: 'yes'", { copy: 'yes' }, 'copy'],
    ['requestTimeoutMs: -1', { requestTimeoutMs: -1 }, 'requestTimeoutMs'],
    ['requestTimeoutMs: NaN', { requestTimeoutMs: Number.NaN }, 'requestTimeoutMs'],
    ['requestTimeoutMs: "10"', { requestTimeoutMs: '10' }, 'requestTimeoutMs'],
    ['subscriberBuffer: { size: 0 }', { subscriberBuffer: { size: 0 } }, 'subscriberBuffer.size'],
    ['subscriberBuffer: { size: 1.5 }', { subscriberBuffer: { size: 1.5 } }, 'subscriberBuffer.size'],
    ["subscriberBuffer: { overflow: 'nope' }", { subscriberBuffer: { overflow: 'nope' } }, 'subscriberBuffer.overflow'],
    ['backend: {}', { backend: {} }, 'backend'],
    ['backend: 1', { backend: 1 }, 'backend'],
    ['onError: 1', { onError: 1 }, 'onError'],
  ])('rejects %s with ERR_BAD_ARGUMENT and an "Expected `x` to be …, got …" message', (_l, options, name) => {
    const error = expectThrowsCode(() => stores.push(createStore(options as any)), 'ERR_BAD_ARGUMENT', FORM);
    expect(error.message.startsWith(`Expected \`${name}\` to be `)).toBe(true);
  });

  it('rejects options that are not an object', () => {
    expectThrowsCode(() => stores.push(createStore('fast' as any)), 'ERR_BAD_ARGUMENT', FORM);
  });

  it('accepts valid options', async () => {
    const store = createStore({
      namespace: 'app',
      copy: false,
      requestTimeoutMs: 1000,
      subscriberBuffer: { size: 5, overflow: 'error' },
      onError: () => {},
    });
    stores.push(store);
    expect(store.namespace).toBe('app');
    await store.set('k', 1);
    expect(await store.get('k')).toBe(1);
  });
});

describe('getStore', () => {
  it('returns the same default store twice, and a new one after it was closed', async () => {
    const first = getStore() as MainStore;
    try {
      expect(getStore()).toBe(first);
      await first.set('k', 1);
      expect(await getStore().get('k')).toBe(1);
    } finally {
      await first.close();
    }
    const second = getStore() as MainStore;
    try {
      expect(second).not.toBe(first);
      expect(getStore()).toBe(second);
      expect(await second.get('k')).toBeUndefined();
    } finally {
      await second.close();
    }
  });
});
