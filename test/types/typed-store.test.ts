// Type tests of typed stores: `tsc --noEmit -p .` (run by `npm test`) checks the
// expectTypeOf lines and that every `@ts-expect-error` line is an error; vitest
// runs the same calls on a real store, so the types describe what really happens.
import {
  type ChangeEvent,
  createStore,
  type Entry,
  getStore,
  type KeyValue,
  type KvbusObservable,
  type MainStore,
  type TypedStore,
} from 'kvbus';
import { firstValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';

interface Config {
  debug: boolean;
}
interface Progress {
  done: number;
  total: number;
}

interface AppSchema {
  keys: {
    config: Config;
    'job:*:progress': Progress;
    'job:*': string;
    'user:*': { name: string };
    'user:admin': { name: 'root'; root: true };
  };
  channels: {
    'job:*:done': { id: string; ok: boolean };
    alerts: string;
  };
}

const stores: MainStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

function typedStore(): TypedStore<AppSchema, MainStore> {
  const store = createStore<AppSchema>();
  stores.push(store as unknown as MainStore);
  return store;
}

describe('typed keys', () => {
  it('types get, set, getEntry, update and watch by the matching pattern', async () => {
    const store = typedStore();
    expect(await store.set('config', { debug: true })).toBeGreaterThan(0);
    await store.set('job:7:progress', { done: 1, total: 4 });
    await store.set('job:7', 'queued');

    const config = await store.get('config');
    expectTypeOf(config).toEqualTypeOf<Config | undefined>();
    expect(config).toEqual({ debug: true });

    // 'job:7:progress' matches 'job:*:progress' and 'job:*': the narrower pattern wins.
    const progress = await store.get('job:7:progress');
    expectTypeOf(progress).toEqualTypeOf<Progress | undefined>();
    expect(progress).toEqual({ done: 1, total: 4 });
    expectTypeOf(await store.get('job:7')).toEqualTypeOf<string | undefined>();
    // A literal key beats the `*` pattern that also matches it.
    expectTypeOf<KeyValue<AppSchema, 'user:admin'>>().toEqualTypeOf<{ name: 'root'; root: true }>();
    expectTypeOf<KeyValue<AppSchema, 'user:ada'>>().toEqualTypeOf<{ name: string }>();

    const entry = await store.getEntry('job:7:progress');
    expectTypeOf(entry).toEqualTypeOf<Entry<Progress> | undefined>();
    expect(entry?.value.total).toBe(4);

    const next = await store.update('job:7:progress', (old) => {
      expectTypeOf(old).toEqualTypeOf<Progress | undefined>();
      return { done: (old?.done ?? 0) + 1, total: old?.total ?? 1 };
    });
    expect(next).toEqual({ done: 2, total: 4 });

    const watched = store.watch('config');
    expectTypeOf(watched).toEqualTypeOf<KvbusObservable<Config | undefined>>();
    expect(await firstValueFrom(watched)).toEqual({ debug: true });

    // A key built at run time has a template literal type, and matches too.
    const id: string = '8';
    await store.set(`job:${id}:progress`, { done: 0, total: 1 });
    expectTypeOf(await store.get(`job:${id}:progress`)).toEqualTypeOf<Progress | undefined>();

    // A default of the key's type gives the key's type; another adds its own.
    expectTypeOf(store.get('job:1', 'queued')).toEqualTypeOf<Promise<string>>();
    expectTypeOf(store.get('config', null)).toEqualTypeOf<Promise<Config | null>>();
    expect(await store.get('job:404', null)).toBeNull();
    expectTypeOf(store.sync.get('config')).toEqualTypeOf<Config | undefined>();
    expectTypeOf(store.sync.get('config', { debug: false })).toEqualTypeOf<Config>();
    expect(store.sync.set('job:9', 'queued')).toBeGreaterThan(0);
    expect(store.sync.get('job:9')).toBe('queued');
  });

  it('refuses a value of the wrong type and a key that no pattern matches', async () => {
    const store = typedStore();
    const attempts = [
      // @ts-expect-error config is a Config, not a string
      store.set('config', 'yes'),
      // @ts-expect-error a progress needs `total`
      store.set('job:1:progress', { done: 1 }),
      // @ts-expect-error no pattern matches 'session:1'
      store.set('session:1', 'x'),
      // @ts-expect-error no pattern matches 'session:1'
      store.get('session:1'),
      // @ts-expect-error the updater must return a Progress
      store.update('job:1:progress', () => 'done'),
      // @ts-expect-error a set op carries its key's value type
      store.transaction([{ op: 'set', key: 'config', value: 1 }]),
    ];
    // @ts-expect-error a plain string is not a key of this schema
    store.watch('other' as string);
    // @ts-expect-error sync.set is typed as set is
    expect(() => store.sync.set('config', 42)).not.toThrow();
    // Run time does not check the schema: the calls themselves go through.
    expect((await Promise.allSettled(attempts)).length).toBe(6);
  });

  it('types getMany per position, and getAll, scan and changes by the patterns a glob can meet', async () => {
    const store = typedStore();
    expectTypeOf(() => store.getMany(['config', 'job:1'])).returns.toEqualTypeOf<Promise<[Config | undefined, string | undefined]>>();
    await store.set('user:ada', { name: 'Ada' });
    const users = await store.getAll('user:*');
    expectTypeOf(users).toEqualTypeOf<Map<string, { name: string } | { name: 'root'; root: true }>>();
    expect(users.get('user:ada')).toEqual({ name: 'Ada' });
    expectTypeOf(store.scan('config')).toEqualTypeOf<AsyncIterable<[string, Config]>>();

    const changes = firstValueFrom(store.changes('job:*').pipe(take(2), toArray()));
    expectTypeOf(store.changes('job:*')).toEqualTypeOf<KvbusObservable<ChangeEvent<string | Progress>>>();
    await store.set('job:3', 'queued');
    await store.delete('job:3');
    const [set, deleted] = await changes;
    expect(set).toMatchObject({ type: 'set', key: 'job:3', value: 'queued' });
    expect(deleted).toMatchObject({ type: 'delete', key: 'job:3' });
  });
});

describe('typed channels', () => {
  it('types publish, channel, pattern and onSubscriberReceive by the matching pattern', async () => {
    const store = typedStore();
    const done = store.channel('job:5:done');
    expectTypeOf(done).toEqualTypeOf<KvbusObservable<{ id: string; ok: boolean }>>();
    const first = firstValueFrom(done);
    const all = firstValueFrom(store.pattern('job:*').pipe(take(1)));
    expectTypeOf(store.pattern('job:*')).toEqualTypeOf<KvbusObservable<{ channel: string; data: { id: string; ok: boolean } }>>();
    const alerts: string[] = [];
    const off = store.onSubscriberReceive('alerts', (text) => {
      expectTypeOf(text).toEqualTypeOf<string>();
      alerts.push(text);
    });
    expect(await store.publish('job:5:done', { id: '5', ok: true })).toBe(2);
    await store.publish('alerts', 'disk full');
    expect(await first).toEqual({ id: '5', ok: true });
    expect(await all).toEqual({ channel: 'job:5:done', data: { id: '5', ok: true } });
    expect(alerts).toEqual(['disk full']);
    off();

    const refused = [
      // @ts-expect-error alerts carry strings
      store.publish('alerts', 1),
      // @ts-expect-error no channel pattern matches 'jobs'
      store.publish('jobs', 'x'),
    ];
    // @ts-expect-error no channel pattern matches 'job:5'
    store.channel('job:5');
    expect((await Promise.allSettled(refused)).length).toBe(2);
  });

  it('keeps the half a schema leaves out untyped, and the main-thread methods', async () => {
    const store = createStore<{ channels: { ticks: number } }>();
    stores.push(store as unknown as MainStore);
    // No `keys` in the schema: any key, any value, as untyped stores.
    await store.set('anything', { x: 1 });
    expectTypeOf(await store.get<{ x: number }>('anything')).toEqualTypeOf<{ x: number } | undefined>();
    // @ts-expect-error ticks carry numbers
    await store.publish('ticks', 'one').catch(() => {});
    expectTypeOf(store.attach).toEqualTypeOf<MainStore['attach']>();
    expectTypeOf(store.fork).toEqualTypeOf<MainStore['fork']>();
    expectTypeOf(store.peers).toEqualTypeOf<MainStore['peers']>();
    expectTypeOf(store.clients).toEqualTypeOf<MainStore['clients']>();
    expect(typeof store.defineOp).toBe('function');
    expect(await store.get('anything')).toEqual({ x: 1 });
  });

  it('getStore<S>() types the default store the same way', async () => {
    const store = getStore<AppSchema>();
    stores.push(store as unknown as MainStore);
    expectTypeOf(store).toEqualTypeOf<TypedStore<AppSchema>>();
    await store.set('config', { debug: false });
    expectTypeOf(await store.get('config')).toEqualTypeOf<Config | undefined>();
    expect(await store.get('config')).toEqual({ debug: false });
  });
});
