import { throwError } from 'rxjs';
import { cloneValue } from '../clone.js';
import * as bus from '../commands/bus.js';
import * as coord from '../commands/coord.js';
import type { CommandSpec } from '../commands/define.js';
import type { SubEvent } from '../commands/events.js';
import * as feed from '../commands/feed.js';
import * as kv from '../commands/kv.js';
import type { Link } from '../commands/link.js';
import { assertScanCount } from '../commands/scan.js';
import * as sys from '../commands/sys.js';
import type { AnySpec, Command } from '../commands/table.js';
import { KvbusError } from '../errors.js';
import { commandChannel, commandContext, tracingCommands } from '../tracing.js';
import type {
  ChangeEvent,
  DeleteOptions,
  Entry,
  IncrOptions,
  KvbusObservable,
  Lock,
  LockOptions,
  PatternMessage,
  PeerEvent,
  ReceiveHandler,
  ScanOptions,
  SetOptions,
  Snapshot,
  Store,
  StoreStats,
  SyncStore,
  Topic,
  TransactionOp,
  TransactionOptions,
  UpdateOptions,
} from '../types.js';
import { assertKey, assertName, assertOptions } from '../validate.js';
import { abortable, assertSignal, throwIfAborted } from './abortable.js';
import { buildDelete, buildIncr, buildSet, buildTransaction } from './build-command.js';
import { DEFAULT_ITERATION_BUFFER, IterableObservable } from './iterable-observable.js';
import { acquireLock, withLock } from './lock-client.js';
import { receiveWith } from './receive-with.js';
import { scanEntries } from './scan-entries.js';
import type { StoreClientOptions } from './store-client-options.js';
import { observeTopic, watchKey } from './topic-observables.js';
import { updateKey } from './update-key.js';

export type { StoreClientOptions };

/** @internal The default report of a failing handler: it must not pass unseen, nor stop anything. */
export function reportToConsole(error: unknown, context: string): void {
  console.error(`kvbus: ${context} failed:`, error);
}

/**
 * The {@link Store} API over a {@link Link}: the same code serves the main
 * thread, workers and child processes. Validation happens here, in the
 * caller's stack, and failures come back as rejected promises (or, for the
 * observable factories, as a synchronous throw).
 */
export class StoreClient implements Store {
  readonly #link: Link;
  /** What scans, updates and locks send with: `#request`, traced as every call. */
  readonly #traced: Pick<Link, 'request'> = { request: (cmd, spec) => this.#request(cmd, spec) };
  readonly #options: StoreClientOptions;
  /** Blocking `get`, `getEntry`, `set`, `delete`, `has` and `incr`, for code that cannot await. */
  readonly sync: SyncStore;

  /**
   * @param link - the way to the actor
   * @param options - copy mode and error reporting
   */
  constructor(link: Link, options: StoreClientOptions) {
    this.#link = link;
    this.#options = options;
    this.sync = options.sync;
  }

  get<TValue = unknown>(key: string): Promise<TValue | undefined>;
  get<TValue = unknown>(key: string, defaultValue: TValue): Promise<TValue>;
  get<TValue = unknown>(key: string, defaultValue?: TValue): Promise<TValue | undefined> {
    const value = this.#call(kv.get, { type: 'kv.get', key }) as Promise<TValue | undefined>;
    return defaultValue === undefined ? value : value.then((v) => (v === undefined ? defaultValue : v));
  }

  getEntry<TValue = unknown>(key: string): Promise<Entry<TValue> | undefined> {
    return this.#call(kv.getEntry, { type: 'kv.getEntry', key }) as Promise<Entry<TValue> | undefined>;
  }

  set(key: string, value: unknown, options?: SetOptions): Promise<number> {
    return this.#send(() => buildSet(key, value, options, this.#options.copyIn), kv.set, options?.signal, 'set', key) as Promise<number>;
  }

  delete(key: string, options?: DeleteOptions): Promise<boolean> {
    return this.#send(() => buildDelete(key, options), kv.delete, options?.signal, 'delete', key) as Promise<boolean>;
  }

  has(key: string): Promise<boolean> {
    return this.#call(kv.has, { type: 'kv.has', key }) as Promise<boolean>;
  }

  ttl(key: string): Promise<number | undefined> {
    return this.#call(kv.ttl, { type: 'kv.ttl', key }) as Promise<number | undefined>;
  }

  keys(pattern?: string): Promise<string[]> {
    return this.#call(kv.keys, pattern === undefined ? { type: 'kv.keys' } : { type: 'kv.keys', pattern }) as Promise<string[]>;
  }

  getAll<TValue = unknown>(pattern?: string): Promise<Map<string, TValue>> {
    return this.#call(kv.getAll, pattern === undefined ? { type: 'kv.getAll' } : { type: 'kv.getAll', pattern }) as Promise<
      Map<string, TValue>
    >;
  }

  scan<TValue = unknown>(glob?: string, options?: ScanOptions): AsyncIterable<[string, TValue]> {
    // Checked here, in the caller's stack, as the observable factories are.
    if (glob !== undefined) assertName('glob', glob);
    assertOptions('scan options', options);
    assertScanCount(options?.count);
    assertSignal(options?.signal);
    return scanEntries<TValue>(this.#traced, glob, options?.count, options?.signal);
  }

  clear(): Promise<void> {
    return this.#request({ type: 'kv.clear' }, kv.clear) as Promise<void>;
  }

  incr(key: string, by = 1, options?: IncrOptions): Promise<number> {
    return this.#send(() => buildIncr(key, by, options), kv.incr, options?.signal, 'incr', key) as Promise<number>;
  }

  update<TValue = unknown>(
    key: string,
    fn: (old: TValue | undefined) => TValue | undefined | Promise<TValue | undefined>,
    options?: UpdateOptions,
  ): Promise<TValue | undefined> {
    return updateKey({ request: this.#traced.request, copy: (value, k) => this.#copy(value, k) }, key, fn, options);
  }

  apply<TValue = unknown>(key: string, opName: string, arg?: unknown): Promise<TValue | undefined> {
    return this.#call(kv.apply, { type: 'kv.apply', key, op: opName }, (cmd) => {
      if (arg !== undefined) cmd.arg = this.#copy(arg, key);
    }) as Promise<TValue | undefined>;
  }

  publish(channel: string, data: unknown): Promise<number> {
    return this.#call(bus.publish, { type: 'bus.publish', channel, data }, (cmd) => {
      // Always copied, even with `copy: false`: uncloneable data must fail here,
      // at the publisher, whether or not anyone listens.
      cmd.data = cloneValue(data, 'channel', channel);
    }) as Promise<number>;
  }

  channel<TData = unknown>(name: string): KvbusObservable<TData> {
    assertName('channel', name);
    return this.#observe({ kind: 'channel', name }, (event, next) => {
      if (event.type === 'message') next(event.data as TData);
    });
  }

  pattern<TData = unknown>(glob: string): KvbusObservable<PatternMessage<TData>> {
    assertName('pattern', glob);
    return this.#observe({ kind: 'pattern', name: glob }, (event, next) => {
      if (event.type === 'message') next({ channel: event.channel, data: event.data as TData });
    });
  }

  watch<TValue = unknown>(key: string): KvbusObservable<TValue | undefined> {
    assertKey(key);
    // A loop over a watch needs only the key's latest value.
    return watchKey<TValue>(this.#link, key);
  }

  changes<TValue = unknown>(glob = '*', options?: feed.ChangesOptions): KvbusObservable<ChangeEvent<TValue>> {
    assertName('glob', glob);
    feed.assertChangesOptions(options);
    return this.#observe({ kind: 'changes', name: glob, since: options?.since } as bus.SubscribeTopic, (event, next) => {
      if (event.type !== 'message' && event.type !== 'snapshot' && event.type !== 'end') next(event as ChangeEvent<TValue>);
    });
  }

  getMany<TValue = unknown>(keys: readonly string[]): Promise<Array<TValue | undefined>> {
    // A copy of the array: the caller may change theirs while the request waits to leave.
    return this.#call(coord.getMany, { type: 'kv.getMany', keys: keys as string[] }, (cmd) => {
      cmd.keys = [...keys];
    }) as Promise<Array<TValue | undefined>>;
  }

  transaction(ops: readonly TransactionOp[], options?: TransactionOptions): Promise<number[]> {
    return this.#send(
      () => buildTransaction(ops, options, this.#options.copyIn),
      coord.transaction,
      options?.signal,
      'transaction',
    ) as Promise<number[]>;
  }

  // No blocking form in `store.sync`, on purpose (see SyncStore): a deadlock trap.
  lock(name: string, options?: LockOptions): Promise<Lock> {
    return acquireLock(this.#traced, name, options);
  }

  withLock<TResult>(name: string, fn: (lock: Lock) => TResult | Promise<TResult>, options?: LockOptions): Promise<TResult> {
    return withLock(this.#traced, name, fn, options);
  }

  onSubscriberReceive<TData = unknown>(channel: string, handler: ReceiveHandler<TData>): () => void {
    assertName('channel', channel);
    return receiveWith(this.channel<TData>(channel), channel, handler, this.#options.onError);
  }

  peers(): KvbusObservable<PeerEvent> {
    const notHere = () =>
      new KvbusError('ERR_BAD_ARGUMENT', 'peers() is only available on the store in the main thread, which sees every client');
    const peers = this.#options.peers ? this.#options.peers() : throwError(notHere);
    return IterableObservable.from(peers, this.#options.iterationBuffer);
  }

  snapshot<TValue = unknown>(glob?: string): Promise<Snapshot<TValue>> {
    const cmd: feed.SnapshotCommand = glob === undefined ? { type: 'kv.snapshot' } : { type: 'kv.snapshot', pattern: glob };
    return this.#call(feed.snapshot, cmd) as Promise<Snapshot<TValue>>;
  }

  stats(): Promise<StoreStats> {
    return this.#request({ type: 'sys.stats' }, sys.stats) as Promise<StoreStats>;
  }

  close(): Promise<void> {
    return this.#link.close();
  }

  /** Calls {@link Store.close}, so that `await using store = …` closes the store (or this client's connection) at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Builds a command (checking it, in the caller's stack) and sends it; a failure to build,
   * or a `signal` aborted already, becomes a rejection, and one aborted later rejects the wait
   * (the command, once sent, may still be applied).
   */
  #send(build: () => Command, spec: AnySpec, signal?: AbortSignal, method?: string, key?: string): Promise<unknown> {
    let cmd: Command;
    const what = signal === undefined ? '' : `${method}(${key === undefined ? '' : JSON.stringify(key)})`;
    try {
      cmd = build();
      if (signal !== undefined) {
        assertSignal(signal);
        throwIfAborted(signal, what);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    const answer = this.#request(cmd, spec);
    return signal === undefined ? answer : abortable(answer, signal, what);
  }

  /**
   * Checks a command with its descriptor (in the caller's stack), lets `prepare`
   * finish it (copies), and sends it with its descriptor; a failure of either
   * becomes a rejection.
   */
  #call<TCommand extends Command>(spec: CommandSpec<TCommand>, cmd: TCommand, prepare?: (cmd: TCommand) => void): Promise<unknown> {
    try {
      spec.validate(cmd);
      prepare?.(cmd);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#request(cmd, spec);
  }

  /** Sends a command; with a `kvbus:command` subscriber, inside a trace (see docs/diagnostics.md). */
  #request(cmd: Command, spec?: AnySpec): Promise<unknown> {
    if (!tracingCommands()) return this.#link.request(cmd, spec);
    return commandChannel.tracePromise(() => this.#link.request(cmd, spec), commandContext(cmd, this.#options.kind ?? 'main'));
  }

  #copy<TValue>(value: TValue, key: string): TValue {
    return this.#options.copyIn ? cloneValue(value, 'key', key) : value;
  }

  #observe<TOut>(topic: Topic, map: (event: SubEvent, next: (value: TOut) => void) => void): IterableObservable<TOut> {
    return observeTopic(this.#link, topic, map, this.#options.iterationBuffer ?? DEFAULT_ITERATION_BUFFER);
  }
}
