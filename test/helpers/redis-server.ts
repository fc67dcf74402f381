// A real Redis for the Redis suites: a private `redis-server` on a free loopback
// port (never the machine's shared one on 6379), or the server at REDIS_URL.
//
// Skip or fail: without REDIS_URL and without `redis-server` on PATH, the Redis
// suites are skipped with a printed reason, unless KVBUS_REQUIRE_REDIS=1 (set by
// .ci/run), which makes them fail. KVBUS_REDIS_SERVER may name the binary.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import { findRedisServer, freePort, ping } from '../../tools/redis-server.mjs';
import { childExit } from './processes.js';
import { sleep } from './wait.js';

/** A Redis the tests may use. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>` (or REDIS_URL). */
  readonly url: string;
  readonly port: number;
  /** True when the server is REDIS_URL's: this helper does not own it and cannot stop or restart it. */
  readonly external: boolean;
  /** False between {@link RedisServer.kill} and {@link RedisServer.start}. */
  readonly running: boolean;
  /** Teardown: stops a private server (SIGTERM, awaits its exit) and removes its directory. A no-op on REDIS_URL. */
  stop(): Promise<void>;
  /** Kills a private server (SIGKILL) and leaves it down until {@link RedisServer.start}. Throws on REDIS_URL. */
  kill(): Promise<void>;
  /** Starts a killed private server again on the same port; resolves once it answers PING. Throws on REDIS_URL. */
  start(): Promise<void>;
  /** Kills and starts again on the same port: without `persistent`, every key is gone. Throws on REDIS_URL. */
  restart(): Promise<void>;
  /** FLUSHALL on a private server; a no-op on REDIS_URL (never wipe a server we do not own). */
  flushAll(): Promise<void>;
}

/** What this machine offers. */
export interface RedisSupport {
  readonly available: boolean;
  /** REDIS_URL is set. */
  readonly external: boolean;
  /** Why the suites are skipped, when they are. */
  readonly reason: string | undefined;
  readonly required: boolean;
  readonly binary: string | undefined;
}

const REQUIRED = process.env.KVBUS_REQUIRE_REDIS === '1';

let cached: RedisSupport | undefined;

/**
 * Decides, synchronously (for `describe.skipIf`), whether the Redis suites can run.
 * Throws when they cannot and KVBUS_REQUIRE_REDIS=1: the suite then fails.
 */
export function redisSupport(): RedisSupport {
  if (cached) return cached;
  const url = process.env.REDIS_URL;
  if (url) {
    cached = { available: true, external: true, reason: undefined, required: REQUIRED, binary: undefined };
    return cached;
  }
  const binary = findRedisServer();
  if (binary) {
    cached = { available: true, external: false, reason: undefined, required: REQUIRED, binary };
    return cached;
  }
  const reason = process.env.KVBUS_REDIS_SERVER
    ? `KVBUS_REDIS_SERVER=${process.env.KVBUS_REDIS_SERVER} is not an executable`
    : 'REDIS_URL is not set and no `redis-server` is on PATH';
  if (REQUIRED) {
    throw new Error(`KVBUS_REQUIRE_REDIS=1 but ${reason}: install redis-server (apt-get install redis-server) or set REDIS_URL`);
  }
  console.warn(`[kvbus tests] Redis suites skipped: ${reason} (set KVBUS_REQUIRE_REDIS=1 to fail instead)`);
  cached = { available: false, external: false, reason, required: REQUIRED, binary: undefined };
  return cached;
}

/** `describe`, skipped (with the reason in its name) when no Redis is available. */
export function describeRedis(name: string, fn: () => void): void {
  const support = redisSupport();
  describe.skipIf(!support.available)(support.available ? name : `${name} [skipped: ${support.reason}]`, fn);
}

/**
 * `describe` for tests that stop or restart Redis. On REDIS_URL they cannot run:
 * skipped with a reason locally; under KVBUS_REQUIRE_REDIS=1 they run, and
 * `kill`/`restart` throw, so they fail instead of passing unseen.
 */
export function describeRestartable(name: string, fn: () => void): void {
  const support = redisSupport();
  const skip = !support.available || (support.external && !support.required);
  if (support.available && support.external && !support.required) {
    console.warn(`[kvbus tests] "${name}" skipped: REDIS_URL is set, and a server this suite does not own cannot be restarted`);
  }
  const why = !support.available ? support.reason : 'REDIS_URL cannot be restarted';
  describe.skipIf(skip)(skip ? `${name} [skipped: ${why}]` : name, fn);
}

/**
 * True when tests that kill or restart Redis must be skipped: REDIS_URL is set (a
 * server we do not own) and KVBUS_REQUIRE_REDIS is not 1. Under KVBUS_REQUIRE_REDIS=1
 * they run, and `kill`/`restart` throw, so they fail.
 */
export function cannotRestartRedis(): boolean {
  const support = redisSupport();
  return support.external && !support.required;
}

/** Sends one inline command to the server (used for FLUSHALL without a client library). */
function inlineCommand(port: number, command: string, ms = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`Redis on port ${port} did not answer ${command} within ${ms} ms`));
    }, ms);
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (data.includes('\r\n')) {
        clearTimeout(timer);
        socket.destroy();
        if (data.startsWith('-')) reject(new Error(`Redis answered ${command} with ${data.trim()}`));
        else resolve(data.trim());
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

const running = new Set<ChildProcess>();
// A crashed test process must not leave private servers behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

class PrivateRedis implements RedisServer {
  readonly external = false;
  readonly url: string;
  readonly port: number;
  readonly #binary: string;
  readonly #dir: string;
  readonly #persistent: boolean;
  #child: ChildProcess | undefined;
  #stopped = false;

  get running(): boolean {
    return this.#child !== undefined;
  }

  constructor(binary: string, port: number, persistent: boolean) {
    this.#binary = binary;
    this.port = port;
    this.#persistent = persistent;
    this.url = `redis://127.0.0.1:${port}`;
    this.#dir = mkdtempSync(join(tmpdir(), 'kvbus-redis-'));
  }

  /** Spawns the server and waits for PING; rejects with its output if it dies or stays silent. */
  async start(): Promise<void> {
    if (this.#stopped) throw new Error('This Redis server was stopped for good (teardown)');
    if (this.#child) throw new Error(`Redis on port ${this.port} is already running`);
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      // Persistent: every write is in the append-only file, fsynced, before Redis answers it,
      // so a SIGKILLed server restarted on the same directory has every acknowledged write.
      ...(this.#persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
      '--daemonize',
      'no',
      '--dir',
      this.#dir,
    ];
    const child = spawn(this.#binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (chunk) => (output = (output + String(chunk)).slice(-4000)));
    child.stderr!.on('data', (chunk) => (output = (output + String(chunk)).slice(-4000)));
    child.on('error', (error) => (output += `\n${error.message}`));
    running.add(child);
    child.once('exit', () => running.delete(child));
    this.#child = child;
    const deadline = Date.now() + 5_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        this.#child = undefined;
        throw new Error(`redis-server on port ${this.port} exited at start (code ${child.exitCode}):\n${output}`);
      }
      if (await ping(this.port)) return;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        await childExit(child);
        this.#child = undefined;
        throw new Error(`redis-server on port ${this.port} did not answer PING within 5 s:\n${output}`);
      }
      await sleep(20);
    }
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    child.kill('SIGKILL');
    await childExit(child);
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const child = this.#child;
    this.#child = undefined;
    if (child) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await childExit(child);
      clearTimeout(timer);
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }

  async flushAll(): Promise<void> {
    await inlineCommand(this.port, 'FLUSHALL');
  }
}

class ExternalRedis implements RedisServer {
  readonly external = true;
  readonly running = true;
  readonly url: string;
  readonly port: number;

  constructor(url: string) {
    this.url = url;
    this.port = Number(new URL(url).port || 6379);
  }

  #unsupported(what: string): Promise<never> {
    return Promise.reject(
      new Error(
        `Cannot ${what} the Redis at REDIS_URL (${this.url}): this test needs a private redis-server it can kill; unset REDIS_URL and put redis-server on PATH`,
      ),
    );
  }

  kill(): Promise<void> {
    return this.#unsupported('kill');
  }

  start(): Promise<void> {
    return this.#unsupported('start');
  }

  restart(): Promise<void> {
    return this.#unsupported('restart');
  }

  /** Not ours to stop: only removes the keys this test process wrote (namespaces from {@link uniqueNamespace}). */
  async stop(): Promise<void> {
    const { createClient } = await import('redis');
    const client = createClient({ url: this.url });
    client.on('error', () => {});
    try {
      await client.connect();
      let cursor = '0';
      do {
        const [next, keys] = (await client.sendCommand(['SCAN', cursor, 'MATCH', `kvt-*-${process.pid}-*`, 'COUNT', '1000'])) as [
          string,
          string[],
        ];
        cursor = String(next);
        if (keys.length > 0) await client.sendCommand(['UNLINK', ...keys.map(String)]);
      } while (cursor !== '0');
    } catch {
      // Best effort: the namespaces are unique anyway.
    } finally {
      if (client.isOpen) await client.close().catch(() => client.destroy());
    }
  }

  async flushAll(): Promise<void> {
    // Not ours: tests isolate themselves with unique namespaces instead.
  }
}

/** How to start a private server. */
export interface StartRedisOptions {
  /**
   * `--appendonly yes --appendfsync always`: what Redis acknowledged survives a
   * SIGKILL ({@link RedisServer.kill}, then {@link RedisServer.start} on the same
   * port and directory). Default: no persistence at all.
   */
  persistent?: boolean;
}

/**
 * Starts a private redis-server on a free loopback port (or wraps REDIS_URL).
 * Call `stop()` in teardown.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const support = redisSupport();
  if (!support.available) throw new Error(`No Redis: ${support.reason}`);
  if (support.external) return new ExternalRedis(process.env.REDIS_URL!);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const server = new PrivateRedis(support.binary!, await freePort(), options.persistent ?? false);
    try {
      await server.start();
      return server;
    } catch (error) {
      // Another process may have taken the port between the probe and the spawn.
      lastError = error;
      await server.stop();
    }
  }
  throw lastError;
}

let counter = 0;
/** A namespace no other test (or test run) uses: letters, digits and dashes only. */
export function uniqueNamespace(label = 't'): string {
  return `kvt-${label}-${process.pid}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
}
