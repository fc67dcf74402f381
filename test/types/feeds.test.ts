// Type tests of change feeds: `tsc --noEmit -p .` checks the expectTypeOf lines and
// every `@ts-expect-error`; vitest runs the same calls on a real store.
import { type ChangeEvent, createStore, type KvbusObservable, type MainStore, type Snapshot, type TypedStore } from 'kvbus';
import { firstValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';

interface Order {
  status: 'new' | 'paid';
  total: number;
}
interface Schema {
  keys: { 'order:*': Order; count: number };
}

const stores: MainStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

describe('change feeds, typed', () => {
  it('an untyped store: snapshot is a Snapshot<unknown>, changes takes { since }', async () => {
    const store = createStore();
    stores.push(store);
    const revision = await store.set('a', 1);
    const snap = await store.snapshot();
    expectTypeOf(snap).toEqualTypeOf<Snapshot<unknown>>();
    expectTypeOf(snap.entries.get('a')).toEqualTypeOf<{ value: unknown; revision: number } | undefined>();
    expect(snap).toEqual({ revision, entries: new Map([['a', { value: 1, revision }]]) });
    const feed = store.changes('*', { since: 0 });
    expectTypeOf(feed).toEqualTypeOf<KvbusObservable<ChangeEvent<unknown>>>();
    expect(await firstValueFrom(feed)).toMatchObject({ type: 'set', key: 'a', revision });
    // @ts-expect-error since is a number
    expect(() => store.changes('*', { since: '1' })).toThrow(/since/);
  });

  it('a typed store: snapshot and changes carry the value type of the patterns the glob meets', async () => {
    const store = createStore<Schema>() as TypedStore<Schema, MainStore>;
    stores.push(store as unknown as MainStore);
    await store.set('order:1', { status: 'new', total: 3 });
    const snap = await store.snapshot('order:*');
    expectTypeOf(snap).toEqualTypeOf<Snapshot<Order>>();
    expect(snap.entries.get('order:1')?.value.total).toBe(3);
    const feed = store.changes('order:*', { since: snap.revision - 1 });
    expectTypeOf(feed).toEqualTypeOf<KvbusObservable<ChangeEvent<Order>>>();
    const [first] = await firstValueFrom(feed.pipe(take(1), toArray()));
    expect(first).toMatchObject({ type: 'set', key: 'order:1', value: { status: 'new', total: 3 } });
  });
});
