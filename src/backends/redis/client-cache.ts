// The actor's own reads on Redis, answered from node-redis's RESP3 client-side
// cache (CLIENT TRACKING) on a connection of their own, and the invalidations
// that cache receives passed on to the actor for worker near caches.
//
// Freshness: a cached value is dropped when Redis's invalidation push arrives
// (another client wrote the key, it expired, or a flush) or when the reading
// connection fails (node-redis empties the cache: pushes may have been lost).
// Writes of this process go on the command connection, and their pushes reach
// the reading connection a little later, so this process never waits for them:
// a key is dropped here as soon as our write of it settles, and a read of a key
// whose write is still in flight waits for that write first. A key this process
// set with a TTL is dropped at its deadline, without waiting for Redis to
// expire it; a TTL set by another process is as fresh as Redis's expiry cycle.
import { RESP_TYPES } from 'redis';
import { KvbusError } from '../../errors.js';
import type { Entry, TransactionOp } from '../../types.js';
import type { BackendContext, MaybePromise } from '../backend.js';
import { KvbusClientSideCache } from './client-cache-provider.js';
import type { Codec, Layout } from './layout.js';
import type { Client, RedisClientCacheOptions } from './options.js';
import { backendError } from './watchdog.js';

const BUFFERS = { [RESP_TYPES.BLOB_STRING]: Buffer } as const;

/** What the cache needs from its connection. */
export interface CacheHooks {
  /** Bounds a command by commandTimeoutMs and maps its failure to ERR_BACKEND. */
  bound<TResult>(command: Promise<TResult>): Promise<TResult>;
  /** Remembers a revision read (see Connection.saw). */
  saw(revision: number): void;
}

/** The ordered read of a key: on the command connection, behind this process's earlier commands. */
export type OrderedGet = (key: string) => Promise<Entry | undefined>;

/**
 * The reading connection with node-redis's client-side cache, and what this
 * process is writing (see the top of this file for how fresh its answers are).
 */
export class ClientCache {
  readonly #codec: Codec;
  readonly #provider: KvbusClientSideCache;
  /** Set by the backend's connection (see {@link ClientCache.use}). */
  #layout!: Layout;
  #hooks!: CacheHooks;
  #reader: Client | undefined;
  #context: BackendContext | undefined;
  /** Per key, the last write of this process still in flight (settled: dropped from the cache). */
  readonly #writing = new Map<string, Promise<unknown>>();
  /** The last clear still in flight. */
  #clearing: Promise<unknown> | undefined;
  /** Per key this process set with a TTL, when it expires (Date.now()); at most #maxDeadlines. */
  readonly #deadlines = new Map<string, number>();
  readonly #maxDeadlines: number;

  constructor(options: Required<RedisClientCacheOptions>, codec: Codec) {
    this.#codec = codec;
    this.#maxDeadlines = 2 * options.maxEntries;
    this.#provider = new KvbusClientSideCache({ maxEntries: options.maxEntries, ttl: options.ttlMs });
  }

  /** Called by the backend's connection: the store's names in Redis, and how to bound commands. */
  use(layout: Layout, hooks: CacheHooks): void {
    this.#layout = layout;
    this.#hooks = hooks;
  }

  /** node-redis's cache, for its statistics. */
  get provider(): KvbusClientSideCache {
    return this.#provider;
  }

  /** Reports what the cache drops to `context.invalidated`, as kvbus keys. */
  serve(context: BackendContext): void {
    this.#context = context;
    this.#provider.listen((redisKey) => {
      const prefix = this.#layout.data('');
      try {
        if (redisKey === null) this.#context?.invalidated(null);
        else if (redisKey.startsWith(prefix)) this.#context?.invalidated([redisKey.slice(prefix.length)]);
      } catch (error) {
        // Thrown into node-redis's reply decoder, it would drop the connection: report it instead.
        console.error('kvbus: the store failed on an invalidation from Redis (a kvbus bug; the store goes on):', error);
      }
    });
  }

  /** Opens the reading connection: a RESP3 duplicate of `client`, with tracking and Buffers for its replies. */
  async connect(client: Client): Promise<void> {
    const reader = client.duplicate({
      RESP: 3,
      clientSideCache: this.#provider,
      emitInvalidate: undefined,
      // Its own typeMapping and no per-command timer (kvbus bounds commands itself);
      // node-redis caches only the replies of a client's default typeMapping.
      commandOptions: { typeMapping: BUFFERS, timeout: 0 },
    }) as Client;
    // Failures reach reads through their commands; without a listener node-redis would throw.
    reader.on('error', () => {});
    this.#reader = reader; // before it connects, so that close() stops it even then
    await reader.connect();
  }

  /**
   * The entry of `key`: from the cache (synchronously), else read through it
   * (which caches it), else, while the reading connection is down, `ordered`.
   */
  get(key: string, ordered: OrderedGet): MaybePromise<Entry | undefined> {
    const reader = this.#reader;
    if (!reader?.isReady) return ordered(key);
    const waitFor = this.#clearing ?? this.#writing.get(key);
    if (waitFor) return waitFor.then(settled, settled).then(() => this.get(key, ordered));
    const redisKey = this.#layout.data(key);
    this.#expireOwn(key, redisKey);
    const cached = this.#provider.peek(redisKey);
    if (cached !== undefined) return this.#decode(cached, key);
    // node-redis hands out a structuredClone of the cached Buffer: a Uint8Array.
    return this.#hooks.bound(reader.get(redisKey) as Promise<Uint8Array | null>).then((bytes) => {
      const entry = this.#decode(bytes && Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), key);
      if (entry) this.#hooks.saw(entry.revision);
      return entry;
    });
  }

  #decode(stored: Buffer | null, key: string): Entry | undefined {
    try {
      return this.#codec.readStored(stored);
    } catch (error) {
      // A value this serializer cannot read.
      throw error instanceof KvbusError ? error : backendError(error, `decode the value of key ${JSON.stringify(key)}`);
    }
  }

  /**
   * Every key's value when every one is cached (one instant: the reading
   * connection's last reply, since Redis sends invalidations in order with
   * replies), else undefined (the caller reads them in one MGET).
   */
  getMany(keys: readonly string[]): unknown[] | undefined {
    if (!this.#reader?.isReady || this.#clearing) return undefined;
    const values: unknown[] = [];
    for (const key of keys) {
      if (this.#writing.has(key)) return undefined;
      const redisKey = this.#layout.data(key);
      this.#expireOwn(key, redisKey);
      const cached = this.#provider.peek(redisKey);
      if (cached === undefined) return undefined;
      values.push(this.#decode(cached, key)?.value);
    }
    return values;
  }

  /**
   * A write of `keys` (`null`: every key) was sent: reads of them wait for it, and
   * once it settles (succeeded or not: it may have been applied) they are dropped
   * from the cache, before the writer's caller hears of it.
   * `ttlMs` is the TTL it gives, `undefined` none, `'keep'` the key's own.
   */
  writing<TResult>(keys: readonly string[] | null, write: MaybePromise<TResult>, ttlMs?: number | 'keep'): Promise<TResult> {
    const done = Promise.resolve(write).then(
      (result) => {
        this.#wrote(keys, done);
        return result;
      },
      (error: unknown) => {
        this.#wrote(keys, done);
        throw error;
      },
    );
    if (keys === null) {
      this.#clearing = done;
      this.#deadlines.clear();
    } else {
      for (const key of keys) {
        this.#writing.set(key, done);
        this.ttl(key, ttlMs);
      }
    }
    return done;
  }

  /** {@link ClientCache.writing} for a transaction's ops (its sets' TTLs, its incrs keep theirs). */
  writingOps<TResult>(ops: readonly TransactionOp[], write: MaybePromise<TResult>): Promise<TResult> {
    const keys: string[] = [];
    for (const op of ops) {
      if (op.op === 'check') continue;
      keys.push(op.key);
      this.ttl(op.key, op.op === 'set' ? op.ttlMs : op.op === 'incr' ? 'keep' : undefined);
    }
    return this.writing(keys, write, 'keep');
  }

  /** A write gives `key` a TTL of `ttlMs`, none (`undefined`), or keeps its own (`'keep'`). */
  ttl(key: string, ttlMs: number | 'keep' | undefined): void {
    if (ttlMs === undefined) this.#deadlines.delete(key);
    else if (ttlMs !== 'keep') {
      this.#deadlines.delete(key); // re-inserted last: the map stays in order of writing
      this.#deadlines.set(key, Date.now() + ttlMs);
      if (this.#deadlines.size > this.#maxDeadlines) this.#pruneDeadlines();
    }
  }

  /**
   * Keeps the deadlines bounded: the passed ones go, then the oldest written
   * (such a key, if cached, is then as fresh as another process's TTL: until
   * Redis expires it and says so).
   */
  #pruneDeadlines(): void {
    const now = Date.now();
    for (const [key, deadline] of this.#deadlines) if (deadline <= now) this.#deadlines.delete(key);
    for (const key of this.#deadlines.keys()) {
      if (this.#deadlines.size <= this.#maxDeadlines / 2) break;
      this.#deadlines.delete(key);
    }
  }

  #wrote(keys: readonly string[] | null, write: Promise<unknown>): void {
    if (keys === null) {
      if (this.#clearing === write) this.#clearing = undefined;
      this.#provider.drop(null);
      return;
    }
    for (const key of keys) {
      if (this.#writing.get(key) === write) this.#writing.delete(key);
      this.#provider.drop(this.#layout.data(key));
    }
  }

  /** Drops a key this process set with a TTL once that TTL has passed. */
  #expireOwn(key: string, redisKey: string): void {
    const deadline = this.#deadlines.get(key);
    if (deadline !== undefined && Date.now() >= deadline) {
      this.#deadlines.delete(key);
      this.#provider.drop(redisKey);
    }
  }

  /** Closes the reading connection (bounded by `timeout` ms, then destroyed). */
  async close(timeout: number): Promise<void> {
    const reader = this.#reader;
    this.#reader = undefined;
    if (!reader?.isOpen) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        reader.destroy();
        resolve();
      }, timeout);
    });
    await Promise.race([reader.close().catch(() => reader.destroy()), late]);
    clearTimeout(timer);
  }
}

const settled = (): void => {};
