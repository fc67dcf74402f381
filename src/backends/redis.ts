import { createClient, RESP_TYPES, type RedisClientOptions, type RedisClientType } from 'redis';
import type { KeyChange, Topic } from '../actors/commands.js';
import { KvbusError, conflictError, describe, isKvbusError } from '../errors.js';
import type { Entry } from '../types.js';
import type { Backend, BackendContext, BackendSetOptions } from './backend.js';
import { SCRIPTS, type ScriptName } from './redis-scripts.js';
import { resolveSerializer, type Serializer } from './serializer.js';

type Client = RedisClientType<any, any, any, any, any>;
type CommandOptions = Parameters<Client['sendCommand']>[1];

/** Options of {@link redisBackend}: node-redis's own (auth, TLS, socket…), plus kvbus's. */
export interface RedisBackendOptions extends Omit<RedisClientOptions, 'modules' | 'functions' | 'scripts'> {
  /** A node-redis client to use instead of creating one (kvbus connects it if needed, and never quits it). */
  client?: Client;
  /** How values and messages become bytes. @defaultValue `'v8'` (structured-clone fidelity) */
  serializer?: 'v8' | 'json' | Serializer;
  /**
   * How long a command may wait, including while Redis is unreachable and the
   * client reconnects; past it the command rejects with `ERR_BACKEND`.
   * @defaultValue 5 000
   */
  commandTimeoutMs?: number;
}

const BUFFERS = { [RESP_TYPES.BLOB_STRING]: Buffer } as const;
const BUFFER_OPTIONS = { typeMapping: BUFFERS };
const BAR = 0x7c; // '|', between a stored value's revision and its bytes
const ZERO = 0x30;
const NUMBER = 'n';
const NUMBER_BYTE = 0x6e;
const SERIALIZED = 'v';
const GET_OP = 'g';
/** The BATCH script's modes: every set plain, or not. */
const PLAIN = 'p';
const GENERAL = 'x';
/** At most this many gets and sets per command, so that no script holds Redis for long. */
const MAX_BATCH = 128;

/** A get (`args` undefined) or a set waiting for the end of its tick. */
interface Queued {
  key: string;
  /** A set's arguments to the BATCH script (see set). */
  args: Array<string | Buffer> | undefined;
  ifRevision: number | undefined;
  resolve: (result: any) => void;
  reject: (error: unknown) => void;
}

const inArray = <T>(value: T): T[] => [value];

/**
 * Creates the Redis backend (node-redis): the store's state lives in Redis, so
 * several processes on several machines share one keyspace and one bus.
 *
 * @param options - `url` or `client`, node-redis options (auth, TLS), `serializer`, `commandTimeoutMs`
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
  return new RedisBackend(options, resolveSerializer(options.serializer), timeout);
}

class RedisBackend implements Backend {
  readonly kind = 'redis';
  readonly sharesValues = false;
  readonly isAsync = true;
  readonly #options: RedisBackendOptions;
  readonly #serializer: Serializer;
  readonly #timeout: number;
  readonly #shas = new Map<ScriptName, string>();
  #context!: BackendContext;
  #client!: Client;
  /** The same connection, without node-redis's per-command timer. */
  #commands!: Client;
  #subscriber!: Client;
  #ownsClient = false;
  #ready: Promise<void> | undefined;
  #open = false;
  #watchers = 0;
  #highest = 0;
  /** The gets and sets of this tick, in their order (see #queue). */
  #batch: Queued[] = [];
  readonly #tracked = new Set<{ at: number; reject: (error: unknown) => void }>();
  #tick = 0;
  #sweeper: NodeJS.Timeout | undefined;
  #expiredChannel: string | undefined;
  // Key layout (see redis-scripts.ts).
  #prefix = '';
  #globPrefix = '';
  #changes = '';

  constructor(options: RedisBackendOptions, serializer: Serializer, timeout: number) {
    this.#options = options;
    this.#serializer = serializer;
    this.#timeout = timeout;
  }

  open(context: BackendContext): Promise<void> {
    if (this.#ready) throw new KvbusError('ERR_BAD_ARGUMENT', 'This redis backend already serves a store: call redisBackend() once per store');
    this.#context = context;
    // `%` and `:` are encoded so that one namespace's keys never fall under another's prefix.
    const ns = context.namespace.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'));
    this.#prefix = `${ns}:`;
    this.#globPrefix = `${escapeGlob(ns)}:`;
    this.#changes = `${ns}:changes`;
    this.#ready = this.#connect().then(() => {
      this.#open = true;
    });
    this.#ready.catch(() => {});
    // node-redis keeps trying to connect in the background; callers wait at most commandTimeoutMs.
    return this.#bounded(this.#ready, 'connect to Redis');
  }

  /** Waits for `promise` at most commandTimeoutMs, then rejects with ERR_BACKEND. */
  #bounded<TValue>(promise: Promise<TValue>, doing: string): Promise<TValue> {
    return withTimeout(promise, this.#timeout, () => new KvbusError('ERR_BACKEND', `Could not ${doing} within ${this.#timeout} ms (commandTimeoutMs): is Redis reachable?`));
  }

  async #connect(): Promise<void> {
    const { client, serializer: _s, commandTimeoutMs: _t, ...clientOptions } = this.#options;
    this.#client = client ?? (createClient(clientOptions) as Client);
    this.#ownsClient = !client;
    // node-redis emits 'error' on every failed reconnect; without a listener that would
    // crash the process. The failures reach callers as ERR_BACKEND through their commands.
    this.#client.on('error', () => {});
    try {
      if (!this.#client.isOpen) await this.#client.connect();
      // node-redis gives every command its own AbortSignal.timeout by default, a third of a
      // busy client's time; kvbus bounds commands itself (see #watch and #commandOptions).
      this.#commands = this.#client.withCommandOptions({ timeout: 0 }) as Client;
      this.#subscriber = this.#client.duplicate() as Client;
      this.#subscriber.on('error', () => {});
      await this.#subscriber.connect();
      for (const [name, script] of Object.entries(SCRIPTS)) {
        this.#shas.set(name as ScriptName, String(await this.#commands.sendCommand(['SCRIPT', 'LOAD', script])));
      }
      this.#expiredChannel = await this.#enableExpiryEvents();
      // node-redis reconnects by itself; a restarted Redis may have lost our settings and counter.
      this.#client.on('ready', () => void this.#recover());
    } catch (cause) {
      throw backendError(cause, 'connect to Redis');
    }
  }

  /** After a reconnect: keyspace notifications again, and revisions that do not go back. */
  async #recover(): Promise<void> {
    if (!this.#open) return;
    try {
      // Ahead of the commands that waited for the reconnect, so that none of them takes a lower revision.
      if (this.#highest > 0) {
        await this.#commands.sendCommand(['EVAL', SCRIPTS.RAISE_REVISION, '1', this.#revKey(), String(this.#highest)], { asap: true });
      }
      await this.#enableExpiryEvents();
    } catch {
      // Redis went away again: the next 'ready' retries.
    }
  }

  /** Remembers the highest revision seen, for #recover. */
  #saw(revision: number): number {
    if (revision > this.#highest) this.#highest = revision;
    return revision;
  }

  /** Expire events need Redis keyspace notifications for expired keys (`Ex`). */
  async #enableExpiryEvents(): Promise<string | undefined> {
    try {
      const info = String(await this.#commands.sendCommand(['CLIENT', 'INFO']));
      const db = /\bdb=(\d+)/.exec(info)?.[1] ?? '0';
      // RESP2 answers [name, value]; RESP3 (node-redis's default) a map.
      const reply = (await this.#commands.sendCommand(['CONFIG', 'GET', 'notify-keyspace-events'])) as string[] | Record<string, string>;
      const flags = String((Array.isArray(reply) ? reply[1] : reply['notify-keyspace-events']) ?? '');
      const hasExpired = flags.includes('E') && (flags.includes('x') || flags.includes('A'));
      if (!hasExpired) await this.#commands.sendCommand(['CONFIG', 'SET', 'notify-keyspace-events', `${flags}Ex`]);
      return `__keyevent@${db}__:expired`;
    } catch {
      // A managed Redis may forbid CONFIG: keys still expire, but without `expire` events
      // unless the operator enables notify-keyspace-events "Ex" (see the README).
      return undefined;
    }
  }

  get(key: string): Promise<Entry | undefined> {
    return new Promise((resolve, reject) => this.#queue({ key, args: undefined, ifRevision: undefined, resolve, reject }));
  }

  /** Reads `<t><revision>|<value>` (see redis-scripts.ts). */
  #readStored(stored: Buffer | null): Entry | undefined {
    if (!stored) return undefined;
    // The revision's digits, read in place: this runs for every get.
    let revision = 0;
    let at = 1;
    for (; at < stored.length && stored[at] !== BAR; at++) revision = revision * 10 + (stored[at]! - ZERO);
    return { value: this.#decode(stored[0]!, stored, at + 1), revision: this.#saw(revision) };
  }

  set(key: string, value: unknown, { ttlMs, ifRevision, keepTtl }: BackendSetOptions): Promise<number> {
    // The BATCH script's arguments: a header `s<t><flags>`, the value, then what the flags announce.
    let args: Array<string | Buffer>;
    try {
      const [t, v] = this.#encode(value, key);
      args = [t === NUMBER ? 'sn' : 'sv', v];
    } catch (error) {
      return Promise.reject(error);
    }
    if (ttlMs !== undefined || ifRevision !== undefined || keepTtl) {
      let flags = '';
      if (ttlMs !== undefined) {
        flags += 'x';
        args.push(String(Math.max(1, Math.ceil(ttlMs))));
      }
      if (ifRevision !== undefined) {
        flags += 'r';
        args.push(String(ifRevision));
      }
      if (keepTtl) flags += 'k';
      args[0] += flags;
    }
    return new Promise((resolve, reject) => this.#queue({ key, args, ifRevision, resolve, reject }));
  }

  /**
   * The gets and sets of one tick leave together at its end (see #flush); any
   * other command sends them first, so commands still reach Redis in their order.
   */
  #queue(op: Queued): void {
    if (this.#batch.push(op) === 1) process.nextTick(this.#flushTask);
  }

  readonly #flushTask = (): void => this.#flush();

  #flush(): void {
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    for (let start = 0; start < batch.length; start += MAX_BATCH) {
      const chunk = batch.length <= MAX_BATCH ? batch : batch.slice(start, start + MAX_BATCH);
      this.#run(() => this.#send(chunk)).then(
        (results) => this.#settle(chunk, results),
        (error: unknown) => {
          for (const op of chunk) op.reject(error);
        },
      );
    }
  }

  /** One command for the chunk: GET or MGET when it only reads, else the BATCH script. */
  #send(chunk: Queued[]): Promise<unknown[]> {
    const options = this.#bufferOptions();
    const first = chunk[0]!;
    if (chunk.length === 1 && first.args === undefined) {
      return (this.#commands.sendCommand(['GET', this.#data(first.key)], options) as Promise<Buffer | null>).then(inArray);
    }
    const keys = [this.#revKey()];
    const args: Array<string | Buffer> = [PLAIN];
    let reads = 0;
    for (const op of chunk) {
      keys.push(this.#data(op.key));
      if (op.args === undefined) {
        args.push(GET_OP);
        reads++;
      } else {
        for (const arg of op.args) args.push(arg);
        if ((op.args[0] as string).length > 2) args[0] = GENERAL; // flags: a TTL, a compare-and-set or keep-TTL (see set)
      }
    }
    if (reads === chunk.length) {
      keys[0] = 'MGET'; // in place of the revision counter, which only writes need
      return this.#commands.sendCommand(keys, options) as Promise<unknown[]>;
    }
    return this.#script('BATCH', keys, args, undefined, options) as Promise<unknown[]>;
  }

  #settle(chunk: Queued[], results: unknown[]): void {
    for (let i = 0; i < chunk.length; i++) {
      const op = chunk[i]!;
      const result = results[i];
      try {
        if (op.args === undefined) op.resolve(this.#readStored(result as Buffer | null));
        else if (typeof result === 'number') op.resolve(this.#saw(result));
        else op.reject(conflictError(op.key, Number(String(result).slice(1)), op.ifRevision));
      } catch (error) {
        // A value this serializer cannot read.
        op.reject(isKvbusError(error) ? error : backendError(error, `decode the value of key ${JSON.stringify(op.key)}`));
      }
    }
  }

  delete(key: string, ifRevision?: number): Promise<boolean> {
    return this.#run(async () => {
      const args = [ifRevision === undefined ? '' : String(ifRevision)];
      return Number(await this.#script('DELETE', [this.#data(key), this.#revKey(), this.#ttlMark(key)], args, key)) === 1;
    });
  }

  has(key: string): Promise<boolean> {
    return this.#run(async () => Number(await this.#commands.sendCommand(['EXISTS', this.#data(key)], this.#commandOptions())) === 1);
  }

  keys(pattern: string | undefined): Promise<string[]> {
    return this.#run(() => this.#scan(pattern));
  }

  entries(pattern: string | undefined): Promise<Array<[string, unknown]>> {
    return this.#run(async () => {
      const keys = await this.#scan(pattern);
      const entries = await Promise.all(keys.map((key) => this.get(key).then((entry) => [key, entry] as const)));
      return entries.flatMap(([key, entry]) => (entry ? [[key, entry.value] as [string, unknown]] : []));
    });
  }

  clear(): Promise<void> {
    return this.#run(async () => {
      this.#saw(Number(await this.#script('CLEAR', [this.#revKey()], [`${this.#globPrefix}k:*`, `${this.#globPrefix}t:*`, this.#changes])));
    });
  }

  incr(key: string, by: number): Promise<number> {
    return this.#run(async () => Number(await this.#script('INCR', [this.#data(key), this.#revKey()], [String(by)], key)));
  }

  apply(key: string, op: (old: unknown) => unknown): Promise<unknown> {
    // Other processes write to the same Redis, so the actor alone cannot make this
    // atomic: an optimistic loop inside the actor (the caller still waits once).
    return this.#run(async () => {
      for (;;) {
        const entry = await this.get(key);
        const next = op(entry?.value);
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
  }

  publish(channel: string, data: unknown): Promise<number> {
    return this.#run(async () => {
      const bytes = serialize(this.#serializer, data, 'channel', channel);
      return Number(await this.#commands.sendCommand(['PUBLISH', `${this.#prefix}c:${channel}`, bytes], this.#commandOptions()));
    });
  }

  interest(topic: Topic, active: boolean): Promise<void> {
    // node-redis waits for a reconnect before it (un)subscribes, and the actor waits
    // for this: bound it like any command, and undo a subscription that timed out.
    const change = this.#run(() => this.#changeInterest(topic, active));
    return withTimeout(change, this.#timeout, () => {
      if (active) void this.#changeInterest(topic, false).catch(() => {});
      return new KvbusError('ERR_BACKEND', `Redis did not confirm the ${active ? 'subscription' : 'unsubscription'} of ${topic.kind} ${JSON.stringify(topic.name)} within ${this.#timeout} ms (commandTimeoutMs)`);
    });
  }

  async #changeInterest(topic: Topic, active: boolean): Promise<void> {
    const sub = this.#subscriber;
    switch (topic.kind) {
      case 'channel': {
        const channel = `${this.#prefix}c:${topic.name}`;
        if (active) await sub.subscribe(channel, (message: Buffer) => this.#context.emitChannelMessage(topic.name, this.#serializer.decode(message)), true);
        else await sub.unsubscribe(channel);
        return;
      }
      case 'pattern': {
        const pattern = `${this.#globPrefix}c:${topic.name}`;
        const skip = `${this.#prefix}c:`.length;
        if (active) {
          await sub.pSubscribe(pattern, (message: Buffer, channel: Buffer) => {
            this.#context.emitPatternMessage(topic.name, channel.toString().slice(skip), this.#serializer.decode(message));
          }, true);
        } else {
          await sub.pUnsubscribe(pattern);
        }
        return;
      }
      default:
        // Watched keys and `changes` globs share one Redis subscription to the change events.
        this.#watchers += active ? 1 : -1;
        if (active && this.#watchers === 1) await this.#watchChanges(true);
        if (!active && this.#watchers === 0) await this.#watchChanges(false);
    }
  }

  async #watchChanges(active: boolean): Promise<void> {
    const sub = this.#subscriber;
    const expired = this.#expiredChannel;
    if (!active) {
      await sub.unsubscribe(expired ? [this.#changes, expired] : [this.#changes]);
      return;
    }
    await sub.subscribe(this.#changes, (message: Buffer) => {
      const change = this.#parseChange(message);
      if (!change) return;
      this.#saw(change.revision);
      this.#context.emitChange(change);
    }, true);
    if (expired) {
      const dataPrefix = `${this.#prefix}k:`;
      await sub.subscribe(expired, (name: Buffer) => {
        const redisKey = name.toString();
        if (!redisKey.startsWith(dataPrefix)) return;
        const key = redisKey.slice(dataPrefix.length);
        this.#script('EXPIRED', [redisKey, this.#revKey(), this.#ttlMark(key)], [this.#changes, key]).catch(() => {});
      }, true);
    }
  }

  size(): Promise<number> {
    return this.#run(async () => (await this.#scan(undefined)).length);
  }

  async close(): Promise<void> {
    const ready = this.#ready;
    this.#open = false;
    clearInterval(this.#sweeper);
    if (!ready) return;
    await this.#bounded(ready, 'connect to Redis').catch(() => {});
    if (!this.#subscriber) {
      // Still connecting: stop trying.
      if (this.#ownsClient) this.#client?.destroy();
      return;
    }
    // A graceful close waits for replies, which never come while Redis is down: bound it.
    const quit = (client: Client | undefined) =>
      client?.isOpen ? withTimeout(client.close(), this.#timeout, () => new Error('close timed out')).catch(() => client.destroy()) : undefined;
    await Promise.allSettled([quit(this.#subscriber), this.#ownsClient ? quit(this.#client) : undefined]);
  }

  /** Runs after the connection is up; turns every failure into a KvbusError. */
  #run<TResult>(fn: () => Promise<TResult>): Promise<TResult> {
    if (this.#batch.length > 0) this.#flush(); // earlier gets and sets go first
    if (this.#open) return this.#watch(fn());
    if (!this.#ready) return Promise.reject(new KvbusError('ERR_CLOSED', 'The Redis backend is not open'));
    return this.#bounded(this.#ready, 'connect to Redis').then(() => this.#watch(fn()));
  }

  /**
   * Bounds a command sent while the connection looked up. A command written just
   * as the connection dies can wait in node-redis's queue for the reconnect: past
   * commandTimeoutMs (checked by one coarse timer, not one timer per command),
   * its caller gets ERR_BACKEND (whether Redis applied it is then unknown, as for
   * any timeout).
   */
  #watch<TResult>(command: Promise<TResult>): Promise<TResult> {
    // One promise per command does both jobs: the bound and the error mapping.
    const track = this.#client.isReady ? { at: this.#tick, reject: (_: unknown) => {} } : undefined;
    if (track && !this.#sweeper) {
      this.#sweeper = setInterval(() => this.#sweep(), this.#timeout / 4);
      this.#sweeper.unref();
    }
    return new Promise((resolve, reject) => {
      if (track) {
        track.reject = reject;
        this.#tracked.add(track);
      }
      command.then(
        (value) => {
          if (track) this.#tracked.delete(track);
          resolve(value);
        },
        (error: unknown) => {
          if (track) this.#tracked.delete(track);
          reject(isKvbusError(error) ? error : backendError(error, 'run a Redis command'));
        },
      );
    });
  }

  #sweep(): void {
    const tick = ++this.#tick;
    // In the order they were sent: the first that is not late ends the scan.
    for (const track of this.#tracked) {
      if (tick - track.at <= 4) break;
      this.#tracked.delete(track);
      track.reject(new KvbusError('ERR_BACKEND', `Redis did not answer within ${this.#timeout} ms (commandTimeoutMs): is it reachable?`));
    }
  }

  #script(name: ScriptName, keys: string[], args: Array<string | Buffer>, key?: string, options: CommandOptions = this.#commandOptions()): Promise<unknown> {
    const run = () => this.#commands.sendCommand(['EVALSHA', this.#shas.get(name)!, String(keys.length), ...keys, ...args], options);
    return run().catch(async (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      if (message.startsWith('NOSCRIPT')) {
        // Redis restarted (or SCRIPT FLUSH): load it again, once.
        this.#shas.set(name, String(await this.#commands.sendCommand(['SCRIPT', 'LOAD', SCRIPTS[name]])));
        return run();
      }
      if (message.startsWith('KVBUS_CONFLICT')) throw conflictError(key ?? '', Number(message.split(' ')[1] ?? 0));
      if (message.startsWith('KVBUS_TYPE')) {
        throw new KvbusError('ERR_TYPE', `Cannot incr key ${JSON.stringify(key)}: it does not hold a number`);
      }
      throw error;
    });
  }

  async #scan(pattern: string | undefined): Promise<string[]> {
    const match = `${this.#globPrefix}k:${pattern ?? '*'}`;
    const skip = `${this.#prefix}k:`.length;
    const found = new Set<string>(); // SCAN may return a key twice
    let cursor = '0';
    do {
      const [next, keys] = (await this.#commands.sendCommand(['SCAN', cursor, 'MATCH', match, 'COUNT', '1000'], this.#commandOptions())) as [string, string[]];
      cursor = String(next);
      for (const key of keys) found.add(String(key).slice(skip));
    } while (cursor !== '0');
    return [...found];
  }

  #encode(value: unknown, key: string): [string, string | Buffer] {
    // Numbers are stored as text so that INCR can do its arithmetic in Lua
    // (whose strtod reads NaN, Infinity and -0 as JavaScript writes them).
    if (typeof value === 'number') return [NUMBER, Object.is(value, -0) ? '-0' : String(value)];
    return [SERIALIZED, serialize(this.#serializer, value, 'key', key)];
  }

  /** Reads the value that starts at `start`, of type `t` (the byte of NUMBER or SERIALIZED). */
  #decode(t: number, bytes: Buffer, start: number): unknown {
    return t === NUMBER_BYTE ? parseNumber(bytes.toString('latin1', start)) : this.#serializer.decode(bytes.subarray(start));
  }

  #parseChange(message: Buffer): KeyChange | undefined {
    const first = message.indexOf(10);
    const second = message.indexOf(10, first + 1);
    const third = message.indexOf(10, second + 1);
    if (first < 0 || second < 0 || third < 0) return undefined;
    const op = message.toString('latin1', 0, first);
    const revision = Number(message.toString('latin1', first + 1, second));
    const keyLength = Number(message.toString('latin1', second + 1, third));
    const keyEnd = third + 1 + keyLength;
    const key = message.toString('utf8', third + 1, keyEnd);
    switch (op) {
      case 's': {
        return { type: 'set', key, value: this.#decode(message[keyEnd]!, message, keyEnd + 1), revision };
      }
      case 'd':
        return { type: 'delete', key, revision };
      case 'e':
        return { type: 'expire', key, revision };
      case 'c':
        return { type: 'clear', key: '*', revision };
      default:
        return undefined;
    }
  }

  #data(key: string): string {
    return `${this.#prefix}k:${key}`;
  }

  #ttlMark(key: string): string {
    return `${this.#prefix}t:${key}`;
  }

  #revKey(): string {
    return `${this.#prefix}rev`;
  }

  // The bound of a command. While the connection is up, a command completes or
  // is rejected when the socket fails (node-redis rejects what awaits a reply);
  // while it is down, commands wait in node-redis's offline queue, and `timeout`
  // takes them out after commandTimeoutMs. Asking for a timeout on every
  // command would cost an AbortSignal.timeout each: a third of a busy store's time.
  #commandOptions() {
    return this.#client.isReady ? undefined : { timeout: this.#timeout };
  }

  #bufferOptions() {
    return this.#client.isReady ? BUFFER_OPTIONS : { timeout: this.#timeout, typeMapping: BUFFERS };
  }
}

/** Encodes a value, or throws `ERR_NOT_CLONEABLE` naming what it was for. */
function serialize(serializer: Serializer, value: unknown, label: string, name: string): Buffer | string {
  try {
    return serializer.encode(value);
  } catch (cause) {
    throw new KvbusError('ERR_NOT_CLONEABLE', `The value for ${label} ${JSON.stringify(name)} cannot be serialized (${(cause as Error).message}); store plain data`, { cause });
  }
}

/** Reads a number stored as text, including what Lua's `%.17g` writes for NaN and infinities. */
function parseNumber(text: string): number {
  switch (text) {
    case 'inf':
      return Infinity;
    case '-inf':
      return -Infinity;
    case 'nan':
    case '-nan':
      return NaN;
    default:
      return Number(text);
  }
}

/** Rejects with `onTimeout()` unless `promise` settles within `ms`. */
function withTimeout<TValue>(promise: Promise<TValue>, ms: number, onTimeout: () => Error): Promise<TValue> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Escapes the glob characters of a literal, so it matches only itself in SCAN MATCH and PSUBSCRIBE. */
function escapeGlob(literal: string): string {
  return literal.replace(/[*?[\]\\]/g, '\\$&');
}

function backendError(cause: unknown, doing: string): KvbusError {
  const timedOut = cause instanceof Error && cause.constructor.name === 'TimeoutError';
  const message = timedOut ? 'no answer within commandTimeoutMs (is Redis reachable?)' : cause instanceof Error ? cause.message : String(cause);
  return new KvbusError('ERR_BACKEND', `Could not ${doing}: ${message}`, { cause });
}
