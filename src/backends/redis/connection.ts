// The node-redis connections of one Redis backend: connecting, the Lua scripts,
// recovering after a reconnect, bounding every command by commandTimeoutMs, closing.
import { createClient, RESP_TYPES } from 'redis';
import { debug } from '../../debug.js';
import { conflictError, KvbusError, notANumberError } from '../../errors.js';
import type { ClientCache } from './client-cache.js';
import type { Layout } from './layout.js';
import type { Client, RedisBackendOptions } from './options.js';
import { SCRIPTS, type ScriptName } from './scripts.js';
import { backendError, Watchdog, withTimeout } from './watchdog.js';

/** The options of one node-redis command. */
export type CommandOptions = Parameters<Client['sendCommand']>[1];

const BUFFERS = { [RESP_TYPES.BLOB_STRING]: Buffer } as const;
const BUFFER_OPTIONS = { typeMapping: BUFFERS };

/**
 * The clients of one backend (commands, and a duplicate for subscriptions) and
 * the scripts loaded into Redis. Every command goes through {@link Connection.run},
 * which waits for the connection and bounds the command by commandTimeoutMs.
 */
export class Connection {
  /** commandTimeoutMs. */
  readonly timeout: number;
  readonly #options: RedisBackendOptions;
  readonly #layout: Layout;
  readonly #shas = new Map<ScriptName, string>();
  #client!: Client;
  /** The same connection, without node-redis's per-command timer. */
  #commands!: Client;
  #subscriber!: Client;
  #ownsClient = false;
  #ready: Promise<void> | undefined;
  #open = false;
  #highest = 0;
  #expiredChannel: string | undefined;
  readonly #watchdog: Watchdog;
  /** The reading connection with node-redis's client-side cache, when `clientCache` is on. */
  readonly #cache: ClientCache | undefined;

  /**
   * @param options - the backend's options: `client`, or node-redis's own to create one
   * @param timeout - commandTimeoutMs
   * @param layout - the store's names in Redis (read after the connection opens)
   * @param cache - the client-side cache, with `clientCache` (this connection opens its own connection)
   */
  constructor(options: RedisBackendOptions, timeout: number, layout: Layout, cache?: ClientCache) {
    this.#options = options;
    this.timeout = timeout;
    this.#layout = layout;
    this.#watchdog = new Watchdog(timeout);
    this.#cache = cache;
    cache?.use(layout, {
      bound: (command) => this.#watchdog.bound(command, true),
      saw: (revision) => this.saw(revision),
    });
  }

  /** True once {@link Connection.open} was called. */
  get started(): boolean {
    return this.#ready !== undefined;
  }

  /** The client to send commands with, once open (see {@link Connection.commandOptions}). */
  get commands(): Client {
    return this.#commands;
  }

  /** The client that subscribes, once open. */
  get subscriber(): Client {
    return this.#subscriber;
  }

  /** The channel of Redis's `expired` keyspace events, when Redis could be set to send them. */
  get expiredChannel(): string | undefined {
    return this.#expiredChannel;
  }

  /** Connects, at most commandTimeoutMs for the caller (node-redis keeps trying in the background). */
  open(): Promise<void> {
    this.#ready = this.#connect().then(() => {
      this.#open = true;
    });
    this.#ready.catch(() => {});
    // node-redis keeps trying to connect in the background; callers wait at most commandTimeoutMs.
    return this.#bounded(this.#ready, 'connect to Redis');
  }

  /** Waits for `promise` at most commandTimeoutMs, then rejects with ERR_BACKEND. */
  #bounded<TValue>(promise: Promise<TValue>, doing: string): Promise<TValue> {
    return withTimeout(
      promise,
      this.timeout,
      () => new KvbusError('ERR_BACKEND', `Could not ${doing} within ${this.timeout} ms (commandTimeoutMs): is Redis reachable?`),
    );
  }

  async #connect(): Promise<void> {
    const { client, serializer: _s, commandTimeoutMs: _t, clientCache: _c, history: _h, ...clientOptions } = this.#options;
    this.#client = client ?? (createClient(clientOptions) as Client);
    this.#ownsClient = !client;
    // node-redis emits 'error' on every failed reconnect; without a listener that would
    // crash the process. The failures reach callers as ERR_BACKEND through their commands.
    this.#client.on('error', (error: Error) => {
      if (debug.enabled) debug('redis: %s', error?.message ?? error);
    });
    if (debug.enabled) this.#client.on('reconnecting', () => debug('redis: reconnecting'));
    try {
      if (!this.#client.isOpen) await this.#client.connect();
      // node-redis gives every command its own AbortSignal.timeout by default, a third of a
      // busy client's time; kvbus bounds commands itself (see Watchdog and commandOptions).
      this.#commands = this.#client.withCommandOptions({ timeout: 0 }) as Client;
      this.#subscriber = this.#client.duplicate() as Client;
      this.#subscriber.on('error', () => {});
      await this.#subscriber.connect();
      await this.#cache?.connect(this.#client);
      // Loaded together: one pipelined round trip, however many scripts there are.
      await Promise.all(
        Object.entries(SCRIPTS).map(async ([name, script]) => {
          this.#shas.set(name as ScriptName, String(await this.#commands.sendCommand(['SCRIPT', 'LOAD', script])));
        }),
      );
      this.#expiredChannel = await this.#enableExpiryEvents();
      // node-redis reconnects by itself; a restarted Redis may have lost our settings and counter.
      this.#client.on('ready', () => {
        if (debug.enabled) debug('redis: connected again; restoring expiry events and the revision counter');
        void this.#recover();
      });
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
        await this.#commands.sendCommand(['EVAL', SCRIPTS.RAISE_REVISION, '1', this.#layout.rev, String(this.#highest)], { asap: true });
      }
      await this.#enableExpiryEvents();
    } catch {
      // Redis went away again: the next 'ready' retries.
    }
  }

  /** Remembers the highest revision seen, for #recover. */
  saw(revision: number): number {
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

  /**
   * Runs after the connection is up; turns every failure into a KvbusError.
   * (The backend sends the gets and sets of the tick first, see RedisBackend.)
   */
  run<TResult>(fn: () => Promise<TResult>): Promise<TResult> {
    if (this.#open) return this.#watchdog.bound(fn(), this.#client.isReady);
    if (!this.#ready) return Promise.reject(new KvbusError('ERR_CLOSED', 'The Redis backend is not open'));
    return this.#bounded(this.#ready, 'connect to Redis').then(() => this.#watchdog.bound(fn(), this.#client.isReady));
  }

  /**
   * Runs a script of scripts.ts by its SHA, loading it again if Redis lost it; its
   * `KVBUS_CONFLICT` and `KVBUS_TYPE` errors become kvbus's, naming `key`.
   */
  script(
    name: ScriptName,
    keys: string[],
    args: Array<string | Buffer>,
    key?: string,
    options: CommandOptions = this.commandOptions(),
  ): Promise<unknown> {
    const run = () => this.#commands.sendCommand(['EVALSHA', this.#shas.get(name)!, String(keys.length), ...keys, ...args], options);
    return run().catch(async (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      if (message.startsWith('NOSCRIPT')) {
        // Redis restarted (or SCRIPT FLUSH): load it again, once; bounded like any
        // command, in case the connection drops again before the load is written.
        this.#shas.set(name, String(await this.#commands.sendCommand(['SCRIPT', 'LOAD', SCRIPTS[name]], this.commandOptions())));
        return run();
      }
      if (message.startsWith('KVBUS_CONFLICT')) throw conflictError(key ?? '', Number(message.split(' ')[1] ?? 0));
      if (message.startsWith('KVBUS_TYPE')) throw notANumberError(key ?? '');
      throw error;
    });
  }

  // The bound of a command. While the connection is up, a command completes or
  // is rejected when the socket fails (node-redis rejects what awaits a reply);
  // while it is down, commands wait in node-redis's offline queue, and `timeout`
  // takes them out after commandTimeoutMs. Asking for a timeout on every
  // command would cost an AbortSignal.timeout each: a third of a busy store's time.
  commandOptions() {
    return this.#client.isReady ? undefined : { timeout: this.timeout };
  }

  /** {@link Connection.commandOptions}, with bulk strings read as Buffers. */
  bufferOptions() {
    return this.#client.isReady ? BUFFER_OPTIONS : { timeout: this.timeout, typeMapping: BUFFERS };
  }

  async close(): Promise<void> {
    const ready = this.#ready;
    this.#open = false;
    this.#watchdog.stop();
    if (!ready) return;
    await this.#bounded(ready, 'connect to Redis').catch(() => {});
    if (!this.#subscriber) {
      // Still connecting: stop trying.
      if (this.#ownsClient) this.#client?.destroy();
      return;
    }
    // A graceful close waits for replies, which never come while Redis is down: bound it.
    const quit = (client: Client | undefined) =>
      client?.isOpen
        ? withTimeout(client.close(), this.timeout, () => new Error('close timed out')).catch(() => client.destroy())
        : undefined;
    await Promise.allSettled([quit(this.#subscriber), this.#ownsClient ? quit(this.#client) : undefined, this.#cache?.close(this.timeout)]);
  }
}
