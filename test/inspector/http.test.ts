// The inspector's HTTP side without a browser: the token on every request
// (401 without it or with a wrong one), writes refused without allowWrites
// (403) and applied with it, option checks, and no store subscription while
// no page is open.
import { createStore, isKvbusError, type MainStore } from 'kvbus';
import { type Inspector, inspect } from 'kvbus/inspector';
import { afterEach, describe, expect, it } from 'vitest';
import { waitUntil } from '../helpers/wait.js';

let store: MainStore;
let inspector: Inspector | undefined;
afterEach(async () => {
  await inspector?.close();
  inspector = undefined;
  await store?.close();
});

/** `url` with `path` and the token replaced (or removed, with `null`). */
function at(base: string, path: string, token?: string | null): string {
  const url = new URL(path, base);
  const real = new URL(base).searchParams.get('token') ?? '';
  if (token !== null) url.searchParams.set('token', token ?? real);
  return url.href;
}

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('inspect() over HTTP', () => {
  it('binds 127.0.0.1 and puts a random token in the URL', async () => {
    store = createStore();
    inspector = await inspect(store);
    const url = new URL(inspector.url);
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.searchParams.get('token')).toMatch(/^[0-9a-f]{64}$/);
    const page = await fetch(inspector.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>kvbus inspector</title>');
  });

  it('answers 401 to every path without the token or with a wrong one', async () => {
    store = createStore();
    await store.set('secret', 'value');
    inspector = await inspect(store, { token: 'right-token-123' });
    for (const path of ['/', '/api/keys', '/api/key?key=secret', '/api/events', '/api/info', '/nope']) {
      expect((await fetch(at(inspector.url, path, null))).status, path).toBe(401);
      expect((await fetch(at(inspector.url, path, 'wrong-token-123'))).status, path).toBe(401);
      expect((await fetch(at(inspector.url, path, 'right-token-12'))).status, path).toBe(401);
    }
    const denied = await fetch(at(inspector.url, '/api/key?key=secret', null));
    expect(await denied.text()).not.toContain('value');
    expect((await fetch(at(inspector.url, '/api/key?key=secret'))).status).toBe(200);
    const bearer = await fetch(at(inspector.url, '/api/info', null), { headers: { authorization: 'Bearer right-token-123' } });
    expect(bearer.status).toBe(200);
    expect((await post(at(inspector.url, '/api/set', null), { key: 'k', json: '1' })).status).toBe(401);
    expect(await store.has('k')).toBe(false);
  });

  it('refuses set, delete and publish without allowWrites (403) and applies them with it', async () => {
    store = createStore();
    await store.set('keep', 1);
    inspector = await inspect(store);
    expect((await post(at(inspector.url, '/api/set'), { key: 'k', json: '{"a":1}' })).status).toBe(403);
    expect((await post(at(inspector.url, '/api/delete'), { key: 'keep' })).status).toBe(403);
    expect((await post(at(inspector.url, '/api/publish'), { channel: 'c', json: '1' })).status).toBe(403);
    expect(await store.has('k')).toBe(false);
    expect(await store.get('keep')).toBe(1);
    await inspector.close();

    inspector = await inspect(store, { allowWrites: true });
    const received: unknown[] = [];
    const sub = store.channel('c').subscribe((data) => received.push(data));
    expect((await post(at(inspector.url, '/api/set'), { key: 'k', json: '{"a":1}' })).status).toBe(200);
    expect(await store.get('k')).toEqual({ a: 1 });
    expect((await post(at(inspector.url, '/api/delete'), { key: 'keep' })).status).toBe(200);
    expect(await store.has('keep')).toBe(false);
    expect((await post(at(inspector.url, '/api/publish'), { channel: 'c', json: '"hi"' })).status).toBe(200);
    await waitUntil(() => received.length === 1, 'the published message');
    sub.unsubscribe();
    const bad = await post(at(inspector.url, '/api/set'), { key: 'k', json: 'not json' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/not valid JSON/);
    expect((await fetch(at(inspector.url, '/api/set'))).status).toBe(405);
  });

  it('subscribes to the store only while a page is connected', async () => {
    store = createStore();
    const idle = (await store.stats()).subscriptions;
    inspector = await inspect(store);
    expect((await store.stats()).subscriptions).toBe(idle);
    const events = new AbortController();
    const res = await fetch(at(inspector.url, '/api/events'), { signal: events.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    await waitUntil(async () => (await store.stats()).subscriptions > idle, 'the inspector subscribing');
    events.abort();
    await waitUntil(async () => (await store.stats()).subscriptions === idle, 'the inspector unsubscribing');
  });

  it('rejects bad arguments with ERR_BAD_ARGUMENT', async () => {
    store = createStore();
    const fails = async (call: () => Promise<unknown>, message: RegExp) => {
      const err = await call().catch((e: unknown) => e);
      expect(isKvbusError(err) && err.code === 'ERR_BAD_ARGUMENT', String(err)).toBe(true);
      expect((err as Error).message).toMatch(message);
    };
    await fails(() => inspect({} as MainStore), /expected `store` to be a kvbus Store/);
    await fails(() => inspect(store, { port: -1 }), /expected `port` to be an integer from 0 to 65535, got -1/);
    await fails(() => inspect(store, { token: 'short' }), /expected `token` to be a string of at least 8 characters/);
    await fails(() => inspect(store, { allowWrites: 'yes' as unknown as boolean }), /expected `allowWrites` to be a boolean/);
  });
});
