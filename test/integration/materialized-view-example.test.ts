// examples/materialized-view run as the README gives it (under tsx): a worker keeps
// a view with snapshot-then-follow while the main thread writes; the example checks
// that the view equals the store and exits 1 if it does not.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { childExit } from '../helpers/processes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../examples/materialized-view/main.ts', import.meta.url));
/** Generous: tsx compiles in the main thread and in the worker, on a shared 2-core machine. */
const RUN_MS = 60_000;

it('examples/materialized-view: the worker follows live changes after its snapshot, and its view equals the store', {
  timeout: RUN_MS + 10_000,
}, async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (err += chunk));
  const exit = await childExit(child, RUN_MS);
  expect({ ...exit, err }, out).toEqual({ code: 0, signal: null, err: '' });
  const started = /the worker started from revision (\d+) and applied (\d+) changes/.exec(out);
  expect(started, out).not.toBeNull();
  expect(Number(started![2])).toBeGreaterThanOrEqual(300); // it followed live writes, not only a finished keyspace
  expect(out).toMatch(/the view equals the store \(\d+ orders\)/);
  expect(out).not.toMatch(/MISMATCH/);
});
