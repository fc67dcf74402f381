import { defineConfig, type Options } from 'tsup';

const library: Options = {
  entry: {
    index: 'src/index.ts',
    redis: 'src/redis.ts',
    keyv: 'src/keyv.ts',
    unstorage: 'src/unstorage.ts',
    inspector: 'src/inspector.ts',
  },
  format: ['esm', 'cjs'],
  dts: {
    // The adapters (src/adapters/) import kvbus by its name, like any user, so that
    // dist/keyv.js and dist/unstorage.js load the package's own index instead of
    // sharing chunks with it (which would reshape dist/index.js). The declaration
    // build reads those types from src: dist/index.d.ts may not exist yet.
    compilerOptions: { paths: { kvbus: ['./src/index.ts'], 'kvbus/redis': ['./src/redis.ts'] } },
  },
  // Not cleaned by default: tests and benches rebuild while others read dist/; `npm run build` cleans.
  clean: false,
  shims: true,
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  splitting: true,
  // kvbus: the adapters' imports of the public API (see dts above); keyv and unstorage: optional peers, types only.
  external: ['rxjs', 'redis', 'piscina', 'kvbus', 'keyv', 'unstorage'],
};

// The `kvbus` command (package.json "bin"): ESM only, an executable script that
// loads the package by name like the adapters and the inspector do.
const cli: Options = {
  entry: { cli: 'src/cli.ts' },
  format: ['esm'],
  dts: false,
  clean: false,
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  banner: { js: '#!/usr/bin/env node' },
  external: ['rxjs', 'redis', 'piscina', 'kvbus', 'keyv', 'unstorage'],
};

// kvbus's task entry for piscina (src/pool/task-entry.ts): CommonJS only, self-contained,
// loaded by path from the pool's workers (dist/pool-task.cjs, next to the code that names it).
const poolTask: Options = {
  entry: { 'pool-task': 'src/pool/task-entry.ts' },
  format: ['cjs'],
  // It assigns module.exports on purpose (a Proxy: see the file), and is only ever built as CommonJS.
  esbuildOptions(options) {
    options.logOverride = { ...options.logOverride, 'commonjs-variable-in-esm': 'silent' };
  },
  dts: false,
  clean: false,
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  external: ['rxjs', 'redis', 'piscina', 'kvbus', 'keyv', 'unstorage'],
};

export default defineConfig([library, cli, poolTask]);
