// The tagged JSON the page prints: structured-clone values that JSON cannot
// carry (Map, Set, Date, typed arrays, bigint, cycles) keep their shape, and
// big values are cut to the limits.
import { describe, expect, it } from 'vitest';
import { encodeValue } from '../../src/inspector/encode-value.js';

describe('encodeValue', () => {
  it('keeps JSON values as they are and tags everything else', () => {
    expect(encodeValue({ a: [1, 'x', true, null] })).toEqual({
      $t: 'Object',
      v: [['a', { $t: 'Array', v: [1, 'x', true, null] }]],
    });
    expect(encodeValue(new Map([[1n, new Set([new Date(0)])]]))).toEqual({
      $t: 'Map',
      v: [
        [
          { $t: 'bigint', v: '1' },
          { $t: 'Set', v: [{ $t: 'Date', v: '1970-01-01T00:00:00.000Z' }] },
        ],
      ],
    });
    expect(encodeValue(new Float64Array([1.5, Number.NaN]))).toEqual({
      $t: 'Bytes',
      type: 'Float64Array',
      length: 2,
      v: [1.5, Number.NaN],
    });
    expect(encodeValue(new BigInt64Array([2n]))).toEqual({ $t: 'Bytes', type: 'BigInt64Array', length: 1, v: ['2n'] });
    expect(encodeValue(undefined)).toEqual({ $t: 'undefined' });
    expect(encodeValue(Number.POSITIVE_INFINITY)).toEqual({ $t: 'number', v: 'Infinity' });
    expect(encodeValue(/a+/g)).toEqual({ $t: 'RegExp', v: '/a+/g' });
    expect(encodeValue(new RangeError('no'))).toEqual({ $t: 'Error', name: 'RangeError', message: 'no' });
  });

  it('marks cycles and cuts long strings, lists and deep nesting', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(encodeValue(cyclic)).toEqual({ $t: 'Object', v: [['self', { $t: 'Circular' }]] });
    const limits = { items: 2, chars: 3, depth: 1 };
    expect(encodeValue('abcdef', limits)).toEqual({ $t: 'String', v: 'abc', more: 3 });
    expect(encodeValue([1, 2, 3, 4], limits)).toEqual({ $t: 'Array', v: [1, 2], more: 2 });
    expect(encodeValue([[1]], limits)).toEqual({ $t: 'Array', v: [{ $t: 'Object', v: [], more: 1 }] });
    expect(encodeValue(new Uint8Array(5), limits)).toEqual({ $t: 'Bytes', type: 'Uint8Array', length: 5, v: [0, 0], more: 3 });
  });
});
