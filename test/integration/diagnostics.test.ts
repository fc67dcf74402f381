import { spawn } from 'node:child_process';
import { tracingChannel } from 'node:diagnostics_channel';
import { type CommandTraceContext, createPool, isKvbusError } from 'kvbus';
import { afterEach, describe, expect, it } from 'vitest';
import { fixturePath, fixtureUrl } from '../helpers/fixtures.js';
import { describeRestartable } from '../helpers/redis-server.js';
import { Resources } from '../helpers/resources.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { sleep } from '../helpers/wait.js';

const res = new Resources();
afterEach(() => res.cleanup());

type Event = [name: string, context: CommandTraceContext];

/** Records every `kvbus:command` event while `fn` runs. */
async function traced(fn: () => Promise<unknown>): Promise<Event[]> {
  const events: Event[] = [];
  const channel = tracingChannel<unknown, CommandTraceContext>('kvbus:command');
  const handlers = {
    start: (c: CommandTraceContext) => events.push(['start', { ...c }]),
    end: (c: CommandTraceContext) => events.push(['end', { ...c }]),
    asyncStart: (c: CommandTraceContext) => events.push(['asyncStart', { ...c }]),
    asyncEnd: (c: CommandTraceContext) => events.push(['asyncEnd', { ...c }]),
    error: (c: CommandTraceContext) => events.push(['error', { ...c }]),
  };
  channel.subscribe(handlers);
  try {
    await fn();
  } finally {
    channel.unsubscribe(handlers);
  }
  return events;
}

/** Runs a node script and collects its stderr; `onStdout` sees its output. */
function run(
  file: string,
  env: NodeJS.ProcessEnv,
  args: string[] = [],
  onStdout?: (text: string) => void,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk) => onStdout?.(String(chunk)));
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not exit within 30 s; stderr so far:\n${stderr}`));
    }, 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('diagnostics_channel kvbus:command', () => {
  it('traces a command: start, end, asyncStart, asyncEnd with its type, key, client and result', async () => {
    const store = res.store();
    const events = await traced(() => store.set('a', 1));
    expect(events.map(([name]) => name)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    expect(events[0]?.[1]).toEqual({ type: 'kv.set', key: 'a', client: 'main' });
    expect(events[3]?.[1]).toMatchObject({ type: 'kv.set', key: 'a', client: 'main', result: 1 });
  });

  it('names the channel of a publish and the glob of keys', async () => {
    const store = res.store();
    const events = await traced(async () => {
      await store.publish('news', 'x');
      await store.keys('user:*');
    });
    const starts = events.filter(([name]) => name === 'start').map(([, c]) => c);
    expect(starts).toEqual([
      { type: 'bus.publish', channel: 'news', client: 'main' },
      { type: 'kv.keys', pattern: 'user:*', client: 'main' },
    ]);
  });

  it('publishes error with the KvbusError of a failed command', async () => {
    const store = res.store();
    await store.set('taken', 1);
    const events = await traced(() => store.set('taken', 2, { ifRevision: 0 }).catch(() => {}));
    expect(events.map(([name]) => name)).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    const error = events[2]?.[1].error;
    expect(isKvbusError(error) && error.code).toBe('ERR_CONFLICT');
  });

  it("traces update's own reads and writes", async () => {
    const store = res.store();
    const events = await traced(() => store.update('n', (old: number | undefined) => (old ?? 0) + 1));
    expect(events.filter(([name]) => name === 'start').map(([, c]) => c.type)).toEqual(['kv.getEntry', 'kv.set']);
  });

  it("traces a worker's commands in the worker, as client 'worker'", async () => {
    const store = res.store();
    const pool = res.pool(createPool({ store, filename: fixtureUrl('conventions-tasks.mjs').href, maxThreads: 1 }));
    const events = (await pool.run(undefined, { name: 'traceInWorker' })) as unknown[][];
    expect(events).toEqual([
      ['start', 'kv.set', 't:w', 'worker'],
      ['end', 'kv.set'],
      ['asyncStart', 'kv.set'],
      ['asyncEnd', 'kv.set', 1],
      ['start', 'kv.set', 't:w', 'worker'],
      ['end', 'kv.set'],
      ['error', 'kv.set', 'ERR_CONFLICT'],
      ['asyncStart', 'kv.set'],
      ['asyncEnd', 'kv.set', undefined],
    ]);
  });

  it('publishes nothing and builds no context when nobody listens', async () => {
    const store = res.store();
    const channel = tracingChannel('kvbus:command');
    expect(channel.start.hasSubscribers).toBe(false);
    // A command still works, and a listener added afterwards sees only later commands.
    await store.set('quiet', 1);
    const events = await traced(async () => {});
    expect(events).toEqual([]);
  });
});

describe('NODE_DEBUG=kvbus', () => {
  it('logs store open and close, joins, exits, a refused hello and a remote command failure to stderr', async () => {
    const { code, stderr } = await run(fixturePath('debug-parent.mjs'), { ...process.env, NODE_DEBUG: 'kvbus' });
    expect(code, stderr).toBe(0);
    const lines = stderr.split('\n').filter((line) => line.startsWith('KVBUS '));
    const expected = [
      /^KVBUS \d+: store open: namespace "kvbus", memory backend$/,
      /^KVBUS \d+: process \d+ join \(pid \d+\)$/,
      /^KVBUS \d+: process \d+: kv\.set failed: ERR_CONFLICT Key "taken" moved on/,
      /^KVBUS \d+: process \d+ exit \(pid \d+\), exit code 0$/,
      /^KVBUS \d+: worker \d+ join \(thread \d+\)$/,
      /^KVBUS \d+: worker \d+ rejected \(thread \d+\): .*already connected/,
      /^KVBUS \d+: worker \d+ exit \(thread \d+\)/,
      /^KVBUS \d+: store closed: namespace "kvbus"$/,
    ];
    expect(lines.length, stderr).toBe(expected.length);
    for (const [i, pattern] of expected.entries()) expect(lines[i], stderr).toMatch(pattern);
  });

  it('is silent without it', async () => {
    const env = { ...process.env };
    delete env.NODE_DEBUG;
    const { code, stderr } = await run(fixturePath('debug-parent.mjs'), env);
    expect(code, stderr).toBe(0);
    expect(stderr).not.toContain('KVBUS');
  });
});

describeRestartable('NODE_DEBUG=kvbus on Redis', () => {
  const redis = useRedisServer({ raw: false });

  it('logs the connection going down and coming back', async () => {
    let ready: () => void = () => {};
    const isReady = new Promise<void>((resolve) => {
      ready = resolve;
    });
    const running = run(fixturePath('debug-redis.mjs'), { ...process.env, NODE_DEBUG: 'kvbus' }, [redis.url], (text) => {
      if (text.includes('ready')) ready();
    });
    await Promise.race([isReady, running]);
    await redis.server.kill();
    await sleep(1000);
    await redis.server.start();
    const { code, stderr } = await running;
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/^KVBUS \d+: store open: namespace "debug-redis", redis backend$/m);
    expect(stderr).toMatch(/^KVBUS \d+: redis: reconnecting$/m);
    expect(stderr).toMatch(/^KVBUS \d+: redis: connected again; /m);
  }, 40_000);
});
