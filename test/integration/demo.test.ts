// `npm run demo` (examples/live-dashboard/main.mjs), run for real and piped, as
// CI sees it: a piscina pool of CPU jobs, an auditor child, a job that fails, a
// worker that dies. The demo checks its own totals and exits 1 if they do not
// add up; this test holds it to that and to the summary it prints.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { childExit } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';

const DEMO = fileURLToPath(new URL('../../examples/live-dashboard/main.mjs', import.meta.url));
/** The demo takes about 10 s on 2 cores; a loaded machine may double that. Its own deadline is 60 s. */
const RUN_MS = 70_000;

function runDemo(args: string[] = []): { child: ChildProcess; out: () => string; err: () => string } {
  // Pipes, not a terminal: the demo prints plain lines.
  const child = spawn(process.execPath, [DEMO, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  return { child, out: () => out, err: () => err };
}

describe('npm run demo', () => {
  it(
    'runs real workers and a real child on one store, survives a failed job and a lost worker, and checks its own totals',
    async () => {
      const demo = runDemo();
      const { code, signal } = await childExit(demo.child, RUN_MS);
      const out = demo.out();
      expect({ code, signal, stderr: demo.err() }, out).toEqual({ code: 0, signal: null, stderr: '' });

      // Piped: plain appended lines, no ANSI escapes.
      expect(out).not.toContain('\x1b[');
      expect(out).toMatch(/^kvbus demo: 72 CPU jobs on \d worker threads \(createPool\), an auditor child process \(store\.fork\)/);
      // The live part: the failure and the lost worker as they happened, and the auditor's alerts.
      expect(out).toMatch(/job hash-13 FAILED on thread \d+: ERR_NOT_CLONEABLE: The value for key "result:hash-13"/);
      expect(out).toMatch(/peers: a worker \(client #\d+\) exited with code 3/);
      expect(out).toContain('job primes-20 lost with its worker (worker exited with code: 3); retrying it');
      expect(out).toContain('alert from the auditor (warn): a job failed (count:jobs:failed = 1)');
      expect(out).toContain('alert from the auditor (warn): a worker died mid-job (count:jobs:lost = 1)');
      expect(out).toMatch(/\d+\/72 done, \d failed, \d lost · per thread/); // the status lines

      // The summary: what was measured.
      expect(out).toMatch(
        /jobs: 71 done \(\d+–\d+ ms each, median \d+ ms\), 1 failed \(hash-13: ERR_NOT_CLONEABLE\), 1 lost with a worker and retried \(primes-20\)/,
      );
      const [, perWorker = '', sum] = out.match(/jobs per worker: (.*) \(sum (\d+)\)/) ?? [];
      expect(sum).toBe('71');
      const perThread = [...perWorker.matchAll(/thread \d+: (\d+)/g)].map((m) => Number(m[1]));
      expect(perThread.reduce((a, b) => a + b, 0)).toBe(71);
      expect(perWorker).toContain('(then died)');
      expect(out).toMatch(/store: [\d,]+ commands in [\d.]+s = [\d,]+ commands\/s/);
      expect(out).toContain('count:jobs:started=73, count:jobs:done=71, count:jobs:failed=1, count:jobs:lost=1');
      expect(out).toMatch(
        /auditor \(child pid \d+\): 71 results audited, 71 checked, 0 bad, 71 expiries seen, 2 alerts; exited with code 0/,
      );

      // And its checks, every one of them.
      const checks = out.split('\n').filter((line) => /^ {2}(ok {2}|FAIL) /.test(line));
      expect(checks.length).toBeGreaterThanOrEqual(10);
      expect(checks.filter((line) => line.startsWith('  FAIL'))).toEqual([]);
      expect(out.trimEnd().split('\n').at(-1)).toBe('totals check: ok');
    },
    RUN_MS + 5_000,
  );

  it('accepts --inspect and says that the inspector is not in this version', async () => {
    const demo = runDemo(['--inspect']);
    try {
      await waitUntil(() => demo.out().includes('kvbus demo:'), 'the demo to start');
      expect(demo.out().split('\n')[0]).toBe(
        '--inspect: kvbus/inspector is not available in this version of kvbus; running without an inspector page.',
      );
    } finally {
      demo.child.kill('SIGTERM');
      await childExit(demo.child);
    }
  });

  it('refuses an unknown argument with exit code 2 and the usage', async () => {
    const demo = runDemo(['--bogus']);
    const { code } = await childExit(demo.child);
    expect(code).toBe(2);
    expect(demo.err()).toContain('Unknown argument "--bogus". usage: node examples/live-dashboard/main.mjs [--inspect]');
  });
});
