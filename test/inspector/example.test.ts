// examples/inspector-pool run as it is, with --once: a pool runs a round of
// jobs with the inspector open, the page answers, and the example exits by itself.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { childExit } from '../helpers/processes.js';

const MAIN = fileURLToPath(new URL('../../examples/inspector-pool/main.mjs', import.meta.url));

it('examples/inspector-pool --once: prints the URL, runs the jobs, the page answers, exits 0', async () => {
  const child = spawn(process.execPath, [MAIN, '--once'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (out += chunk));
  const exit = await childExit(child, 20_000);
  expect(out).toMatch(/inspector: http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}/);
  expect(out).toMatch(/round 1: (1-\d=\d+ ?){4}/);
  expect(out).toContain('page: HTTP 200; 4 job keys');
  expect(exit.code).toBe(0);
});
