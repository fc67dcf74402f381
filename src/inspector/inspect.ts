import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KvbusError, type Store } from 'kvbus';
import { KeyPages } from './key-pages.js';
import { LiveFeed } from './live-feed.js';
import { type RouteContext, reply, route } from './routes.js';

/** Options of {@link inspect}. */
export interface InspectOptions {
  /**
   * The TCP port to listen on; `0` picks a free one.
   * @defaultValue 0
   */
  port?: number;
  /**
   * The address to bind. Anything but a loopback address exposes the store to the network (the token still guards it).
   * @defaultValue '127.0.0.1'
   */
  host?: string;
  /**
   * The access token every request must carry (`?token=` or `Authorization: Bearer`).
   * @defaultValue 32 random bytes, hex
   */
  token?: string;
  /**
   * Let the page set, delete and publish.
   * @defaultValue false
   */
  allowWrites?: boolean;
}

/** A running inspector, from {@link inspect}. */
export interface Inspector {
  /** The page's address with its token: `http://127.0.0.1:PORT/?token=…`. */
  readonly url: string;
  /** Stops serving: ends every open page's stream and releases the store's subscriptions. */
  close(): Promise<void>;
}

/**
 * Serves a live page showing a store: keys and values, the change feed,
 * channels with their rates, connected clients and charts of its stats. It
 * subscribes to the store only while a page is open.
 * @param store - the store to show (a main-thread store shows its connected clients too)
 * @param options - where to listen, the token, whether the page may write
 * @returns the page's URL (with the token) and `close()`
 * @throws KvbusError `ERR_BAD_ARGUMENT` for a bad store or option
 * @example
 * ```ts
 * import { getStore } from 'kvbus';
 * import { inspect } from 'kvbus/inspector';
 * const { url, close } = await inspect(getStore());
 * console.log(`open ${url}`);
 * ```
 */
export async function inspect(store: Store, options: InspectOptions = {}): Promise<Inspector> {
  checkStore(store);
  const { port, host, token, allowWrites } = checkOptions(options);
  const ctx: RouteContext = { store, pages: new KeyPages(store), feed: new LiveFeed(store), allowWrites };
  const expected = digest(token);

  const server = createServer((req, res) => {
    void handle(ctx, expected, req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new KvbusError('ERR_BAD_ARGUMENT', `inspect: cannot listen on ${host}:${port}: ${err.message}`, { cause: err })),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${address.port}/?token=${encodeURIComponent(token)}`,
    close() {
      closed ??= new Promise<void>((resolve) => {
        ctx.feed.close();
        ctx.pages.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

async function handle(ctx: RouteContext, expected: Buffer, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'http://inspector');
    if (!authorized(req, url, expected)) {
      res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end('401: this inspector needs its token: open the URL inspect() returned (…/?token=…)\n');
      return;
    }
    await route(ctx, req, res, url);
  } catch (err) {
    reply(res, err instanceof SyntaxError ? 400 : 500, { error: err instanceof Error ? err.message : String(err) });
  }
}

/** The token from the query or an `Authorization: Bearer` header, compared in constant time (as SHA-256 digests, so lengths match too). */
function authorized(req: IncomingMessage, url: URL, expected: Buffer): boolean {
  const header = req.headers.authorization;
  const given = url.searchParams.get('token') ?? (header?.startsWith('Bearer ') ? header.slice(7) : undefined);
  if (given === undefined) return false;
  return timingSafeEqual(digest(given), expected);
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function checkStore(store: unknown): void {
  const methods = ['scan', 'getEntry', 'changes', 'pattern', 'stats', 'set', 'delete', 'publish'];
  const missing =
    typeof store === 'object' && store !== null ? methods.find((m) => typeof (store as Record<string, unknown>)[m] !== 'function') : 'scan';
  if (missing !== undefined) {
    throw new KvbusError(
      'ERR_BAD_ARGUMENT',
      `inspect: expected \`store\` to be a kvbus Store (from createStore() or getStore()), got ${describe(store)}`,
    );
  }
}

function checkOptions(options: InspectOptions): Required<InspectOptions> {
  if (typeof options !== 'object' || options === null) throw bad('options', 'an object', options);
  const { port = 0, host = '127.0.0.1', token = randomBytes(32).toString('hex'), allowWrites = false } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw bad('port', 'an integer from 0 to 65535', port);
  if (typeof host !== 'string' || host === '') throw bad('host', 'a non-empty string', host);
  if (typeof token !== 'string' || token.length < 8) throw bad('token', 'a string of at least 8 characters', token);
  if (typeof allowWrites !== 'boolean') throw bad('allowWrites', 'a boolean', allowWrites);
  return { port, host, token, allowWrites };
}

function bad(name: string, expected: string, got: unknown): KvbusError {
  return new KvbusError('ERR_BAD_ARGUMENT', `inspect: expected \`${name}\` to be ${expected}, got ${describe(got)}`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 8 ? `${value.slice(0, 3)}…` : value);
  if (typeof value === 'object' && value !== null) return 'an object without the Store methods';
  return String(value);
}
