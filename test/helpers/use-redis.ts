// A Redis for one describe block (see redis-server.ts): started and flushed in
// beforeAll, with a raw node-redis client for looking inside it; the client
// closed and the server stopped in afterAll. Call it first in the block: vitest
// runs after-hooks last-registered first, so the block's own afterAll (closing
// its stores) runs before the server stops.
import { afterAll, beforeAll } from 'vitest';
import type { Backend } from '../../src/index.js';
import { type RedisBackendOptions, redisBackend } from '../../src/redis.js';
import { closeRaw, connectRaw, type RawClient } from './redis-client.js';
import { type RedisServer, startRedis } from './redis-server.js';

export interface RedisFixture {
  /** The server (valid from beforeAll on). */
  readonly server: RedisServer;
  /** `server.url`. */
  readonly url: string;
  /** The raw client (unless `{ raw: false }`). */
  readonly raw: RawClient;
  /** `redisBackend({ url, ...options })` on this server. */
  backend(options?: Omit<RedisBackendOptions, 'url'>): Backend;
}

/** `raw: false` skips the raw client; `persistent` starts Redis with an fsynced append-only file (see startRedis). */
export function useRedisServer(options: { raw?: boolean; persistent?: boolean } = {}): RedisFixture {
  let server: RedisServer | undefined;
  let raw: RawClient | undefined;

  beforeAll(async () => {
    server = await startRedis({ persistent: options.persistent ?? false });
    await server.flushAll();
    if (options.raw !== false) raw = await connectRaw(server.url);
  });
  afterAll(async () => {
    await closeRaw(raw);
    await server?.stop();
  });

  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`useRedisServer: no ${what} (it is set up in beforeAll)`);
    return value;
  };
  return {
    get server() {
      return started(server, 'server');
    },
    get url() {
      return started(server, 'server').url;
    },
    get raw() {
      return started(raw, 'raw client');
    },
    backend: (backendOptions = {}) => redisBackend({ url: started(server, 'server').url, ...backendOptions }),
  };
}
