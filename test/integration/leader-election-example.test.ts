// examples/leader-election run as it is: 4 workers elect leaders with a lock,
// a lease and fencing; a stalled leader is deposed, a crashed one replaced at
// once. The example checks its own log and exits 1 if a check fails; this test
// holds it to that and to what it prints.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { childExit } from '../helpers/processes.js';

const MAIN = fileURLToPath(new URL('../../examples/leader-election/main.mjs', import.meta.url));

it('examples/leader-election: 4 terms in order, the stalled leader deposed by fencing, the crashed one replaced, every check ok', async () => {
  const child = spawn(process.execPath, [MAIN], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (err += chunk));
  const exit = await childExit(child, 30_000);
  expect({ ...exit, err }, out).toEqual({ code: 0, signal: null, err: '' });
  expect(out).toMatch(/^leader-election: 4 candidates on worker threads \(createPool\), lease 400 ms, 5 jobs per term/);
  for (const term of [1, 2, 3, 4])
    expect(out).toMatch(new RegExp(`term ${term}: candidate \\d on thread \\d+ elected \\(fencing token \\d+\\)`));
  expect(out).toMatch(/term 1: 5 jobs done; stepped down \(released: true\)/);
  expect(out).toMatch(/term 2: 2 jobs done; now stalls 1200 ms without a heartbeat/);
  expect(out).toMatch(/term 2: woke up and wrote: refused with ERR_CONFLICT/);
  expect(out).toMatch(/term 3: 2 jobs done; its thread crashes holding the lock/);
  expect(out).toMatch(/term 4: 5 jobs done; stepped down \(released: true\)/);
  expect(out).not.toMatch(/fencing FAILED/);
  expect(out).toMatch(/log: 14 entries: term 1 × 5, term 2 × 2, term 3 × 2, term 4 × 5/);
  expect(out.match(/^ {2}ok {3}/gm)).toHaveLength(8);
  expect(out).not.toMatch(/FAIL/);
  expect(out).toMatch(/all checks passed/);
});
