// Finding and probing a redis-server, shared by the Redis tests and the Redis
// bench (plain JavaScript, so the bench can load it without a build).
import { accessSync, constants } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/** The machine's shared Redis: never started on, never flushed. */
export const SHARED_PORT = 6379;

/**
 * The redis-server binary: KVBUS_REDIS_SERVER when set, else the first on PATH.
 * @returns its path, or undefined when there is none
 */
export function findRedisServer() {
  const override = process.env.KVBUS_REDIS_SERVER;
  const candidates = override
    ? [override]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, 'redis-server'));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * A free loopback port, never the shared one.
 * @returns the port
 */
export async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.on('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const found = typeof address === 'object' && address ? address.port : 0;
        server.close(() => resolve(found));
      });
    });
    if (port !== SHARED_PORT && port > 0) return port;
  }
}

/**
 * Whether the server at `port` answers PING with +PONG within `ms`.
 * @param port - a loopback port
 * @param ms - how long to wait
 * @returns true when it answered
 */
export function ping(port, ms = 500) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let data = '';
    const done = (ok) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (data.includes('\r\n')) done(data.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
  });
}
