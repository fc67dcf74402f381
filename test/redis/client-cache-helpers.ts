// Backends with the client-side cache, opened with a BackendContext that records
// what they report through `invalidated` (as the actor would stamp it for worker
// near caches), and Redis's count of GET-like commands, to tell a cache hit from a read.
import { afterEach } from 'vitest';
import type { Backend } from '../../src/index.js';
import type { RedisBackendOptions } from '../../src/redis.js';
import { testContext } from '../helpers/backend-context.js';
import type { RedisFixture } from '../helpers/use-redis.js';

/** A backend and every `invalidated` call it made: a list of keys, or null for every key. */
export interface Recorded {
  backend: Backend;
  invalidations: Array<readonly string[] | null>;
}

/** Opens backends on `redis` (closed after each test); `calls` counts commands Redis ran. */
export function useCachedBackends(redis: RedisFixture) {
  const opened: Backend[] = [];
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((backend) => backend.close()));
  });

  async function open(namespace: string, options: Omit<RedisBackendOptions, 'url'> = { clientCache: true }): Promise<Recorded> {
    const backend = redis.backend(options);
    opened.push(backend);
    const invalidations: Recorded['invalidations'] = [];
    await backend.open(testContext(namespace, { invalidated: (keys) => invalidations.push(keys === null ? null : [...keys]) }));
    return { backend, invalidations };
  }

  /** How many times Redis ran `command` (GET, MGET, EXISTS…) since it started. */
  async function calls(command: string): Promise<number> {
    const stats = String(await redis.raw.sendCommand(['INFO', 'commandstats']));
    return Number(new RegExp(`cmdstat_${command.toLowerCase()}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
  }

  /** Every read command Redis ran (the cache's GET, the ordered path's MGET and scripts). */
  async function reads(): Promise<number> {
    return (await calls('GET')) + (await calls('MGET')) + (await calls('EXISTS')) + (await calls('EVALSHA'));
  }

  return { open, calls, reads };
}
