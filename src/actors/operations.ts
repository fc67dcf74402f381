import { cloneValue, copyOut, isPrimitive } from '../clone.js';
import { KvbusError } from '../errors.js';
import type { StoreOp } from '../types.js';

/** The operations registered with `defineOp`, which `apply` runs inside the actor. */
export class Operations {
  readonly #ops = new Map<string, StoreOp>();

  /**
   * Registers (or replaces) an operation.
   * @param name - the name clients pass to `apply`
   * @param op - the next value from the old one and the argument
   */
  define(name: string, op: StoreOp): void {
    this.#ops.set(name, op);
  }

  /**
   * The update a backend applies for `apply(key, name, arg)`.
   * @param copy - copy in and out: the op sees a copy and what it returns is copied, so
   *   neither a throw half-way through a mutation nor a reference it keeps can reach the store
   * @returns the function from the old value to the next
   * @throws KvbusError `ERR_BAD_ARGUMENT` when no operation has that name
   */
  bind(key: string, name: string, arg: unknown, copy: boolean): (old: unknown) => unknown {
    const op = this.#ops.get(name);
    if (!op) {
      throw new KvbusError(
        'ERR_BAD_ARGUMENT',
        `No operation named ${JSON.stringify(name)}: register it in the main thread with store.defineOp(${JSON.stringify(name)}, fn)`,
      );
    }
    if (!copy) return (old) => op(old, arg);
    return (old) => {
      // The stored value was checked on its way in: it only needs copying; what the op made is checked too.
      const next = op(isPrimitive(old) ? old : copyOut(old, `the value of key ${JSON.stringify(key)}`), arg);
      return cloneValue(next, `the result of op ${JSON.stringify(name)} on key`, key);
    };
  }
}
