import { assertNotShared } from '../../clone.js';
import { describe, incrRangeError, isKvbusError, KvbusError } from '../../errors.js';
import type { Entry, KeyChange, LockRef, Topic, TransactionOp } from '../../types.js';
import type { Backend, BackendContext, BackendScan, BackendSetOptions } from '../backend.js';
import { Batcher } from './batcher.js';
import { ChangeFeed } from './change-feed.js';
import type { ClientCache } from './client-cache.js';
import { ClientCachedBackend } from './client-cache-backend.js';
import { clientCacheOf } from './client-cache-options.js';
import { Connection } from './connection.js';
import { History, resolveHistory } from './history.js';
import { Codec, Layout } from './layout.js';
import { RedisLocks } from './locks.js';
import type { RedisBackendOptions } from './options.js';
import { resolveSerializer } from './serializer.js';
import { Subscriptions } from './subscriptions.js';
import { parseLuaNumber, Transactions } from './transactions.js';

export type { RedisBackendOptions } from './options.js';

/** SCAN calls one scan chunk may make while it finds nothing, before it answers an empty chunk. */
const SCAN_STEPS = 8;

/**
 * Creates the Redis backend (node-redis): the store's state lives in Redis, so
 * several processes on several machines share one keyspace and one bus.
 *
 * @param options - `url` or `client`, node-redis options (auth, TLS), `serializer`, `commandTimeoutMs`, `clientCache` (reads from a client-side cache, see docs/redis.md)
 * @returns a backend for one store
 * @example
 * import { createStore } from 'kvbus';
 * import { redisBackend } from 'kvbus/redis';
 * const store = createStore({ backend: redisBackend({ url: 'redis://localhost:6379' }), namespace: 'app' });
 */
export function redisBackend(options: RedisBackendOptions = {}): Backend {
  if (options === null || typeof options !== 'object') {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected redisBackend options to be an object, got ${describe(options)}`);
  }
  const timeout = options.commandTimeoutMs ?? 5_000;
  if (typeof timeout !== 'number' || !(timeout > 0)) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`commandTimeoutMs\` to be a positive number, got ${describe(timeout)}`);
  }
  const codec = new Codec(resolveSerializer(options.serializer));
  const maxEvents = resolveHistory(options.history);
  const cache = clientCacheOf(options, codec);
  const backend = new RedisBackend(options, codec, timeout, maxEvents, cache);
  return cache ? new ClientCachedBackend(backend, cache) : backend;
}

/** The Backend over Redis: the parts below, and the commands that are not gets and sets. */
class RedisBackend implements Backend {
  readonly kind = 'redis';
  readonly sharesValues = false;
  readonly isAsync = true;
  readonly #codec: Codec;
  /** The store's names in Redis, known once open. */
  readonly #layout: Layout;
  readonly #connection: Connection;
  readonly #batcher: Batcher;
  readonly #subscriptions: Subscriptions;
  /** Transactions, fenced writes and getMany. */
  readonly #transactions: Transactions;
  /** The history stream: replays, snapshots, and resuming the change feed. */
  readonly #history: History;
  /** The change events this process emits; stopped on close, so that no catch-up outlives the store. */
  readonly #feed: ChangeFeed;
  readonly locks: RedisLocks;

  constructor(options: RedisBackendOptions, codec: Codec, timeout: number, maxEvents: number, cache: ClientCache | undefined) {
    this.#codec = codec;
    this.#layout = new Layout(maxEvents);
    this.#connection = new Connection(options, timeout, this.#layout, cache);
    this.#batcher = new Batcher(this.#connection, this.#layout, codec);
    this.#history = new History(this.#connection, this.#layout, codec);
    this.#feed = new ChangeFeed(this.#connection, this.#layout, this.#history, maxEvents > 0);
    this.#subscriptions = new Subscriptions(this.#connection, this.#layout, codec, this.#feed);
    this.#transactions = new Transactions(this.#connection, this.#layout, codec);
    this.locks = new RedisLocks(this.#connection, this.#layout, (fn) => this.#run(fn));
  }

  open(context: BackendContext): Promise<void> {
    if (this.#connection.started)
      throw new KvbusError('ERR_BAD_ARGUMENT', 'This redis backend already serves a store: call redisBackend() once per store');
    this.#subscriptions.serve(context);
    this.#layout.use(context.namespace);
    const opened = this.#connection.open();
    return this.#layout.historyCap === '0' ? opened : opened.then(() => this.#subscriptions.recordExpiries());
  }

  get(key: string): Promise<Entry | undefined> {
    return this.#batcher.get(key);
  }

  set(key: string, value: unknown, options: BackendSetOptions): Promise<number> {
    // A fenced write checks its lock in the same script: the TRANSACTION script, off the hot path.
    const { fence } = options;
    if (fence) return this.#run(() => this.#transactions.set(key, value, { ...options, fence }));
    return this.#batcher.set(key, value, options);
  }

  delete(key: string, ifRevision?: number, fence?: LockRef): Promise<boolean> {
    if (fence) return this.#run(() => this.#transactions.delete(key, ifRevision, fence));
    return this.#run(async () => {
      const args = [ifRevision === undefined ? '' : String(ifRevision), this.#layout.historyCap];
      return (
        Number(
          await this.#connection.script('DELETE', [this.#layout.data(key), this.#layout.rev, this.#layout.ttlMark(key)], args, key),
        ) === 1
      );
    });
  }

  has(key: string): Promise<boolean> {
    return this.#run(
      async () =>
        Number(await this.#connection.commands.sendCommand(['EXISTS', this.#layout.data(key)], this.#connection.commandOptions())) === 1,
    );
  }

  ttl(key: string): Promise<number | undefined> {
    return this.#run(async () => {
      const ms = Number(await this.#connection.commands.sendCommand(['PTTL', this.#layout.data(key)], this.#connection.commandOptions()));
      return ms === -2 ? undefined : ms === -1 ? Number.POSITIVE_INFINITY : ms;
    });
  }

  keys(pattern: string | undefined): Promise<string[]> {
    return this.#run(() => this.#scan(pattern));
  }

  entries(pattern: string | undefined): Promise<Map<string, unknown>> {
    return this.#run(async () => {
      const keys = await this.#scan(pattern);
      const entries = await Promise.all(keys.map((key) => this.get(key).then((entry) => [key, entry] as const)));
      const out = new Map<string, unknown>();
      for (const [key, entry] of entries) if (entry) out.set(key, entry.value);
      return out;
    });
  }

  scan(pattern: string | undefined): BackendScan {
    const match = this.#layout.dataGlob(pattern ?? '*');
    const skip = this.#layout.data('').length;
    let cursor = '0';
    let done = false;
    const connection = this.#connection;
    const read = async (count: number, out: unknown[]): Promise<boolean> => {
      let keys: string[] = [];
      // COUNT is work, not results: SCAN may answer nothing for a while, so go on a
      // few steps (the actor is not held meanwhile), then give back a short chunk.
      for (let step = 0; step < SCAN_STEPS && keys.length === 0 && !done; step++) {
        const [next, found] = (await connection.commands.sendCommand(
          ['SCAN', cursor, 'MATCH', match, 'COUNT', String(count)],
          connection.commandOptions(),
        )) as [string, string[]];
        cursor = String(next);
        done = cursor === '0';
        keys = found.map(String);
      }
      if (keys.length === 0) return done;
      // Values in one MGET; a key that vanished since SCAN saw it reads as nil and is skipped.
      const stored = (await connection.commands.sendCommand(['MGET', ...keys], connection.bufferOptions())) as Array<Buffer | null>;
      for (let i = 0; i < keys.length; i++) {
        const entry = this.#codec.readStored(stored[i] ?? null);
        if (entry) out.push(keys[i]!.slice(skip), entry.value);
      }
      return done;
    };
    return {
      next: (count, out) => (done ? true : this.#run(() => read(count, out))),
      close: () => {
        done = true;
      },
    };
  }

  changesSince(since: number, pattern: string | undefined): Promise<KeyChange[]> {
    return this.#run(() => this.#history.changesSince(since, pattern));
  }

  snapshot(pattern: string | undefined): Promise<{ revision: number; entries: Map<string, Entry> }> {
    return this.#run(() => this.#history.snapshot(pattern));
  }

  clear(): Promise<void> {
    return this.#run(async () => {
      const layout = this.#layout;
      const args = [layout.dataGlob('*'), layout.ttlMarkGlob('*'), layout.changes, layout.historyCap];
      this.#connection.saw(Number(await this.#connection.script('CLEAR', [layout.rev], args)));
    });
  }

  incr(key: string, by: number, fence?: LockRef): Promise<number> {
    if (fence) return this.#run(() => this.#transactions.incr(key, by, fence));
    return this.#run(async () => {
      try {
        const args = [String(by), this.#layout.historyCap];
        return Number(await this.#connection.script('INCR', [this.#layout.data(key), this.#layout.rev], args, key));
      } catch (error) {
        // The script refused a result that is not a finite number, and wrote nothing.
        const message = error instanceof Error ? error.message : '';
        if (message.startsWith('KVBUS_RANGE ')) throw incrRangeError(key, parseLuaNumber(message.slice(12)), by);
        throw error;
      }
    });
  }

  apply(key: string, op: (old: unknown) => unknown): Promise<unknown> {
    // Other processes write to the same Redis, so the actor alone cannot make this
    // atomic: an optimistic loop inside the actor (the caller still waits once).
    // The op's own error reaches the caller as it is, as on the memory backend:
    // #run would report it as a failure of Redis (ERR_BACKEND).
    let failed: { error: unknown } | undefined;
    const run = this.#run(async () => {
      for (;;) {
        const entry = await this.get(key);
        let next: unknown;
        try {
          next = op(entry?.value);
        } catch (error) {
          failed = { error };
          throw error;
        }
        // v8.serialize would copy a view on a SharedArrayBuffer where the memory backend refuses it: refuse it here too.
        assertNotShared(next, 'key', key);
        try {
          if (next === undefined) {
            if (entry) await this.delete(key, entry.revision);
          } else {
            await this.set(key, next, { ifRevision: entry?.revision ?? 0, keepTtl: true });
          }
          return next;
        } catch (error) {
          if (!isKvbusError(error) || error.code !== 'ERR_CONFLICT') throw error;
        }
      }
    });
    return run.catch((error: unknown) => {
      throw failed ? failed.error : error;
    });
  }

  publish(channel: string, data: unknown): Promise<number> {
    return this.#run(async () => {
      const bytes = this.#codec.encodeMessage(data, channel);
      return Number(
        await this.#connection.commands.sendCommand(['PUBLISH', this.#layout.channel(channel), bytes], this.#connection.commandOptions()),
      );
    });
  }

  interest(topic: Topic, active: boolean): Promise<void> {
    this.#batcher.flush(); // earlier gets and sets go first, as in #run
    return this.#subscriptions.interest(topic, active);
  }

  size(): Promise<number> {
    return this.#run(async () => (await this.#scan(undefined)).length);
  }

  getMany(keys: readonly string[]): Promise<unknown[]> {
    return this.#run(() => this.#transactions.getMany(keys));
  }

  transaction(ops: readonly TransactionOp[], fence?: LockRef): Promise<number[]> {
    return this.#run(() => this.#transactions.transaction(ops, fence));
  }

  async close(): Promise<void> {
    // A catch-up retrying a failed read would otherwise go on every 100 ms on a closed connection.
    this.#feed.stop();
    if (this.#connection.started) await this.locks.close();
    return this.#connection.close();
  }

  /** Runs after the connection is up, behind the gets and sets of the tick; turns every failure into a KvbusError. */
  #run<TResult>(fn: () => Promise<TResult>): Promise<TResult> {
    this.#batcher.flush(); // earlier gets and sets go first
    return this.#connection.run(fn);
  }

  async #scan(pattern: string | undefined): Promise<string[]> {
    const match = this.#layout.dataGlob(pattern ?? '*');
    const skip = this.#layout.data('').length;
    const found = new Set<string>(); // SCAN may return a key twice
    let cursor = '0';
    do {
      const [next, keys] = (await this.#connection.commands.sendCommand(
        ['SCAN', cursor, 'MATCH', match, 'COUNT', '1000'],
        this.#connection.commandOptions(),
      )) as [string, string[]];
      cursor = String(next);
      for (const key of keys) found.add(String(key).slice(skip));
    } while (cursor !== '0');
    return [...found];
  }
}
