// examples/typescript-quickstart run the two ways the README gives: under tsx
// (`node --import tsx main.ts`, whose workers inherit the flag and load task.ts),
// and compiled by tsc (module nodenext) into plain JavaScript run by node. The
// example is also type-checked with the rest of the project (tsconfig.json).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { childExit } from '../helpers/processes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE = join(ROOT, 'examples/typescript-quickstart');
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
/** Generous: tsx compiles in the main thread and in each worker, on a shared 2-core machine. */
const RUN_MS = 60_000;

/** Runs node with `args` from the project's root; resolves to its output and exit. */
async function node(args: string[]): Promise<{ out: string; exit: { code: number | null; signal: NodeJS.Signals | null } }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (out += chunk));
  const exit = await childExit(child, RUN_MS);
  return { out, exit };
}

/** What the example prints when every job ran in the pool and the counter is exact. */
function expectJobsDone({ out, exit }: Awaited<ReturnType<typeof node>>): void {
  expect(out).toMatch(/^done: 3$/m);
  const last = out
    .trim()
    .split('\n')
    .filter((line) => line.startsWith('progress:'))
    .at(-1);
  expect(JSON.parse(last!.slice('progress:'.length))).toEqual({ 'job:1:progress': 100, 'job:2:progress': 100, 'job:3:progress': 100 });
  expect(exit).toEqual({ code: 0, signal: null });
}

describe('examples/typescript-quickstart', () => {
  // Under the project, so the compiled files import kvbus by its name (package self-reference).
  mkdirSync(join(ROOT, '.vitest-tmp'), { recursive: true });
  const outDir = mkdtempSync(join(ROOT, '.vitest-tmp', 'ts-example-'));
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('runs under tsx: node --import tsx main.ts, its pool loading task.ts', { timeout: RUN_MS + 10_000 }, async () => {
    expectJobsDone(await node(['--import', 'tsx', join(EXAMPLE, 'main.ts')]));
  });

  it('compiles with tsc (module nodenext, strict) and runs as plain JavaScript', { timeout: 2 * RUN_MS + 10_000 }, async () => {
    const compiled = await node([
      TSC,
      ...['--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--strict', '--skipLibCheck'],
      ...['--types', 'node', '--rootDir', EXAMPLE, '--outDir', outDir],
      join(EXAMPLE, 'main.ts'),
      join(EXAMPLE, 'task.ts'),
    ]);
    expect(compiled).toEqual({ out: '', exit: { code: 0, signal: null } });
    expect(readdirSync(outDir).sort()).toEqual(['main.js', 'task.js']);
    expectJobsDone(await node([join(outDir, 'main.js')]));
  });
});
