import type { ChildProcess, ForkOptions } from 'node:child_process';
import { setEnvironmentData, type Worker } from 'node:worker_threads';
import { Subject } from 'rxjs';
import { LocalLink } from '../actors/local-link.js';
import { StoreActor } from '../actors/store-actor.js';
import type { Backend } from '../backends/backend.js';
import { checkCacheOptions } from '../cache/cache-options.js';
import type { CacheOptions } from '../cache-types.js';
import type { Clock } from '../clock.js';
import * as sys from '../commands/sys.js';
import { debug } from '../debug.js';
import { describe, KvbusError } from '../errors.js';
import { attach } from '../pool/attach.js';
import { fork } from '../pool/fork.js';
import { REACHABLE } from '../pool/marks.js';
import { STORE_HOST, type StoreHost } from '../pool/store-host.js';
import type { ClientInfo, PeerEvent, StoreOp, SubscriberBufferOptions } from '../types.js';
import { assertName } from '../validate.js';
import { StoreClient, type StoreClientOptions } from './store-client.js';
import { createSyncStore, refusingSyncStore } from './sync-store.js';

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
 * owner of the actor can do: register operations, connect workers and child
 * processes, watch them come and go, close.
 */
export class MainStore extends StoreClient {
  /** @internal How attach, fork and pools reach this store. */
  readonly [STORE_HOST]: StoreHost;
  readonly #actor: StoreActor;
  readonly #config: MainStoreConfig;
  readonly #peers$ = new Subject<PeerEvent>();
  readonly #ready: Promise<void>;
  readonly #link: LocalLink;

  /** @internal Use {@link createStore}. */
  constructor(config: MainStoreConfig) {
    const actor = new StoreActor(config.backend, { namespace: config.namespace, clock: config.clock, copy: config.copy });
    const link = new LocalLink(actor, config.copy && config.backend.sharesValues);
    const sync = config.backend.isAsync
      ? refusingSyncStore(
          () =>
            new KvbusError(
              'ERR_WOULD_DEADLOCK',
              `store.sync cannot block the main thread on the ${config.backend.kind} backend: its answer needs this thread's event loop; use the async API (await store.get(...))`,
            ),
        )
      : createSyncStore((cmd, spec) => link.requestSync(cmd, spec), config.copy);
    const peers$ = new Subject<PeerEvent>();
    super(link, {
      copyIn: config.copy,
      onError: config.onError,
      sync,
      peers: () => peers$.asObservable(),
      iterationBuffer: config.subscriberBuffer,
    });
    this.#peers$ = peers$;
    this.#actor = actor;
    this.#link = link;
    this.#config = config;
    let clients = 0;
    // What is refused before a client has a connection (a bad hello) is counted
    // through a session of the host's own, which no command ever uses.
    const hostSession = actor.open({ id: 0, kind: 'local', reply: () => {}, deliver: () => {}, end: () => {} });
    this[STORE_HOST] = {
      gate: actor,
      get closed() {
        return actor.closed;
      },
      requestTimeoutMs: config.requestTimeoutMs,
      subscriberBuffer: config.subscriberBuffer,
      nextClientId: () => ++clients,
      announce: (event) => {
        if (debug.enabled) debug('%s %d %s%s', event.kind, event.id, event.type, describePeer(event));
        peers$.next(event);
      },
      malformed: () => hostSession.malformed(),
      openCache: (conn, cache) => actor.nearCaches.open(conn, cache),
    };
    // Workers spawned from now on learn that a store can be reached (see getStore).
    setEnvironmentData(REACHABLE, true);
    this.#ready = Promise.resolve(actor.start());
    // An I/O backend reports its own failure through the first commands; do not let it go unhandled here.
    this.#ready.catch(() => {});
    if (debug.enabled) debug('store open: namespace %j, %s backend', config.namespace, config.backend.kind);
  }

  /** The namespace of this store. */
  get namespace(): string {
    return this.#config.namespace;
  }

  /** True once {@link MainStore.close} was called. */
  get closed(): boolean {
    return this.#actor.closed;
  }

  /** Resolves once the backend is open (at once for the memory backend). */
  ready(): Promise<void> {
    return this.#ready;
  }

  /**
   * The workers and child processes connected now, with their subscriptions and
   * how their buffers fare (a snapshot; `peers()` tells of joins and exits).
   * @returns one entry per remote client
   */
  clients(): Promise<ClientInfo[]> {
    return this.#link.request({ type: 'sys.clients' }, sys.clients) as Promise<ClientInfo[]>;
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
  // biome-ignore lint/suspicious/noExplicitAny: as StoreOp's defaults
  defineOp<TValue = any, TArg = any>(name: string, op: StoreOp<TValue, TArg>): this {
    assertName('name', name);
    if (typeof op !== 'function') throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`op\` to be a function, got ${describe(op)}`);
    this.#actor.defineOp(name, op as StoreOp);
    return this;
  }

  /**
   * Connects a worker thread or a child process (forked with an IPC channel) to this store:
   * its `getStore()` then reaches this one. Call it right after creating the worker.
   * @param target - a `Worker`, or a `ChildProcess` with an IPC channel
   * @param options - `cache`: its near cache (matching keys, once read, are answered without a message; docs/near-cache.md)
   * @returns a function that detaches it (its pending calls reject with `ERR_DISCONNECTED`)
   * @example
   * const worker = new Worker(new URL('./job.js', import.meta.url));
   * store.attach(worker, { cache: { keys: 'config:*' } });
   */
  attach(target: Worker | ChildProcess, options: { cache?: CacheOptions } = {}): () => void {
    if (options === null || typeof options !== 'object') {
      throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`options\` to be { cache? }, got ${describe(options)}`);
    }
    return attach(this[STORE_HOST], target, checkCacheOptions(options.cache));
  }

  /**
   * `child_process.fork` with structured-clone serialization, already attached to this store.
   * @param modulePath - the module to run in the child
   * @param args - its arguments
   * @param options - fork options (`serialization` is always `'advanced'`), and `cache`: the child's near cache
   * @returns the child process
   * @example
   * const child = store.fork(new URL('./child.js', import.meta.url).pathname, [], { cache: { keys: 'config:*' } });
   */
  fork(modulePath: string | URL, args: readonly string[] = [], options: ForkOptions & { cache?: CacheOptions } = {}): ChildProcess {
    if (options === null || typeof options !== 'object') {
      throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`options\` to be fork options, got ${describe(options)}`);
    }
    const { cache, ...forkOptions } = options;
    return fork(this[STORE_HOST], modulePath, args, forkOptions, checkCacheOptions(cache));
  }

  /** Stops the store: pending remote calls reject `ERR_CLOSED`, every observable completes, the backend closes. */
  override async close(): Promise<void> {
    if (this.#actor.closed) return;
    await super.close();
    this.#peers$.complete();
    if (debug.enabled) debug('store closed: namespace %j', this.#config.namespace);
  }
}

/** The rest of a peer event, for the debug log: who it is, how it ended, why it was refused or cut off. */
function describePeer(event: PeerEvent): string {
  let out = '';
  if (event.threadId !== undefined) out += ` (thread ${event.threadId})`;
  if (event.pid !== undefined) out += ` (pid ${event.pid})`;
  if (event.exitCode !== undefined) out += `, exit code ${event.exitCode}`;
  if (event.signal !== undefined) out += `, signal ${event.signal}`;
  if (event.reason !== undefined) out += `: ${event.reason}`;
  return out;
}
