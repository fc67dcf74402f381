// examples/keyv-shared-cache run as it is: a pool of two workers sharing one
// cache-manager cache through kvbus/keyv; the second worker hits what the first built.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { childExit } from '../helpers/processes.js';

const MAIN = fileURLToPath(new URL('../../examples/keyv-shared-cache/main.mjs', import.meta.url));

it('examples/keyv-shared-cache: every summary hits, two hits on the report the other worker built, exits by itself', async () => {
  const child = spawn(process.execPath, [MAIN], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (out += chunk));
  const exit = await childExit(child, 20_000);
  expect(out).not.toMatch(/FAIL/);
  expect(out).toMatch(/lookups: 6, hits: 4, misses: 2/);
  expect(out).toMatch(/hits on a report another worker built: 2/);
  expect(out.match(/^ {2}ok {3}/gm)).toHaveLength(4);
  expect(exit).toEqual({ code: 0, signal: null });
});
