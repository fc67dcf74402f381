import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createStore } from '../../src/index.js';
import { redisBackend } from '../../src/redis.js';

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('redis: unreachable server', () => {
  it('rejects commands with ERR_BACKEND within commandTimeoutMs instead of hanging, and closes', async () => {
    const url = `redis://127.0.0.1:${await closedPort()}`;
    const store = createStore({ backend: redisBackend({ url, commandTimeoutMs: 300 }) });
    const started = Date.now();
    const error = await store.get('k').then(
      () => undefined,
      (e: unknown) => e as { code?: string; message: string },
    );
    expect(error?.code).toBe('ERR_BACKEND');
    expect(error?.message).toMatch(/reachable|connect/i);
    expect(Date.now() - started).toBeLessThan(3_000);
    await expect(store.ready()).rejects.toMatchObject({ code: 'ERR_BACKEND' });
    await store.close(); // resolves: nothing left trying to connect
  });
});
