import { describe, expect, it } from 'vitest';
import { buildSet } from '../../src/api/build-command.js';
import { isLarge, LARGE_VALUE_BYTES, POST_NOW, wireCopy } from '../../src/clone.js';
import { thrownBy } from '../helpers/errors.js';

describe('isLarge', () => {
  it('says whether a value is about LARGE_VALUE_BYTES or more', () => {
    expect(isLarge({ a: 1, b: 'x' })).toBe(false);
    expect(isLarge('x'.repeat(LARGE_VALUE_BYTES))).toBe(true);
    expect(isLarge(new Uint8Array(LARGE_VALUE_BYTES))).toBe(true);
    expect(isLarge(new Uint8Array(64))).toBe(false);
    expect(isLarge({ rows: Array.from({ length: 1000 }, (_, i) => ({ i, s: 'abcdefgh' })) })).toBe(true);
    expect(isLarge(new Map([['k', 'x'.repeat(LARGE_VALUE_BYTES)]]))).toBe(true);
    expect(isLarge(new Set(Array.from({ length: 10_000 }, (_, i) => i)))).toBe(true);
  });

  it('leaves a deeply nested value to the batched path, however big', () => {
    let deep: unknown = 'x'.repeat(LARGE_VALUE_BYTES);
    for (let i = 0; i < 300; i++) deep = { deep };
    expect(isLarge(deep)).toBe(false);
  });

  it('ends on a cycle (as on a deep value: it is copied at the call, where a clone keeps the cycle)', () => {
    const a: Record<string, unknown> = { n: 1 };
    a.self = a;
    expect(isLarge(a)).toBe(false);
    const copy = wireCopy(a, 'key', 'k') as Record<string, unknown>;
    expect(copy.self).toBe(copy);
  });
});

describe('wireCopy', () => {
  it('copies a small value and leaves a large one to be posted', () => {
    const small = { a: [1, 2] };
    const copy = wireCopy(small, 'key', 'k');
    expect(copy).toEqual(small);
    expect(copy).not.toBe(small);
    expect(wireCopy(new Uint8Array(LARGE_VALUE_BYTES), 'key', 'k')).toBe(POST_NOW);
    expect(wireCopy(7, 'key', 'k')).toBe(7);
  });

  it('still names the key when a small value cannot be cloned', () => {
    const error = thrownBy(() => wireCopy({ f: () => 1 }, 'key', 'small:fn'));
    expect(error.code).toBe('ERR_NOT_CLONEABLE');
    expect(error.message).toContain('key "small:fn"');
  });
});

describe("buildSet with copyIn 'wire'", () => {
  it('marks a large value POST_NOW and keeps it uncopied; a small one is copied and unmarked', () => {
    const big = new Uint8Array(LARGE_VALUE_BYTES);
    const cmd = buildSet('k', big, undefined, 'wire');
    expect(cmd.value).toBe(big);
    expect((cmd as { [POST_NOW]?: true })[POST_NOW]).toBe(true);
    const small = buildSet('k', { a: 1 }, undefined, 'wire');
    expect((small as { [POST_NOW]?: true })[POST_NOW]).toBeUndefined();
    // A main-thread store copies everything at the call.
    expect(buildSet('k', big, undefined, true).value).not.toBe(big);
  });
});
