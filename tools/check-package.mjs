// `npm run check:package`: packs the built package into a temporary folder, as
// `npm publish` would, and checks that tarball with publint (package.json's
// fields and exports point at files that exist and are of the right format) and
// @arethetypeswrong/cli (every entry's types resolve, and match its JavaScript,
// under node10, node16 from CJS and from ESM, and bundler resolution). Run after
// a build: `npm test` builds first.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'kvbus-pack-'));
const run = (command, args) => execFileSync(command, args, { stdio: 'inherit' });
try {
  execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  const tarball = join(
    dir,
    readdirSync(dir).find((name) => name.endsWith('.tgz')),
  );
  run('npx', ['--no-install', 'publint', 'run', '--strict', tarball]);
  // No rule is ignored: node10 resolves the subpaths through package.json's typesVersions.
  run('npx', ['--no-install', 'attw', '--format', 'table-flipped', tarball]);
} catch (error) {
  // The tools printed what is wrong; their exit status is ours.
  process.exitCode = typeof error.status === 'number' && error.status !== 0 ? error.status : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
