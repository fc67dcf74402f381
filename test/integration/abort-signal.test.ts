import { createPool, isKvbusError, type MainStore } from 'kvbus';
import { afterEach, describe, expect, it } from 'vitest';
import { fixtureUrl } from '../helpers/fixtures.js';
import { Resources } from '../helpers/resources.js';

const res = new Resources();
afterEach(() => res.cleanup());

/** The code a promise rejected with ('resolved' if it did not). */
const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (error: unknown) => (isKvbusError(error) ? error.code : String(error)),
  );

describe('update(key, fn, { signal })', () => {
  it('rejects with ERR_ABORTED at once, without calling fn, when the signal is already aborted', async () => {
    const store = res.store();
    let calls = 0;
    const reason = new Error('user gave up');
    const error = await store
      .update(
        'n',
        () => {
          calls++;
          return 1;
        },
        { signal: AbortSignal.abort(reason) },
      )
      .catch((e: unknown) => e);
    expect(isKvbusError(error) && error.code).toBe('ERR_ABORTED');
    expect((error as Error).cause).toBe(reason);
    expect(calls).toBe(0);
    expect(await store.has('n')).toBe(false);
  });

  it('sends nothing to the store when the signal is already aborted', async () => {
    const store = res.store();
    const before = (await store.stats()).commands;
    expect(await codeOf(store.update('n', () => 1, { signal: AbortSignal.abort() }))).toBe('ERR_ABORTED');
    expect(await codeOf(store.set('n', 1, { signal: AbortSignal.abort() }))).toBe('ERR_ABORTED');
    // Only the stats() reads themselves reached the actor.
    expect((await store.stats()).commands).toBe(before + 1);
  });

  it('gives up while fn is awaited, and does not write', async () => {
    const store = res.store();
    const controller = new AbortController();
    let fnDone = false;
    const update = store.update(
      'n',
      async () => {
        setTimeout(() => controller.abort(), 10);
        await new Promise((resolve) => setTimeout(resolve, 80));
        fnDone = true;
        return 1;
      },
      { signal: controller.signal },
    );
    expect(await codeOf(update)).toBe('ERR_ABORTED');
    // The update gave up before fn finished, and fn's late answer is not written.
    expect(fnDone).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(fnDone).toBe(true);
    expect(await store.has('n')).toBe(false);
  });

  it('stops retrying when aborted: an update that keeps conflicting ends with ERR_ABORTED, its last value unwritten', async () => {
    const store = res.store();
    await store.set('n', 0);
    const controller = new AbortController();
    let calls = 0;
    const update = store.update(
      'n',
      async (old: number | undefined) => {
        calls++;
        // Another writer moves the key on, so this attempt conflicts.
        await store.set('n', (old ?? 0) + 100);
        if (calls === 5) controller.abort();
        return -1;
      },
      { signal: controller.signal },
    );
    expect(await codeOf(update)).toBe('ERR_ABORTED');
    expect(calls).toBe(5);
    expect(await store.get('n')).toBe(500);
  });

  it('without a signal, works as before', async () => {
    const store = res.store();
    expect(await store.update('n', (old: number | undefined) => (old ?? 0) + 1)).toBe(1);
  });

  it('rejects a signal that is not an AbortSignal with ERR_BAD_ARGUMENT', async () => {
    const store = res.store();
    const bad = { aborted: false } as unknown as AbortSignal;
    expect(await codeOf(store.update('n', () => 1, { signal: bad }))).toBe('ERR_BAD_ARGUMENT');
    expect(await codeOf(store.set('n', 1, { signal: bad }))).toBe('ERR_BAD_ARGUMENT');
    expect(() => store.scan('*', { signal: bad })).toThrow(/AbortSignal/);
  });
});

describe('set(key, value, { signal })', () => {
  it('does not send a set whose signal is already aborted', async () => {
    const store = res.store();
    expect(await codeOf(store.set('k', 1, { signal: AbortSignal.abort() }))).toBe('ERR_ABORTED');
    expect(await store.has('k')).toBe(false);
  });

  it('stops waiting when aborted after the call; the write, already sent, is applied', async () => {
    const store = res.store();
    const controller = new AbortController();
    const set = store.set('k', 1, { signal: controller.signal });
    controller.abort();
    expect(await codeOf(set)).toBe('ERR_ABORTED');
    expect(await store.get('k')).toBe(1);
  });

  it('resolves as before when the signal never fires', async () => {
    const store = res.store();
    const controller = new AbortController();
    expect(await store.set('k', 1, { signal: controller.signal })).toBeGreaterThan(0);
  });
});

describe('scan(glob, { signal })', () => {
  async function fill(store: MainStore, n: number) {
    for (let i = 0; i < n; i++) await store.set(`many:${i}`, i);
  }

  it('ends the loop with ERR_ABORTED when aborted mid-scan', async () => {
    const store = res.store();
    await fill(store, 100);
    const controller = new AbortController();
    let read = 0;
    const loop = (async () => {
      for await (const _ of store.scan('many:*', { count: 10, signal: controller.signal })) {
        if (++read === 25) controller.abort();
      }
    })();
    expect(await codeOf(loop)).toBe('ERR_ABORTED');
    expect(read).toBe(25);
  });

  it('reads nothing when the signal is already aborted', async () => {
    const store = res.store();
    await fill(store, 5);
    let read = 0;
    const loop = (async () => {
      for await (const _ of store.scan('*', { signal: AbortSignal.abort() })) read++;
    })();
    expect(await codeOf(loop)).toBe('ERR_ABORTED');
    expect(read).toBe(0);
  });

  it('reads everything when the signal never fires', async () => {
    const store = res.store();
    await fill(store, 30);
    const keys: string[] = [];
    for await (const [key] of store.scan('many:*', { count: 7, signal: new AbortController().signal })) keys.push(key);
    expect(new Set(keys).size).toBe(30);
  });
});

describe('AbortSignal in a worker', () => {
  it('update, set and scan give up with ERR_ABORTED from a pool task', async () => {
    const store = res.store();
    for (let i = 0; i < 40; i++) await store.set(`w:many:${i}`, i);
    const pool = res.pool(createPool({ store, filename: fixtureUrl('conventions-tasks.mjs').href, maxThreads: 1 }));
    const out = await pool.run(undefined, { name: 'abortInWorker' });
    expect(out).toEqual({
      updateDuringFn: 'ERR_ABORTED',
      setBefore: 'ERR_ABORTED',
      setAfterCall: 'ERR_ABORTED',
      scan: 'ERR_ABORTED',
      scanRead: 15,
      written: undefined,
    });
    expect(await store.has('w:never')).toBe(false);
    // Sent before the abort: the store applied it.
    expect(await store.get('w:sent')).toBe(1);
  });
});
