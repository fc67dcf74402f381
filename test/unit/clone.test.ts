import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cloneValue } from '../../src/clone.js';

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
});
