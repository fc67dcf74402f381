// Closing a store whose Redis change feed is retrying a failed catch-up ends
// the retries (review finding 5: they went on every 100 ms, forever, on the
// closed connection, and kept the process alive).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { childExit } from '../helpers/processes.js';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { Resources } from '../helpers/resources.js';
import { useRedisServer } from '../helpers/use-redis.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/close-during-catchup.mjs', import.meta.url));
const FAILED = 'reading the history stream to resume failed';

describeRedis('redis: closing the store during a catch-up', () => {
  const redis = useRedisServer();
  const res = new Resources();
  afterEach(() => res.cleanup());

  it('stops the catch-up retries, and the process ends by itself', async () => {
    const user = `closer${process.pid}`;
    await redis.raw.sendCommand(['ACL', 'SETUSER', user, 'on', '>secret', '~*', '&*', '+@all']);
    const url = new URL(redis.url);
    url.username = user;
    url.password = 'secret';
    const { NODE_DEBUG: _debug, KVBUS_PARENT: _parent, ...env } = process.env;
    const child = res.child(
      fork(FIXTURE, [redis.url, url.href, user, uniqueNamespace('closer')], {
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        env: { ...env, NODE_DEBUG: 'kvbus' },
      }),
    );
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
    child.disconnect(); // no IPC channel to keep it alive: it ends when nothing else runs
    const exit = await childExit(child, 20_000);
    const [before = '', after = ''] = stderr.split('CLOSED\n');
    expect(before.split(FAILED).length - 1, `retries before the close (stderr: ${stderr.slice(-500)})`).toBeGreaterThanOrEqual(3);
    expect(after).toContain('DONE');
    expect(after.split(FAILED).length - 1, `retries after the close: ${after.slice(0, 500)}`).toBe(0);
    expect(exit.code).toBe(0);
  }, 60_000);
});
