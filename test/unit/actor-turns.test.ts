import { describe, expect, it } from 'vitest';
import { type Backend, type BackendContext, createStore, memoryBackend } from '../../src/index.js';

/** The memory backend, with a handle on the context the actor gave it. */
function capturingBackend(): { backend: Backend; context: () => BackendContext } {
  const inner = memoryBackend();
  let captured: BackendContext | undefined;
  const backend = new Proxy(inner, {
    get(target, property) {
      if (property === 'open') {
        return (context: BackendContext) => {
          captured = context;
          return target.open(context);
        };
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { backend, context: () => captured! };
}

describe('actor turns', () => {
  it('runs a command sent from a callback of a backend-originated event after the delivery', async () => {
    // A Redis backend emits from its pub/sub connection, outside any command.
    const { backend, context } = capturingBackend();
    const store = createStore({ backend });
    const order: string[] = [];
    let done: Promise<unknown> | undefined;
    store.channel('x').subscribe(() => {
      order.push('callback start');
      done = store.set('k', 1).then(() => order.push('set resolved'));
      order.push('callback end');
    });
    store.changes().subscribe((change) => order.push(`change ${change.key}`));
    await store.stats(); // both subscriptions are active
    context().emitChannelMessage('x', 'hello');
    expect(order).toEqual(['callback start', 'callback end', 'change k']);
    await done;
    expect(order.at(-1)).toBe('set resolved');
    await store.close();
  });

  it('keeps counting and routing after an event from outside a command', async () => {
    const { backend, context } = capturingBackend();
    const store = createStore({ backend });
    const seen: unknown[] = [];
    store.pattern('a*').subscribe(({ channel, data }) => seen.push([channel, data]));
    await store.stats();
    context().emitPatternMessage('a*', 'abc', 1);
    context().emitPatternMessage('other*', 'abc', 2); // no such pattern: nothing
    expect(seen).toEqual([['abc', 1]]);
    expect(await store.publish('ab', 3)).toBe(1);
    expect(seen).toEqual([
      ['abc', 1],
      ['ab', 3],
    ]);
    await store.close();
  });
});
