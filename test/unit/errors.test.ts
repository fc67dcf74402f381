import { expect, it, describe as suite } from 'vitest';
import { describe, KvbusError } from '../../src/errors.js';
import { assertKey } from '../../src/validate.js';

// Error messages describe what arrived; what arrives over a wire can be any shape.
suite('describe', () => {
  it('names a class from the prototype, not from an own `constructor` key', () => {
    const hostile = { constructor: { name: { toString: 1 } } };
    expect(describe(hostile)).toBe('an object (Object)');
    expect(describe(Object.create(null))).toBe('an object (null prototype)');
    expect(describe(new (class Point {})())).toBe('an object (Point)');
  });

  it('survives a Proxy whose traps throw', () => {
    const proxy = new Proxy(
      {},
      {
        getPrototypeOf() {
          throw new Error('trap');
        },
      },
    );
    expect(describe(proxy)).toBe('an object (unreadable)');
  });

  it('lets validation fail with a KvbusError whatever the bad key is', () => {
    for (const key of [{ constructor: { name: { toString: 1 } } }, { constructor: null }, Object.create(null)]) {
      expect(() => assertKey(key)).toThrow(KvbusError);
    }
  });
});
