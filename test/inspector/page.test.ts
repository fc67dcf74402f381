// The inspector page in a real browser (Debian's chromium, driven by
// playwright-core): keys and values shown, a new key appearing live, markup in
// a key or value shown as text, writes from the page, and the screenshot the
// README links to (docs/inspector.png).
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createStore, type MainStore } from 'kvbus';
import { type Inspector, inspect } from 'kvbus/inspector';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const SCREENSHOT = fileURLToPath(new URL('../../docs/inspector.png', import.meta.url));
const XSS = '<img src=x onerror="window.__xss=1">';

let browser: Browser;
let store: MainStore;
let inspector: Inspector | undefined;
let page: Page | undefined;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await page?.close();
  page = undefined;
  await inspector?.close();
  inspector = undefined;
  await store?.close();
});

/** Opens the page on a fresh store; resolves once its event stream is live. */
async function open(options: { allowWrites?: boolean } = {}): Promise<Page> {
  inspector = await inspect(store, options);
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto(inspector.url);
  await page.waitForSelector('body[data-live="1"]');
  return page;
}

const keyCell = (p: Page, key: string) => p.locator('#keys td.k', { hasText: key }).first();

describe('the inspector page', () => {
  it('shows keys with readable structured-clone values, revision on click, and the charts', async () => {
    store = createStore();
    await store.set('user:1', { name: 'Ada', tags: new Set(['x']), born: new Date(Date.UTC(1815, 11, 10)) });
    await store.set('map', new Map([['a', 1n]]));
    await store.set('bytes', new Uint8Array([1, 2, 3]), { ttlMs: 600_000 });
    const p = await open();
    await expect.poll(() => p.locator('#keys tr').count()).toBe(3);
    const row = (key: string) => p.locator('#keys tr', { has: p.locator('td.k', { hasText: key }) }).locator('td.v');
    expect(await row('map').textContent()).toContain('Map(1) { "a" => 1n }');
    expect(await row('bytes').textContent()).toBe('Uint8Array(3) [1, 2, 3]');
    expect(await row('user:1').textContent()).toContain('Date(1815-12-10T00:00:00.000Z)');
    const revision = (await store.getEntry('user:1'))?.revision;
    await keyCell(p, 'user:1').click();
    await expect.poll(() => p.locator('#detail-head').textContent()).toBe(`user:1  ·  revision ${revision}  ·  no TTL`);
    expect(await p.locator('#detail').textContent()).toContain('Set(1) {');
    await keyCell(p, 'bytes').click();
    await expect.poll(() => p.locator('#detail-head').textContent()).toMatch(/^bytes {2}· {2}revision \d+ {2}· {2}TTL 5\d\d\.\d s$/);
  });

  it('filters by glob and pages through the keys (never all at once)', async () => {
    store = createStore();
    for (let i = 0; i < 250; i++) await store.set(`item:${i}`, i);
    await store.set('other', 1);
    const p = await open();
    await expect.poll(() => p.locator('#keys tr').count()).toBe(100);
    await p.click('#more');
    await expect.poll(() => p.locator('#keys tr').count()).toBe(200);
    await p.fill('#glob', 'oth*');
    await p.click('#filter button');
    await expect.poll(() => p.locator('#keys tr').count()).toBe(1);
    expect(await keyCell(p, 'other').isVisible()).toBe(true);
  });

  it('shows a key set after the page loaded, live; the feed and the channel rates too', async () => {
    store = createStore();
    await store.set('before', 1);
    const p = await open();
    await keyCell(p, 'before').waitFor();
    await store.set('after', { live: true });
    await keyCell(p, 'after').waitFor();
    await expect.poll(() => p.locator('#feed').textContent()).toContain('set  after = { "live": true }');
    const timer = setInterval(() => void store.publish('jobs:progress', 1), 20);
    try {
      await p.locator('#channels td.k', { hasText: 'jobs:progress' }).waitFor();
    } finally {
      clearInterval(timer);
    }
  });

  it('lists the connected workers with their thread id, subscriptions, buffer use and drops', async () => {
    store = createStore();
    const worker = new Worker(new URL('../fixtures/listening-client.mjs', import.meta.url));
    try {
      const ready = new Promise((resolve) => worker.once('message', resolve));
      store.attach(worker);
      await ready;
      const p = await open();
      const row = p.locator('#clients tr').first();
      await expect.poll(() => row.locator('td').first().textContent()).toBe(`worker #1 thread ${worker.threadId}`);
      // The watch's first value may still wait for the worker's acknowledgement.
      expect(await row.locator('td').nth(1).textContent()).toMatch(/^2 subscriptions · [01] buffered · 0 dropped$/);
    } finally {
      await worker.terminate();
    }
  });

  it('renders markup in keys and values as text: no element created, no script run, no dialog', async () => {
    store = createStore();
    await store.set(XSS, XSS);
    const p = await open();
    let dialogs = 0;
    p.on('dialog', () => dialogs++);
    await keyCell(p, '<img').waitFor();
    expect(await keyCell(p, '<img').textContent()).toBe(XSS);
    await store.set('live', `<script>alert(1)</script>${XSS}`);
    await keyCell(p, 'live').waitFor();
    await keyCell(p, '<img').click();
    await expect.poll(() => p.locator('#detail').textContent()).toBe(JSON.stringify(XSS));
    expect(await p.locator('img').count()).toBe(0);
    expect(await p.locator('main script').count()).toBe(0);
    expect(await p.evaluate('window.__xss')).toBeUndefined();
    expect(dialogs).toBe(0);
  });

  it('writes from the page only with allowWrites; saves the screenshot', async () => {
    store = createStore();
    await store.set('job:1', { state: 'running', progress: 0.4 });
    await store.set('config', new Map([['retries', 3]]));
    let p = await open();
    expect(await p.locator('#writes').isHidden()).toBe(true);
    // The page's own origin and token: a POST from it is still refused.
    const refused = await p.evaluate(
      "fetch('/api/set' + location.search, { method: 'POST', body: JSON.stringify({ key: 'x', json: '1' }) }).then((r) => r.status)",
    );
    expect(refused).toBe(403);
    expect(await store.has('x')).toBe(false);
    await p.close();
    await inspector?.close();

    p = await open({ allowWrites: true });
    await p.fill('#set-key', 'written');
    await p.fill('#set-json', '{"from":"page"}');
    await p.click('#set-form button');
    await expect.poll(() => store.get('written')).toEqual({ from: 'page' });
    await keyCell(p, 'written').waitFor();
    await p.click('#del');
    await expect.poll(() => store.has('written')).toBe(false);
    // Some traffic for the screenshot: a changing counter and a channel.
    // A few seconds of traffic for the screenshot, so the charts have lines.
    for (let i = 0; i < 120; i++) {
      await store.incr('counter', 1);
      await store.publish(i % 3 ? 'jobs:progress' : 'jobs:done', { i });
      await store.set(`job:${i % 4}`, { state: i % 2 ? 'running' : 'queued', step: i, at: new Date() });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await p.locator('#channels td.k', { hasText: 'jobs:progress' }).waitFor();
    await keyCell(p, 'job:1').click();
    await p.locator('#detail-head', { hasText: 'revision' }).waitFor();
    mkdirSync(fileURLToPath(new URL('../../docs/', import.meta.url)), { recursive: true });
    await p.screenshot({ path: SCREENSHOT, fullPage: true });
  });
});
