import { serialize } from 'node:v8';
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { buildSet } from '../../src/api/build-command.js';
import { DECODED, isLarge, LARGE_VALUE_BYTES, POST_NOW, wireCopy } from '../../src/clone.js';
import * as kv from '../../src/commands/kv.js';
import { decodeValue, encodeValue } from '../../src/streams/protocol/encoded-value.js';
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

describe('a large set value as bytes (encodeValue / decodeValue)', () => {
  it('decodes to what a structured clone gives, for every kind of value the fidelity test sets', async () => {
    const { largeValues } = await import('../integration/fixtures/large-values.mjs');
    for (const [key, value] of Object.entries(largeValues())) {
      // Each takes this path in test/integration/large-set.test.ts.
      expect(isLarge(value), key).toBe(true);
      const bytes = encodeValue(value);
      expect(bytes, key).toBeInstanceOf(Uint8Array);
      const decoded = decodeValue(bytes) as any;
      const cloned = structuredClone(value) as any;
      expect(decoded, key).toEqual(cloned);
      expect(Object.getPrototypeOf(decoded), key).toBe(Object.getPrototypeOf(cloned));
    }
    // Views on one buffer stay on one buffer, at their offsets (as V8 writes them natively, not as Node's v8.serialize does).
    const views = decodeValue(encodeValue(largeValues()['fid:views'])) as any;
    expect(views.u8.buffer).toBe(views.f64.buffer);
    expect([views.u8.byteOffset, views.u8.buffer.byteLength]).toEqual([16, 64 * 1024]);
    expect((decodeValue(encodeValue(Buffer.alloc(8))) as object).constructor).toBe(Uint8Array);
  });

  it('is a copy: changing the value after encoding changes nothing', () => {
    const value = { list: [1, 2], bytes: new Uint8Array([1]) };
    const bytes = encodeValue(value);
    value.list.push(3);
    value.bytes[0] = 9;
    expect(decodeValue(bytes)).toEqual({ list: [1, 2], bytes: new Uint8Array([1]) });
  });

  it("says 'shared' for shared memory anywhere, and leaves what it cannot write to the post", () => {
    const sab = new SharedArrayBuffer(8);
    for (const value of [sab, new Int32Array(sab), { deep: [new Map([['k', new DataView(sab)]])] }])
      expect(encodeValue(value)).toBe('shared');
    expect(encodeValue({ f: () => 1 })).toBeUndefined();
    const { port1, port2 } = new MessageChannel();
    expect(encodeValue({ port: port1 })).toBeUndefined();
    port1.close();
    port2.close();
  });

  it('refuses what is not its bytes', () => {
    expect(() => decodeValue(new Int32Array(4))).toThrow(TypeError);
    expect(() => decodeValue({ 0: 255 })).toThrow(TypeError);
    expect(() => decodeValue(new Uint8Array([1, 2, 3]))).toThrow();
    // Node's own v8.serialize writes typed arrays as host objects, which this decoder does not read.
    expect(() => decodeValue(serialize(new Uint8Array(4)))).toThrow();
  });
});

describe('the store-side check of a set value from a wire', () => {
  const shared = { type: 'kv.set' as const, key: 'k', value: new Int32Array(new SharedArrayBuffer(8)) };

  it('walks a value for shared memory unless the decoder marked it DECODED', () => {
    expect(thrownBy(() => kv.set.untrusted!({ ...shared })).code).toBe('ERR_NOT_CLONEABLE');
    // Only the decoder sets the symbol, on a value it made from bytes (which cannot hold this).
    expect(() => kv.set.untrusted!({ ...shared, [DECODED]: true } as typeof shared)).not.toThrow();
    expect(thrownBy(() => kv.set.untrusted!({ ...shared, 'kvbus.decoded': true } as typeof shared)).code).toBe('ERR_NOT_CLONEABLE');
  });
});
