// The store closed with 1 000 remote calls pending from a worker and 1 000 from a
// child: every call settles promptly with ERR_CLOSED or ERR_DISCONNECTED (none
// hangs, none resolves), subscriptions complete, the worker and the child end by
// themselves, and so does the main process (no handle left behind). That process is
// test/fixtures/faults/crash-close-main.mjs, forked here so its exit can be watched.
// (test/integration/lifecycle.test.ts and child.test.ts cover one pending call.)
import { fork } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixturePath } from '../helpers/fixtures.js';
import { childExit, messageFrom } from '../helpers/processes.js';
import { Resources } from '../helpers/resources.js';

const CALLS = 1_000;
/** Settling must come from the close, not from a timeout (requestTimeoutMs is 60 s there). */
const PROMPT_MS = 3_000;

const res = new Resources();
const markers: string[] = [];
afterEach(async () => {
  await res.cleanup();
  for (const marker of markers.splice(0)) rmSync(marker, { force: true });
});

interface Summary {
  counts: Record<string, number>;
  resolved: Array<{ kind: string; value: unknown }>;
  lastSettledAt: number;
}
interface Result {
  before: { clients: number; subscriptions: number };
  held: unknown;
  heldMs: number;
  closedAt: number;
  worker: { summary: Summary; channel: string };
  child: { summary: Summary; channel: string };
  exits: unknown[];
}

describe('store.close() with 1 000 calls pending from a worker and from a child', () => {
  it('settles every call promptly with ERR_CLOSED or ERR_DISCONNECTED, and the main process exits by itself', async () => {
    const marker = join(tmpdir(), `kvbus-close-${process.pid}-${Date.now()}`);
    markers.push(marker);
    const { KVBUS_PARENT: _parent, ...env } = process.env;
    let output = '';
    const main = res.child(
      fork(fixturePath('faults/crash-close-main.mjs'), [marker, String(CALLS)], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] }),
    );
    main.stdout!.on('data', (chunk) => (output += String(chunk)));
    main.stderr!.on('data', (chunk) => (output += String(chunk)));
    const result = await messageFrom<Result>(main, (m) => m?.type === 'result', 'the main process to report', 15_000).catch(
      (error: Error) => {
        throw new Error(`${error.message}\n${output}`);
      },
    );
    // Nothing left that keeps it alive: it exits by itself, cleanly.
    expect(await childExit(main, 5_000)).toEqual({ code: 0, signal: null });
    expect(output).toBe('');

    expect(result.before).toMatchObject({ clients: 2, subscriptions: 2 });
    // The op ran, and both clients had posted their calls before it returned.
    expect(result.held).toBe(1);
    expect(result.heldMs).toBeLessThan(8_000);
    for (const who of ['worker', 'child'] as const) {
      const { summary, channel } = result[who];
      const codes = Object.keys(summary.counts);
      expect(summary.resolved, `${who}: no call may resolve once the store is closed`).toEqual([]);
      for (const code of codes) expect(['ERR_CLOSED', 'ERR_DISCONNECTED'], `${who}: ${code}`).toContain(code);
      expect(Object.values(summary.counts).reduce((a, b) => a + b, 0)).toBe(CALLS);
      expect(summary.lastSettledAt - result.closedAt, `${who}: settled promptly`).toBeLessThan(PROMPT_MS);
      expect(channel, `${who}: its subscription ends`).toBe('complete');
    }
    // The worker and the child ended by themselves (exit code 0).
    expect(result.exits).toEqual([0, 0]);
  });
});
