// Type tests of what needs no schema: untyped stores as before, `get` with a
// default, ChangeEvent's narrowing, createPool<TIn, TOut>. Checked by
// `tsc --noEmit -p .`; vitest runs the same calls for real.
import { type ChangeEvent, createPool, createStore, type KvbusObservable, type MainStore, type PatternMessage, type Store } from 'kvbus';
import type { Piscina } from 'piscina';
import { firstValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { fixtureUrl } from '../helpers/fixtures.js';
import { Resources } from '../helpers/resources.js';

const TASKS = fixtureUrl('pool-tasks.mjs').href;
const res = new Resources();
afterEach(() => res.cleanup());

describe('an untyped store', () => {
  it('keeps its signatures: unknown values, or the type the caller names', async () => {
    const store = res.store();
    expectTypeOf(store).toEqualTypeOf<MainStore>();
    expectTypeOf(createStore()).toEqualTypeOf<MainStore>();
    await store.set('n', 41);
    await store.set('anything:at:all', { any: ['shape'] });
    expectTypeOf(store.get('n')).toEqualTypeOf<Promise<unknown>>();
    expectTypeOf(store.get<number>('n')).toEqualTypeOf<Promise<number | undefined>>();
    expectTypeOf(store.watch<number>('n')).toEqualTypeOf<KvbusObservable<number | undefined>>();
    expectTypeOf(store.channel<string>('c')).toEqualTypeOf<KvbusObservable<string>>();
    expectTypeOf(store.pattern<string>('c:*')).toEqualTypeOf<KvbusObservable<PatternMessage<string>>>();
    expectTypeOf(store.sync.get<number>('n')).toEqualTypeOf<number | undefined>();
    // The main-thread store is still a Store.
    expectTypeOf(store).toMatchTypeOf<Store>();
    expect(await store.get<number>('n')).toBe(41);
  });

  it('types get(key, default) by the default', async () => {
    const store = res.store();
    const absent = await store.get('missing', 0);
    expectTypeOf(absent).toEqualTypeOf<number>();
    expect(absent).toBe(0);
    await store.set('name', 'ada');
    expectTypeOf(store.get('name', 'nobody')).toEqualTypeOf<Promise<string>>();
    expect(await store.get('name', 'nobody')).toBe('ada');
    expectTypeOf(store.get('list', [] as string[])).toEqualTypeOf<Promise<string[]>>();
    expectTypeOf(store.get<number | null>('n', null)).toEqualTypeOf<Promise<number | null>>();
    // @ts-expect-error a named type must fit the default
    store.get<number>('n', 'zero');
    expectTypeOf(store.sync.get('missing', 0)).toEqualTypeOf<number>();
    expect(store.sync.get('missing', 7)).toBe(7);
  });
});

describe('ChangeEvent', () => {
  it('is a discriminated union on type: only a set carries a value, a clear has key "*"', async () => {
    const store = res.store();
    const seen = firstValueFrom(store.changes<number>().pipe(take(3), toArray()));
    await store.set('n', 1);
    await store.delete('n');
    await store.clear();
    const events = await seen;
    expectTypeOf(events).toEqualTypeOf<ChangeEvent<number>[]>();
    const described = events.map((event) => {
      switch (event.type) {
        case 'set':
          expectTypeOf(event.value).toEqualTypeOf<number>();
          return `${event.key}=${event.value}`;
        case 'delete':
        case 'expire':
          expectTypeOf(event.value).toEqualTypeOf<undefined>();
          return `${event.type} ${event.key}`;
        default:
          expectTypeOf(event.type).toEqualTypeOf<'clear'>();
          expectTypeOf(event.key).toEqualTypeOf<'*'>();
          return 'clear';
      }
    });
    expect(described).toEqual(['n=1', 'delete n', 'clear']);
    // @ts-expect-error a delete carries no value
    const bad: ChangeEvent<number> = { type: 'delete', key: 'n', value: 1, revision: 1 };
    // @ts-expect-error a clear is of every key
    const alsoBad: ChangeEvent = { type: 'clear', key: 'n', revision: 1 };
    expect([bad, alsoBad]).toHaveLength(2);
  });
});

describe('createPool', () => {
  it('returns Piscina<TIn, TOut>, and Piscina<any, any> without types', async () => {
    const store = res.store();
    const pool = res.pool(createPool<undefined, string>({ filename: TASKS, maxThreads: 1, store }));
    expectTypeOf(pool).toEqualTypeOf<Piscina<undefined, string>>();
    const answer = await pool.run(undefined);
    expectTypeOf(answer).toEqualTypeOf<string>();
    expect(answer).toBe('pong');
    // @ts-expect-error the task takes no number
    expect(() => pool.run(5).catch(() => {})).not.toThrow();
    // Without types, as piscina's own default: any task, any result.
    const untypedPool = () => createPool({ filename: TASKS, store });
    type Untyped = ReturnType<typeof untypedPool>;
    expectTypeOf<Parameters<Untyped['run']>[0]>().toBeAny();
    expectTypeOf<Awaited<ReturnType<Untyped['run']>>>().toBeAny();
  });

  it('takes a store typed by a schema', async () => {
    const typed = createStore<{ keys: { ping: string } }>();
    const pool = res.pool(createPool({ filename: TASKS, maxThreads: 1, store: typed }));
    try {
      expect(await pool.run(undefined)).toBe('pong');
    } finally {
      await pool.destroy();
      await typed.close();
    }
  });
});
