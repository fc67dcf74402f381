import { Observable, throwError } from 'rxjs';
import { cloneValue } from '../clone.js';
import * as bus from '../commands/bus.js';
import type { CommandSpec } from '../commands/define.js';
import type { SubEvent } from '../commands/events.js';
import * as kv from '../commands/kv.js';
import type { Link, SubscriptionHandlers } from '../commands/link.js';
import { assertScanCount } from '../commands/scan.js';
import * as sys from '../commands/sys.js';
import type { Command } from '../commands/table.js';
import { describe, isKvbusError, KvbusError } from '../errors.js';
import type {
  ChangeEvent,
  Entry,
  Lock,
  LockOptions,
  PatternMessage,
  PeerEvent,
  ReceiveHandler,
  ScanOptions,
  SetOptions,
  Store,
  StoreStats,
  SyncStore,
  Topic,
  TransactionOp,
  TransactionOptions,
  UpdateOptions,
} from '../types.js';
import { assertKey, assertName, assertOptions } from '../validate.js';
import { buildSet } from './build-command.js';
import { scanEntries } from './scan-entries.js';

/** Options of a {@link StoreClient}. */
export interface StoreClientOptions {
  /**
   * Copy values at the call. Every client does, except a main-thread store with
   * `copy: false`: a worker copies too (the stream would clone only when the
   * batch leaves, and a value mutated after `set` in the same tick must not leak in).
   */
  copyIn: boolean;
  /** Where errors of `onSubscriberReceive` handlers go. */
  onError: (error: unknown, context: string) => void;
  /** The blocking API of this place. */
  sync: SyncStore;
  /** Peer events, where this client can see them (the main thread). */
  peers?: () => Observable<PeerEvent>;
}

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
    let cmd: Command;
    try {
      cmd = buildSet(key, value, options, this.#options.copyIn);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#link.request(cmd, kv.set) as Promise<number>;
  }

  delete(key: string): Promise<boolean> {
    return this.#call(kv.delete, { type: 'kv.delete', key }) as Promise<boolean>;
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
    return scanEntries<TValue>(this.#link, glob, options?.count);
  }

  clear(): Promise<void> {
    return this.#link.request({ type: 'kv.clear' }, kv.clear) as Promise<void>;
  }

  incr(key: string, by = 1): Promise<number> {
    return this.#call(kv.incr, { type: 'kv.incr', key, by }) as Promise<number>;
  }

  async update<TValue = unknown>(
    key: string,
    fn: (old: TValue | undefined) => TValue | undefined | Promise<TValue | undefined>,
    options?: UpdateOptions,
  ): Promise<TValue | undefined> {
    assertKey(key);
    if (typeof fn !== 'function') throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`fn\` to be a function, got ${describe(fn)}`);
    const retries = options?.retries ?? Infinity;
    if (typeof retries !== 'number' || Number.isNaN(retries) || retries < 0) {
      throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`retries\` to be a number >= 0, got ${describe(retries)}`);
    }
    for (let attempt = 0; ; attempt++) {
      const entry = (await this.#link.request({ type: 'kv.getEntry', key }, kv.getEntry)) as Entry<TValue> | undefined;
      const next = await fn(entry?.value);
      const revision = entry?.revision ?? 0;
      try {
        if (next === undefined) {
          if (entry) await this.#link.request({ type: 'kv.delete', key, ifRevision: revision }, kv.delete);
        } else {
          await this.#link.request({ type: 'kv.set', key, value: this.#copy(next, key), ifRevision: revision, keepTtl: true }, kv.set);
        }
        return next;
      } catch (error) {
        if (!isKvbusError(error) || error.code !== 'ERR_CONFLICT') throw error;
        if (attempt >= retries) {
          throw new KvbusError(
            'ERR_CONFLICT',
            `update(${JSON.stringify(key)}) gave up after ${attempt + 1} conflicting attempts (retries: ${retries})`,
            { cause: error },
          );
        }
      }
    }
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

  channel<TData = unknown>(name: string): Observable<TData> {
    assertName('channel', name);
    return this.#observe({ kind: 'channel', name }, (event, next) => {
      if (event.type === 'message') next(event.data as TData);
    });
  }

  pattern<TData = unknown>(glob: string): Observable<PatternMessage<TData>> {
    assertName('pattern', glob);
    return this.#observe({ kind: 'pattern', name: glob }, (event, next) => {
      if (event.type === 'message') next({ channel: event.channel, data: event.data as TData });
    });
  }

  watch<TValue = unknown>(key: string): Observable<TValue | undefined> {
    assertKey(key);
    return new Observable<TValue | undefined>((subscriber) => {
      // A clear concerns a watched key only if it held a value.
      let present = false;
      // Revisions order what this observer has seen: on a backend whose change events
      // travel apart from its replies (Redis), a change may overtake the first snapshot.
      let seen = -1;
      return this.#link.subscribe(
        { kind: 'key', name: key },
        handlers(subscriber, (event: SubEvent) => {
          if (event.type === 'message' || event.type === 'end' || event.revision <= seen) return;
          seen = event.revision;
          if (event.type === 'snapshot' || event.type === 'set') {
            present = event.value !== undefined;
            subscriber.next(event.value as TValue | undefined);
          } else if (event.type !== 'clear' || present) {
            present = false;
            subscriber.next(undefined);
          }
        }),
      );
    });
  }

  changes<TValue = unknown>(glob = '*'): Observable<ChangeEvent<TValue>> {
    assertName('glob', glob);
    return this.#observe({ kind: 'changes', name: glob }, (event, next) => {
      if (event.type !== 'message' && event.type !== 'snapshot' && event.type !== 'end') next(event as ChangeEvent<TValue>);
    });
  }

  // TODO(issue 12): built by the coordination work.
  getMany<TValue = unknown>(_keys: readonly string[]): Promise<Array<TValue | undefined>> {
    return Promise.reject(new KvbusError('ERR_BAD_ARGUMENT', 'not built yet (issue 12)'));
  }

  transaction(_ops: readonly TransactionOp[], _options?: TransactionOptions): Promise<number[]> {
    return Promise.reject(new KvbusError('ERR_BAD_ARGUMENT', 'not built yet (issue 12)'));
  }

  lock(_name: string, _options?: LockOptions): Promise<Lock> {
    return Promise.reject(new KvbusError('ERR_BAD_ARGUMENT', 'not built yet (issue 12)'));
  }

  withLock<TResult>(_name: string, _fn: (lock: Lock) => TResult | Promise<TResult>, _options?: LockOptions): Promise<TResult> {
    return Promise.reject(new KvbusError('ERR_BAD_ARGUMENT', 'not built yet (issue 12)'));
  }

  onSubscriberReceive<TData = unknown>(channel: string, handler: ReceiveHandler<TData>): () => void {
    assertName('channel', channel);
    if (typeof handler !== 'function') {
      throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`handler\` to be a function, got ${describe(handler)}`);
    }
    const context = `a handler of channel ${JSON.stringify(channel)}`;
    const report = (error: unknown) => this.#options.onError(error, context);
    const subscription = this.channel<TData>(channel).subscribe({
      next: (data) => {
        // A failing handler is reported and forgotten: it stops neither the actor nor its siblings.
        try {
          const result = handler(data);
          if (result && typeof (result as Promise<void>).then === 'function') (result as Promise<void>).then(undefined, report);
        } catch (error) {
          report(error);
        }
      },
      error: report,
    });
    return () => subscription.unsubscribe();
  }

  peers(): Observable<PeerEvent> {
    if (this.#options.peers) return this.#options.peers();
    return throwError(
      () => new KvbusError('ERR_BAD_ARGUMENT', 'peers() is only available on the store in the main thread, which sees every client'),
    );
  }

  stats(): Promise<StoreStats> {
    return this.#link.request({ type: 'sys.stats' }, sys.stats) as Promise<StoreStats>;
  }

  close(): Promise<void> {
    return this.#link.close();
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
    return this.#link.request(cmd, spec);
  }

  #copy<TValue>(value: TValue, key: string): TValue {
    return this.#options.copyIn ? cloneValue(value, 'key', key) : value;
  }

  #observe<TOut>(topic: Topic, map: (event: SubEvent, next: (value: TOut) => void) => void): Observable<TOut> {
    return new Observable<TOut>((subscriber) => {
      const next = (value: TOut) => subscriber.next(value);
      return this.#link.subscribe(
        topic,
        handlers(subscriber, (event) => map(event, next)),
      );
    });
  }
}

function handlers(subscriber: { error(error: unknown): void; complete(): void }, next: (event: SubEvent) => void): SubscriptionHandlers {
  return { next, error: (error) => subscriber.error(error), complete: () => subscriber.complete() };
}
