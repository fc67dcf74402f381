import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertNotShared, cloneValue } from '../../src/clone.js';
import { KvbusError } from '../../src/errors.js';

describe('cloneValue', () => {
  it('gives what structuredClone gives, as a new object, for any JSON-like value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const copy = cloneValue(value, 'key', 'k');
        expect(copy).toEqual(structuredClone(value));
        if (value !== null && typeof value === 'object') expect(copy).not.toBe(value);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps an own "__proto__" property an ordinary property', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
    const copy = cloneValue(value, 'key', 'k');
    expect(Object.keys(copy)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(copy).toEqual(structuredClone(value));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('copies deeply: nothing in the copy is shared with the original', () => {
    const original = { a: { b: [1, { c: 2 }] } };
    const copy = cloneValue(original, 'key', 'k');
    copy.a.b.push(3);
    (copy.a.b[1] as { c: number }).c = 9;
    expect(original).toEqual({ a: { b: [1, { c: 2 }] } });
  });

  it('keeps shared references shared and cycles cyclic, as a structured clone does', () => {
    const shared = { n: 1 };
    const copy = cloneValue({ x: shared, y: shared }, 'key', 'k');
    expect(copy.x).toBe(copy.y);
    expect(copy.x).not.toBe(shared);
    const cyclic: { self?: unknown; list: unknown[] } = { list: [] };
    cyclic.self = cyclic;
    cyclic.list.push(cyclic);
    const cycleCopy = cloneValue(cyclic, 'key', 'k');
    expect(cycleCopy.self).toBe(cycleCopy);
    expect(cycleCopy.list[0]).toBe(cycleCopy);
    expect(cycleCopy).not.toBe(cyclic);
  });

  it('hands everything that is not small plain data to structuredClone', () => {
    class Point {
      constructor(readonly x: number) {}
    }
    // biome-ignore lint/suspicious/noSparseArray: a hole is what this test copies
    const sparse = [1, , 3];
    const tagged = Object.assign([1, 2], { extra: true });
    const values: unknown[] = [
      new Date(0),
      new Map([[1, { a: 1 }]]),
      new Set([1]),
      new Uint8Array([1, 2]),
      new Point(1),
      sparse,
      tagged,
      Array.from({ length: 100 }, (_, i) => ({ i })),
      Object.create(null),
    ];
    for (const value of values) {
      const copy = cloneValue(value, 'key', 'k');
      expect(copy).toEqual(structuredClone(value));
      expect(Object.getPrototypeOf(copy)).toBe(Object.getPrototypeOf(structuredClone(value)));
    }
    expect(1 in (cloneValue(sparse, 'key', 'k') as unknown[])).toBe(false);
  });

  it('rejects functions and symbols anywhere with ERR_NOT_CLONEABLE naming the key', () => {
    for (const value of [{ f: () => 1 }, [Symbol('s')], { deep: { deeper: [() => 2] } }]) {
      expect(() => cloneValue(value, 'key', 'profile')).toThrowError(
        expect.objectContaining({ code: 'ERR_NOT_CLONEABLE', message: expect.stringContaining('"profile"') }),
      );
    }
  });

  it('turns any failure while copying (a throwing getter) into ERR_NOT_CLONEABLE naming the key, with the cause', () => {
    const boom = new Error('boom');
    const values: unknown[] = [
      {
        get x() {
          throw boom;
        },
      },
      [
        {
          get y() {
            throw boom;
          },
        },
      ],
      new Map([
        [
          1,
          {
            get z() {
              throw boom;
            },
          },
        ],
      ]),
    ];
    for (const value of values) {
      const error = thrown(() => cloneValue(value, 'key', 'getter'));
      expect(error).toBeInstanceOf(KvbusError);
      expect(error).toMatchObject({ code: 'ERR_NOT_CLONEABLE', cause: boom });
      expect(error.message).toContain('"getter"');
    }
  });
});

/** Values that hold a SharedArrayBuffer, directly or nested, as a structured clone would share it. */
function sharedValues(): Array<[string, unknown]> {
  const sab = () => new SharedArrayBuffer(8);
  const cyclic: Record<string, unknown> = { list: [] };
  cyclic.self = cyclic;
  (cyclic.list as unknown[]).push(cyclic, new Int32Array(sab()));
  class Holder {
    readonly data = new Uint8Array(sab());
  }
  const error = new Error('with a cause', { cause: sab() });
  const holey: unknown[] = [1];
  holey[5] = 2;
  return [
    ['a SharedArrayBuffer', sab()],
    ['a typed array on one', new Int32Array(sab())],
    ['a DataView on one', new DataView(sab())],
    ['a typed array in an object', { a: 1, data: new Float64Array(sab()) }],
    ['one in an array', [1, 2, sab()]],
    ['one as a named property of an array', Object.assign([1, 2], { extra: sab() })],
    ['one as a named property of an array with holes', Object.assign(holey, { extra: { deeper: sab() } })],
    ['one as a Map value', new Map([['k', sab()]])],
    ['one as a Map key', new Map([[sab(), 1]])],
    ['one in a Set', new Set([1, new Int8Array(sab())])],
    ['one deep in plain data', { a: { b: { c: [{ d: sab() }] } } }],
    ['one in a class instance', new Holder()],
    ['one in a cyclic value', cyclic],
    ['one as an error cause', error],
    ['one behind many plain objects', { list: Array.from({ length: 100 }, (_, i) => ({ i })), tail: sab() }],
  ];
}

describe('values backed by a SharedArrayBuffer', () => {
  it('cloneValue rejects them with ERR_NOT_CLONEABLE naming the key and saying how to fix it', () => {
    for (const [what, value] of sharedValues()) {
      const error = thrown(() => cloneValue(value, 'key', 'shared'));
      expect(error, what).toBeInstanceOf(KvbusError);
      expect(error.code, what).toBe('ERR_NOT_CLONEABLE');
      expect(error.message, what).toContain('key "shared"');
      expect(error.message, what).toMatch(/SharedArrayBuffer.*ArrayBuffer/);
    }
  });

  it('assertNotShared (the check of values that came over a wire) finds them too', () => {
    for (const [what, value] of sharedValues()) {
      // A wire delivers a structured clone: the same SharedArrayBuffer, in the same places.
      for (const arrived of [value, structuredClone(value)]) {
        const error = thrown(() => assertNotShared(arrived, 'channel', 'news'));
        expect(error, what).toMatchObject({ code: 'ERR_NOT_CLONEABLE' });
        expect(error.message, what).toContain('channel "news"');
      }
    }
  });

  it('assertNotShared passes every other value, cyclic and very deep ones included, without recursion', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = i % 2 ? [deep] : { next: deep };
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const values: unknown[] = [
      undefined,
      null,
      0,
      'text',
      10n,
      { a: 1, b: [1, 2, { c: 'd' }] },
      new Map([[{ k: 1 }, new Set([new Uint8Array(4)])]]),
      new DataView(new ArrayBuffer(4)),
      new Date(0),
      /re/g,
      new ArrayBuffer(8),
      new Error('plain', { cause: { n: 1 } }),
      cyclic,
      deep,
    ];
    for (const value of values) expect(() => assertNotShared(value, 'key', 'k')).not.toThrow();
  });

  it('cloneValue still copies plain buffers and their views', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const copy = cloneValue({ bytes, view: new DataView(bytes.buffer) }, 'key', 'k');
    expect(copy.bytes).toEqual(bytes);
    expect(copy.bytes.buffer).not.toBe(bytes.buffer);
    expect(copy.view.buffer).toBe(copy.bytes.buffer);
  });
});

function thrown(fn: () => unknown): KvbusError {
  try {
    fn();
  } catch (error) {
    return error as KvbusError;
  }
  throw new Error('Expected a throw');
}
