import type { IncomingMessage, ServerResponse } from 'node:http';
import { isKvbusError, type Store } from 'kvbus';
import { encodeValue } from './encode-value.js';
import type { KeyPages } from './key-pages.js';
import type { LiveFeed } from './live-feed.js';
import { PAGE_HTML } from './page.js';

/** What the request handlers work on. */
export interface RouteContext {
  store: Store;
  pages: KeyPages;
  feed: LiveFeed;
  allowWrites: boolean;
}

/** A request body larger than this is refused (a value typed into the page). */
const MAX_BODY = 1024 * 1024;
/** Most keys one page of the list may ask for. */
const MAX_PAGE = 1000;

/**
 * Answers one authorized request.
 * @param ctx - the store and the inspector's parts
 * @param req - the request (its token already checked)
 * @param res - the response
 * @param url - the parsed request URL
 */
export async function route(ctx: RouteContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const get = req.method === 'GET' || req.method === 'HEAD';
  const post = req.method === 'POST';
  switch (url.pathname) {
    case '/':
      if (!get) return reply(res, 405, { error: 'use GET' });
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        // The page is self-contained: no script, style or connection elsewhere.
        'content-security-policy':
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      });
      res.end(PAGE_HTML);
      return;
    case '/api/info':
      return reply(res, 200, { allowWrites: ctx.allowWrites, stats: await ctx.store.stats() });
    case '/api/events':
      if (!get) return reply(res, 405, { error: 'use GET' });
      ctx.feed.add(res);
      return;
    case '/api/keys': {
      const limit = Math.min(MAX_PAGE, Math.max(1, Number(url.searchParams.get('limit') ?? 100) || 100));
      const cursor = url.searchParams.get('cursor');
      if (cursor) {
        const page = ctx.pages.next(cursor, limit);
        if (!page) return reply(res, 410, { error: 'this listing expired: filter again' });
        return reply(res, 200, await page);
      }
      return reply(res, 200, await ctx.pages.first(url.searchParams.get('glob') || '*', limit));
    }
    case '/api/key': {
      const key = url.searchParams.get('key') ?? '';
      const [entry, ttlMs] = await Promise.all([ctx.store.getEntry(key), ctx.store.ttl(key)]);
      if (!entry) return reply(res, 200, { found: false });
      // JSON has no Infinity: null says "no TTL".
      const ttl = ttlMs === undefined || ttlMs === Number.POSITIVE_INFINITY ? null : ttlMs;
      return reply(res, 200, { found: true, revision: entry.revision, ttlMs: ttl, value: encodeValue(entry.value) });
    }
    case '/api/set':
    case '/api/delete':
    case '/api/publish':
      if (!post) return reply(res, 405, { error: 'use POST' });
      if (!ctx.allowWrites) return reply(res, 403, { error: 'read-only inspector: start it with inspect(store, { allowWrites: true })' });
      return write(ctx.store, url.pathname, await readJson(req), res);
    default:
      return reply(res, 404, { error: 'not found' });
  }
}

async function write(store: Store, path: string, body: Record<string, unknown>, res: ServerResponse): Promise<void> {
  const name = path === '/api/publish' ? body.channel : body.key;
  if (typeof name !== 'string' || name === '')
    return reply(res, 400, { error: `expected ${path === '/api/publish' ? 'channel' : 'key'} to be a non-empty string` });
  try {
    if (path === '/api/delete') return reply(res, 200, { deleted: await store.delete(name) });
    const value = parseValue(body.json);
    if (path === '/api/publish') return reply(res, 200, { delivered: await store.publish(name, value) });
    const ttlMs = body.ttlMs === undefined || body.ttlMs === '' || body.ttlMs === null ? undefined : Number(body.ttlMs);
    return reply(res, 200, { revision: await store.set(name, value, ttlMs === undefined ? {} : { ttlMs }) });
  } catch (err) {
    if (isKvbusError(err) || err instanceof SyntaxError) return reply(res, 400, { error: (err as Error).message });
    throw err;
  }
}

/** A value typed into the page: JSON text (`"text"`, `42`, `{"a":1}`). */
function parseValue(json: unknown): unknown {
  if (typeof json !== 'string') throw new SyntaxError('expected json to be a string of JSON text');
  try {
    return JSON.parse(json);
  } catch {
    throw new SyntaxError(`the value is not valid JSON (write a string as "text" with quotes): ${json.slice(0, 80)}`);
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new SyntaxError('request body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * Sends a JSON reply.
 * @param res - the response
 * @param status - the HTTP status
 * @param body - what to send as JSON
 */
export function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
