// The public options of the Redis backend, and the node-redis client type they name.
import type { RedisClientOptions, RedisClientType } from 'redis';
import type { HistoryOptions } from '../../feed-types.js';
import type { Serializer } from './serializer.js';

/** A node-redis client, whatever its modules, functions, scripts and RESP version. */
// biome-ignore lint/suspicious/noExplicitAny: node-redis's own parameters, whatever the caller's client was built with
export type Client = RedisClientType<any, any, any, any, any>;

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
  /**
   * The change events kept in the namespace's Redis Stream (`ns:history`, appended by
   * every write script) for `changes(glob, { since })`, `snapshot` followers, and for
   * resuming this process's change feed after a reconnect. `{ maxEvents: 0 }` keeps
   * none: this process's writes then leave holes that replays report as
   * `ERR_COMPACTED`, so give every process of a namespace the same option.
   * @defaultValue `{ maxEvents: 10_000 }`
   */
  history?: HistoryOptions;
  /**
   * Answers this process's reads (`get`, `getEntry`, `has`, `getMany`) from
   * node-redis's RESP3 client-side cache, on a connection of its own with
   * `CLIENT TRACKING`; Redis's invalidations also reach worker near caches.
   * As fresh as Redis's invalidations across processes; a process always
   * reads its own completed writes (see docs/redis.md, "Client-side cache").
   * @defaultValue off
   */
  clientCache?:
    | boolean
    | {
        /** The most values kept; the least recently used goes first. @defaultValue 10 000 */
        maxEntries?: number;
        /**
         * The longest a value is kept, in ms: a bound on staleness whatever happens
         * to invalidations; `0` keeps values until they are invalidated or evicted.
         * @defaultValue 0
         */
        ttlMs?: number;
      };
}

/** Options of `redisBackend({ clientCache })` (see {@link RedisBackendOptions.clientCache}). */
export type RedisClientCacheOptions = Exclude<NonNullable<RedisBackendOptions['clientCache']>, boolean>;
