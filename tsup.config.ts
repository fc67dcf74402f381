import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', redis: 'src/redis.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  // Not cleaned by default: tests and benches rebuild while others read dist/; `npm run build` cleans.
  clean: false,
  shims: true,
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  splitting: true,
  external: ['rxjs', 'redis', 'piscina'],
});
