// The `kvbus` command against a real redis-server: `kvbus inspect --redis <url>`
// prints a URL that serves the page and the namespace's keys; SIGINT stops it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createStore } from 'kvbus';
import { redisBackend } from 'kvbus/redis';
import { afterAll, describe, expect, it } from 'vitest';
import { childExit } from '../helpers/processes.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { waitUntil } from '../helpers/wait.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

describe('kvbus inspect --redis', () => {
  const redis = useRedisServer({ raw: false });
  const store = () => createStore({ backend: redisBackend({ url: redis.url }), namespace: 'cli-test' });
  let writer: ReturnType<typeof store> | undefined;
  afterAll(async () => {
    await writer?.close();
  });

  it('prints a URL that serves the page and the keys of the namespace; exits 0 on SIGINT', async () => {
    writer = store();
    await writer.set('<b>order</b>:1', { total: 42n });
    const child = spawn(process.execPath, [CLI, 'inspect', '--redis', redis.url, '--namespace', 'cli-test'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (out += chunk));
    await waitUntil(() => /http:\/\/127\.0\.0\.1:\d+\/\?token=\w+/.test(out), 'the URL on stdout');
    const url = (out.match(/http:\/\/127\.0\.0\.1:\d+\/\?token=\w+/) as RegExpMatchArray)[0];
    expect(out).toContain('namespace cli-test');
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>kvbus inspector</title>');
    expect((await fetch(url.replace(/token=\w+/, 'token=wrong-token'))).status).toBe(401);
    const keys = (await (await fetch(new URL(`/api/keys${new URL(url).search}&glob=*`, url))).json()) as { keys: unknown[] };
    expect(keys.keys).toEqual([{ key: '<b>order</b>:1', value: { $t: 'Object', v: [['total', { $t: 'bigint', v: '42' }]] } }]);
    child.kill('SIGINT');
    expect((await childExit(child, 10_000)).code).toBe(0);
  });

  it('explains its usage when --redis is missing (exit 2)', async () => {
    const child = spawn(process.execPath, [CLI, 'inspect'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (chunk) => (err += chunk));
    expect((await childExit(child)).code).toBe(2);
    expect(err).toMatch(/usage: kvbus inspect --redis <url>/);
  });
});
