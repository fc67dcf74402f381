import { fork } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '../helpers/fixtures.js';
import { childExit } from '../helpers/processes.js';

describe('the CJS build as the main program', () => {
  it('creates a pool whose workers share its store', async () => {
    const child = fork(fixturePath('cjs-main.cjs'), { stdio: 'inherit' });
    const [report, { code }] = await Promise.all([
      // Not messageFrom, which gives up once the child exits: this child exits right after reporting.
      new Promise<Record<string, unknown>>((resolve) => child.once('message', (m) => resolve(m as Record<string, unknown>))),
      childExit(child),
    ]);
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ total: 100, codes: ['ERR_TYPE', 'ERR_TYPE'] });
    expect(report.clients).toBeGreaterThanOrEqual(1); // piscina decides how many threads it starts
    expect(code).toBe(0);
  });
});
