import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('the CJS build as the main program', () => {
  it('creates a pool whose workers share its store', async () => {
    const child = fork(fileURLToPath(new URL('../fixtures/cjs-main.cjs', import.meta.url)), { stdio: 'inherit' });
    const [report, code] = await Promise.all([
      new Promise<Record<string, unknown>>((resolve) => child.once('message', (m) => resolve(m as Record<string, unknown>))),
      new Promise<number | null>((resolve) => child.once('exit', resolve)),
    ]);
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ total: 100, codes: ['ERR_TYPE', 'ERR_TYPE'] });
    expect(report.clients).toBeGreaterThanOrEqual(1); // piscina decides how many threads it starts
    expect(code).toBe(0);
  });
});
