// Copies are copies (issue #9, item 3), from real workers: a value backed by a
// SharedArrayBuffer is rejected wherever it comes from (the worker's client, in
// the caller's stack; the actor, for what a wire brought), and any value that
// cannot be cloned fails its own call only, with ERR_NOT_CLONEABLE naming it.
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { fixtureUrl } from '../helpers/fixtures.js';
import { messageFrom } from '../helpers/processes.js';
import { Resources } from '../helpers/resources.js';

const res = new Resources();
afterEach(() => res.cleanup());

interface Outcome {
  ok: boolean;
  value?: unknown;
  name?: string;
  code?: string;
  message?: string;
}

describe('values from a worker', () => {
  it('backed by a SharedArrayBuffer are rejected in the worker, naming the key or channel, and only that call fails', async () => {
    const store = res.store();
    store.defineOp('put', (_old, arg) => arg);
    const worker = res.worker(new Worker(fixtureUrl('values-worker.mjs')));
    store.attach(worker);
    const { results } = await messageFrom<{ results: Record<string, any> }>(worker, (m) => m?.type === 'result', 'the results');
    const shapes = Object.keys(results.shared);
    expect(shapes).toEqual(['view', 'buffer', 'dataView', 'inObject', 'inArray', 'inMap', 'inSet']);
    for (const shape of shapes) {
      const [set, update, apply, publish, incr, syncSet] = results.shared[shape] as Outcome[];
      for (const [what, outcome] of Object.entries({ set, update, apply, syncSet })) {
        expect(outcome, `${what} of ${shape}`).toMatchObject({ ok: false, name: 'KvbusError', code: 'ERR_NOT_CLONEABLE' });
        expect(outcome!.message, `${what} of ${shape}`).toMatch(new RegExp(`key "sab:${shape}".*SharedArrayBuffer`));
      }
      expect(publish).toMatchObject({ ok: false, code: 'ERR_NOT_CLONEABLE', message: expect.stringContaining(`channel "sab:${shape}"`) });
      expect(incr, `the incr sent with ${shape}`).toMatchObject({ ok: true });
    }
    expect(await store.keys('sab:*')).toEqual([]);
  });

  it('with a throwing getter fail with ERR_NOT_CLONEABLE naming the key or channel, for that call only', async () => {
    const store = res.store();
    store.defineOp('put', (_old, arg) => arg);
    const worker = res.worker(new Worker(fixtureUrl('values-worker.mjs')));
    store.attach(worker);
    const { results } = await messageFrom<{ results: Record<string, any> }>(worker, (m) => m?.type === 'result', 'the results');
    const [set, update, apply, publish, incr, syncSet] = results.getter as Outcome[];
    const names = {
      set: 'key "getter:set"',
      update: 'key "getter:update"',
      apply: 'key "getter:apply"',
      publish: 'channel "getter:publish"',
      syncSet: 'key "getter:sync"',
    };
    for (const [what, outcome] of Object.entries({ set, update, apply, publish, syncSet })) {
      expect(outcome, what).toMatchObject({ ok: false, name: 'KvbusError', code: 'ERR_NOT_CLONEABLE' });
      expect(outcome!.message, what).toContain(names[what as keyof typeof names]);
      expect(outcome!.message, what).toContain('boom');
    }
    expect(incr).toMatchObject({ ok: true });
    expect(await store.keys('getter:*')).toEqual([]);
    // The worker's good incrs (one per shape, one here) all counted, and a copy is a copy.
    expect(await store.get('good')).toBe(8);
    expect(results.copied).toEqual({ list: [1, 2, 3] });
    expect(await store.get('copied')).toEqual({ list: [1, 2, 3] });
  });

  it('that arrive over the wire backed by a SharedArrayBuffer are rejected by the actor, which stores none of it', async () => {
    const store = res.store();
    let ran = false;
    store.defineOp('put', (_old, arg) => ((ran = true), arg));
    const received: unknown[] = [];
    store.channel('wire:channel').subscribe((m) => received.push(m));
    const before = await store.stats();
    const worker = res.worker(new Worker(fixtureUrl('values-wire-worker.mjs')));
    store.attach(worker);
    const changed = messageFrom(worker, (m) => m?.type === 'changed', 'the worker to change the shared memory');
    const { replies } = await messageFrom<{ replies: Array<{ seq: number; ok: boolean; value: any }> }>(
      worker,
      (m) => m?.type === 'replies',
      'the replies',
    );
    const names = ['key "wire:view"', 'key "wire:nested"', 'key "wire:apply"', 'channel "wire:channel"'];
    for (const [i, name] of names.entries()) {
      expect(replies[i], name).toMatchObject({ seq: i + 1, ok: false, value: { code: 'ERR_NOT_CLONEABLE' } });
      expect(replies[i]!.value.message, name).toContain(name);
    }
    expect(replies[4]).toMatchObject({ seq: 5, ok: true, value: 1 });
    await changed;
    expect(ran).toBe(false);
    expect(received).toEqual([]);
    expect(await store.keys('wire:*')).toEqual(['wire:ok']);
    expect((await store.stats()).malformed - before.malformed).toBe(4);
  });
});
