// A worker's hello is checked completely before any of it is used: a bad one
// is ignored for serving, counted in stats().malformed and reported by peers(),
// and the store and its other clients go on. The store runs in a process of its
// own (test/fixtures/faults/handshake-host.mjs), so a crash shows as its exit.
import { fork } from 'node:child_process';
import type { PeerEvent } from 'kvbus';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '../helpers/fixtures.js';

/** Hellos with a bad body, each followed (where it has a port) by a request marked sync. */
const BAD_HELLOS = [
  'null hello',
  'string hello',
  'array hello',
  'empty hello',
  'port is a number',
  'port is a plain object',
  'syncPort missing',
  'syncPort is a string',
  'syncPort is the port',
  'syncFlag missing',
  'syncFlag of length 0',
  'syncFlag not shared',
  'syncFlag a Uint8Array',
  'syncFlag a plain array',
  'threadId fractional',
  'threadId a string',
  'threadId of another thread',
  'requests instead of a hello',
  'hello with a getter-shaped __proto__',
];
/** A worker that is served, then sends another hello (a fresh channel, or its own end of the served one). */
const SECOND_HELLOS = ['second hello', 'second hello on the served port'];

interface Result {
  type: 'result';
  variant: string;
  threadId: number | undefined;
  result: { before?: unknown; after?: unknown };
  malformed: number;
  events: PeerEvent[];
  healthy: number;
  key: unknown;
}

/** Runs the variants in a fresh host process; resolves to its results and how it ended. */
function runHost(
  mode: 'worker' | 'pool',
  variants: string[],
): Promise<{ results: Result[]; code: number | null; last?: string; stderr: string }> {
  return new Promise((resolve) => {
    const { KVBUS_PARENT: _parent, ...env } = process.env;
    const host = fork(fixturePath('faults/handshake-host.mjs'), [mode, ...variants], { env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const results: Result[] = [];
    let last: string | undefined;
    let stderr = '';
    host.stderr!.on('data', (chunk) => (stderr += chunk));
    host.on('message', (m: { type: string; variant?: string }) => {
      if (m.type === 'start') last = m.variant;
      if (m.type === 'result') results.push(m as Result);
    });
    // Bounded: a hung host is killed and reported as such.
    const timer = setTimeout(() => host.kill('SIGKILL'), 45_000);
    host.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ results, code, last, stderr });
    });
  });
}

describe.concurrent('worker handshake', () => {
  for (const mode of ['worker', 'pool'] as const) {
    const from = mode === 'worker' ? 'a Worker passed to store.attach' : 'a piscina pool task (createPool)';

    it(`survives every bad hello from ${from}, counts and reports each`, async () => {
      const run = await runHost(mode, BAD_HELLOS);
      expect(run.code, `the store's process died at "${run.last}": ${run.stderr}`).toBe(0);
      expect(run.results.map((r) => r.variant)).toEqual(BAD_HELLOS);
      run.results.forEach((r, i) => {
        const what = `variant "${r.variant}"`;
        expect(r.malformed, what).toBe(1);
        // Never served: no join; one rejection that says why.
        expect(
          r.events.filter((e) => e.type === 'join'),
          what,
        ).toEqual([]);
        const rejected = r.events.filter((e) => e.type === 'rejected');
        expect(rejected, what).toHaveLength(1);
        expect(rejected[0], what).toMatchObject({ type: 'rejected', kind: 'worker', reason: expect.any(String) });
        // A plain Worker is known by its object; a pool worker only by a threadId that names one of the pool's threads.
        if (mode === 'worker') expect(rejected[0]!.threadId, what).toBe(r.threadId);
        expect(r.key, what).toBe('before');
        // The other client goes on.
        expect(r.healthy, what).toBe(i + 2);
      });
    }, 60_000);

    it(`keeps serving a worker's first connection when it sends a second hello, from ${from}`, async () => {
      const run = await runHost(mode, SECOND_HELLOS);
      expect(run.code, `the store's process died at "${run.last}": ${run.stderr}`).toBe(0);
      const [second, served] = run.results;
      expect(second!.result).toEqual({ before: 'before', after: 'before' });
      expect(served!.result).toEqual({ before: 'before' });
      for (const r of run.results) {
        expect(r.malformed, r.variant).toBe(1);
        expect(
          r.events.filter((e) => e.type === 'join'),
          r.variant,
        ).toHaveLength(1);
        expect(
          r.events.filter((e) => e.type === 'rejected'),
          r.variant,
        ).toMatchObject([{ type: 'rejected', kind: 'worker', threadId: r.threadId, reason: expect.stringMatching(/already connected/) }]);
      }
    }, 60_000);
  }
});
