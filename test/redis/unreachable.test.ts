import { describe, expect, it } from 'vitest';
import { createStore } from '../../src/index.js';
import { redisBackend } from '../../src/redis.js';
import { freePort } from '../../tools/redis-server.mjs';
import { expectCode } from '../helpers/errors.js';

describe('redis: unreachable server', () => {
  it('rejects commands with ERR_BACKEND within commandTimeoutMs instead of hanging, and closes', async () => {
    // A loopback port with nothing listening on it.
    const url = `redis://127.0.0.1:${await freePort()}`;
    const store = createStore({ backend: redisBackend({ url, commandTimeoutMs: 300 }) });
    const started = Date.now();
    await expectCode(store.get('k'), 'ERR_BACKEND', /reachable|connect/i);
    expect(Date.now() - started).toBeLessThan(3_000);
    await expect(store.ready()).rejects.toMatchObject({ code: 'ERR_BACKEND' });
    await store.close(); // resolves: nothing left trying to connect
  });
});
