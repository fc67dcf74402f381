// Stores and recorders a test makes, cleaned up after it. One afterEach does it
// all, in a fixed order: every recorder is unsubscribed, then `beforeClose` runs,
// then every store is closed (together), then `afterClose` runs.
import type { Observable } from 'rxjs';
import { afterEach } from 'vitest';
import { type CreateStoreOptions, createStore, type MainStore } from '../../src/index.js';
import { type Recorder, Recorders } from './wait.js';

export interface StoreTeardown {
  /** Runs after the recorders are unsubscribed, before the stores are closed. */
  beforeClose?: () => void | Promise<void>;
  /** Closes one store (default: `store.close()`). */
  close?: (store: MainStore) => Promise<unknown>;
  /** Runs once every store is closed. */
  afterClose?: () => void | Promise<void>;
}

export interface StoreScope<A extends unknown[], S> {
  /** Makes a store (as `make` does) that is closed after the test. */
  newStore: (...args: A) => S;
  /** The stores to close after this test: push one made otherwise, take out one the test closed itself. */
  stores: MainStore[];
  /** Records an observable (see {@link record}); unsubscribed after the test, before the stores close. */
  rec: <T>(source: Observable<T>) => Recorder<T>;
}

/** Memory stores: `newStore(options?)` is `createStore(options)`. */
export function useStores(): StoreScope<[options?: CreateStoreOptions], MainStore>;
/**
 * Stores made by `make` (which may be async: then `newStore` is too). The bound is
 * `never[]`, not `any[]`, so that a parameter of `make` keeps the type of its default.
 */
export function useStores<F extends (...args: never[]) => MainStore | Promise<MainStore>>(
  make: F,
  teardown?: StoreTeardown,
): StoreScope<Parameters<F>, ReturnType<F>>;
export function useStores(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  make: (...args: any[]) => MainStore | Promise<MainStore> = createStore,
  teardown: StoreTeardown = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): StoreScope<any[], any> {
  const stores: MainStore[] = [];
  const recorders = new Recorders();
  const close = teardown.close ?? ((store: MainStore) => store.close());

  afterEach(async () => {
    recorders.unsubscribeAll();
    if (teardown.beforeClose) await teardown.beforeClose();
    await Promise.all(stores.splice(0).map((store) => close(store)));
    if (teardown.afterClose) await teardown.afterClose();
  });

  const track = (store: MainStore): MainStore => {
    stores.push(store);
    return store;
  };

  return {
    stores,
    newStore: (...args) => {
      const made = make(...args);
      return made instanceof Promise ? made.then(track) : track(made);
    },
    rec: recorders.rec,
  };
}
