import { StoreActor } from '../actors/store-actor.js';
import type { Backend, Clock } from '../backends/backend.js';
import { StoreClient, type StoreClientOptions } from '../client/store-client.js';
import { KvbusError, describe } from '../errors.js';
import type { StoreOp, StoreStats, SubscriberBufferOptions } from '../types.js';
import { assertName } from '../validate.js';
import { LocalLink } from './local-link.js';

/** The resolved options of a main-thread store. */
export interface MainStoreConfig {
  backend: Backend;
  namespace: string;
  copy: boolean;
  requestTimeoutMs: number;
  subscriberBuffer: SubscriberBufferOptions;
  clock: Clock;
  onError: StoreClientOptions['onError'];
}

/**
 * The store in the main thread: the {@link Store} API, plus what only the
 * owner of the actor can do (register operations, close).
 */
export class MainStore extends StoreClient {
  /** @internal */
  readonly actor: StoreActor;
  /** @internal */
  readonly config: MainStoreConfig;
  readonly #ready: Promise<void>;

  /** @internal Use {@link createStore}. */
  constructor(config: MainStoreConfig) {
    const actor = new StoreActor(config.backend, { namespace: config.namespace, clock: config.clock, copy: config.copy });
    const link = new LocalLink(actor, config.copy && config.backend.sharesValues);
    super(link, { copyIn: config.copy, onError: config.onError });
    this.actor = actor;
    this.config = config;
    const opened = actor.open();
    this.#ready = Promise.resolve(opened);
    // An I/O backend reports its own failure through the first commands; do not let it go unhandled here.
    this.#ready.catch(() => {});
  }

  /** The namespace of this store. */
  get namespace(): string {
    return this.config.namespace;
  }

  /** Resolves once the backend is open (at once for the memory backend). */
  ready(): Promise<void> {
    return this.#ready;
  }

  /**
   * Registers an operation that {@link Store.apply} runs atomically inside the actor, from any thread.
   * @param name - the name callers pass to `apply`
   * @param op - `(old, arg) => next`; returning `undefined` deletes the key
   * @returns this store, for chaining
   * @example
   * store.defineOp('push', (list = [], item) => [...list, item]);
   * await store.apply('log', 'push', 'started');
   */
  defineOp<TValue = any, TArg = any>(name: string, op: StoreOp<TValue, TArg>): this {
    assertName('name', name);
    if (typeof op !== 'function') throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`op\` to be a function, got ${describe(op)}`);
    this.actor.defineOp(name, op as StoreOp);
    return this;
  }

  /** True once {@link MainStore.close} was called. */
  get closed(): boolean {
    return this.actor.closed;
  }

  override stats(): Promise<StoreStats> {
    return super.stats();
  }
}
