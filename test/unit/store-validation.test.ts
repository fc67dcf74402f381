import { describe, expect, it } from 'vitest';
import { createStore, getStore, isKvbusError, KvbusError, type MainStore } from '../../src/index.js';
import { useStores } from '../helpers/use-stores.js';

const { newStore, stores } = useStores();

/** Calls `call`, asserting it does not throw synchronously, and returns the error it rejects with. */
async function rejectionOf(call: () => Promise<unknown>): Promise<KvbusError> {
  let promise: Promise<unknown> | undefined;
  expect(() => {
    promise = call();
  }).not.toThrow();
  expect(promise).toBeInstanceOf(Promise);
  const error = await promise!.then(
    () => {
      throw new Error('expected a rejection, but the call resolved');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KvbusError);
  expect(error).toBeInstanceOf(Error);
  return error as KvbusError;
}

function thrownBy(call: () => unknown): KvbusError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(KvbusError);
    return error as KvbusError;
  }
  throw new Error('expected a synchronous throw');
}

const BAD_KEYS: Array<[string, unknown]> = [
  ['a number', 42],
  ['the empty string', ''],
  ['null', null],
  ['undefined', undefined],
  ['an object', { key: 'a' }],
  ['an array', ['a']],
  ['a symbol', Symbol('k')],
  ['a String object', new String('a')],
];

describe('bad keys', () => {
  const keyed: Array<[string, (store: MainStore, key: any) => Promise<unknown>]> = [
    ['get', (s, k) => s.get(k)],
    ['getEntry', (s, k) => s.getEntry(k)],
    ['set', (s, k) => s.set(k, 1)],
    ['delete', (s, k) => s.delete(k)],
    ['has', (s, k) => s.has(k)],
    ['incr', (s, k) => s.incr(k)],
    ['update', (s, k) => s.update(k, () => 1)],
    ['apply', (s, k) => s.apply(k, 'op')],
  ];

  for (const [method, call] of keyed) {
    it.each(BAD_KEYS)(`${method} rejects %s with ERR_BAD_KEY`, async (_label, key) => {
      const store = newStore();
      store.defineOp('op', () => 1);
      const error = await rejectionOf(() => call(store, key));
      expect(error.code).toBe('ERR_BAD_KEY');
      expect(error.message).toMatch(/^Expected `key` to be a non-empty string, got /);
      expect((await store.stats()).keys).toBe(0);
    });
  }

  it.each(BAD_KEYS)('watch throws ERR_BAD_KEY synchronously for %s', (_label, key) => {
    const store = newStore();
    expect(thrownBy(() => store.watch(key as string)).code).toBe('ERR_BAD_KEY');
  });

  it('a bad key changes nothing and the store keeps working', async () => {
    const store = newStore();
    await store.set('a', 1);
    await rejectionOf(() => store.set('' as string, 2));
    expect(await store.getAll()).toEqual(new Map([['a', 1]]));
    expect(await store.incr('n')).toBe(1);
  });
});

describe('bad channel and pattern names', () => {
  const BAD_NAMES: Array<[string, unknown]> = [
    ['the empty string', ''],
    ['a number', 7],
    ['null', null],
    ['undefined', undefined],
    ['an object', {}],
  ];

  it.each(BAD_NAMES)(
    'channel(), pattern(), changes() and onSubscriberReceive() throw ERR_BAD_ARGUMENT synchronously for %s',
    (_l, name) => {
      const store = newStore();
      expect(thrownBy(() => store.channel(name as string)).code).toBe('ERR_BAD_ARGUMENT');
      expect(thrownBy(() => store.pattern(name as string)).code).toBe('ERR_BAD_ARGUMENT');
      if (name !== undefined) expect(thrownBy(() => store.changes(name as string)).code).toBe('ERR_BAD_ARGUMENT');
      expect(thrownBy(() => store.onSubscriberReceive(name as string, () => {})).code).toBe('ERR_BAD_ARGUMENT');
    },
  );

  it.each(BAD_NAMES)('publish rejects %s as a channel with ERR_BAD_ARGUMENT', async (_l, name) => {
    const store = newStore();
    const error = await rejectionOf(() => store.publish(name as string, 1));
    expect(error.code).toBe('ERR_BAD_ARGUMENT');
    expect(error.message).toMatch(/^Expected `channel` to be .+, got .+/);
  });

  it.each(BAD_NAMES.filter(([, n]) => n !== undefined))(
    'keys() and getAll() reject %s as a pattern with ERR_BAD_ARGUMENT',
    async (_l, name) => {
      const store = newStore();
      expect((await rejectionOf(() => store.keys(name as string))).code).toBe('ERR_BAD_ARGUMENT');
      expect((await rejectionOf(() => store.getAll(name as string))).code).toBe('ERR_BAD_ARGUMENT');
    },
  );

  it.each(BAD_NAMES)('apply rejects %s as an op name with ERR_BAD_ARGUMENT', async (_l, name) => {
    const store = newStore();
    const error = await rejectionOf(() => store.apply('k', name as string));
    expect(error.code).toBe('ERR_BAD_ARGUMENT');
  });

  it('onSubscriberReceive throws ERR_BAD_ARGUMENT for a handler that is not a function', () => {
    const store = newStore();
    expect(thrownBy(() => store.onSubscriberReceive('c', 42 as any)).code).toBe('ERR_BAD_ARGUMENT');
  });
});

describe('bad arguments of data methods', () => {
  it.each([
    ['NaN', Number.NaN],
    ["the string '1'", '1'],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['null', null],
  ])('incr by %s rejects with ERR_BAD_ARGUMENT and changes nothing', async (_l, by) => {
    const store = newStore();
    await store.set('n', 1);
    const error = await rejectionOf(() => store.incr('n', by as number));
    expect(error.code).toBe('ERR_BAD_ARGUMENT');
    expect(error.message).toMatch(/^Expected `by` to be a finite number, got /);
    expect(await store.get('n')).toBe(1);
  });

  it.each([
    ['-1', -1],
    ['1.5', 1.5],
    ["'3'", '3'],
    ['NaN', Number.NaN],
  ])('set with ifRevision %s rejects with ERR_BAD_ARGUMENT', async (_l, ifRevision) => {
    const store = newStore();
    const error = await rejectionOf(() => store.set('k', 1, { ifRevision: ifRevision as number }));
    expect(error.code).toBe('ERR_BAD_ARGUMENT');
    expect(await store.has('k')).toBe(false);
  });

  it('set with options that are not an object rejects with ERR_BAD_ARGUMENT', async () => {
    const store = newStore();
    expect((await rejectionOf(() => store.set('k', 1, 'fast' as any))).code).toBe('ERR_BAD_ARGUMENT');
    expect((await rejectionOf(() => store.set('k', 1, null as any))).code).toBe('ERR_BAD_ARGUMENT');
    expect(await store.has('k')).toBe(false);
  });

  it('update rejects a non-function fn and bad retries with ERR_BAD_ARGUMENT', async () => {
    const store = newStore();
    expect((await rejectionOf(() => store.update('k', 'nope' as any))).code).toBe('ERR_BAD_ARGUMENT');
    expect((await rejectionOf(() => store.update('k', () => 1, { retries: -1 }))).code).toBe('ERR_BAD_ARGUMENT');
    expect((await rejectionOf(() => store.update('k', () => 1, { retries: Number.NaN }))).code).toBe('ERR_BAD_ARGUMENT');
    expect((await rejectionOf(() => store.update('k', () => 1, { retries: '2' as any }))).code).toBe('ERR_BAD_ARGUMENT');
    expect(await store.has('k')).toBe(false);
  });

  it('set(k, undefined) rejects with ERR_BAD_ARGUMENT', async () => {
    const store = newStore();
    expect((await rejectionOf(() => store.set('k', undefined))).code).toBe('ERR_BAD_ARGUMENT');
  });
});

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
    const error = thrownBy(() => stores.push(createStore(options as any)));
    expect(error.code).toBe('ERR_BAD_ARGUMENT');
    expect(error.message).toMatch(FORM);
    expect(error.message.startsWith(`Expected \`${name}\` to be `)).toBe(true);
  });

  it('rejects options that are not an object', () => {
    const error = thrownBy(() => stores.push(createStore('fast' as any)));
    expect(error.code).toBe('ERR_BAD_ARGUMENT');
    expect(error.message).toMatch(FORM);
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

describe('errors', () => {
  it('are KvbusError instances with a stable code, recognised by isKvbusError', async () => {
    const store = newStore();
    await store.set('s', 'text');
    const cases: Array<[Promise<unknown>, string]> = [
      [store.get(1 as any), 'ERR_BAD_KEY'],
      [store.set('k', undefined), 'ERR_BAD_ARGUMENT'],
      [store.set('k', () => 1), 'ERR_NOT_CLONEABLE'],
      [store.incr('s'), 'ERR_TYPE'],
      [store.set('s', 1, { ifRevision: 0 }), 'ERR_CONFLICT'],
    ];
    for (const [promise, code] of cases) {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(KvbusError);
      expect(isKvbusError(error)).toBe(true);
      expect((error as KvbusError).code).toBe(code);
      expect((error as KvbusError).name).toBe('KvbusError');
    }
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
