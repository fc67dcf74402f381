import { type ChildProcess, type ForkOptions, fork as forkChild } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, KvbusError } from '../errors.js';
import { attach } from './attach.js';
import { PARENT_ENV } from './marks.js';
import type { StoreHost } from './store-host.js';

/**
 * `child_process.fork` with structured-clone serialization, attached to a store (see `store.fork`).
 * @param host - the main-thread store's host
 * @param modulePath - the module to run
 * @param args - its arguments
 * @param options - fork options
 * @returns the child process
 */
export function fork(host: StoreHost, modulePath: string | URL, args: readonly string[], options: ForkOptions): ChildProcess {
  const path = modulePath instanceof URL ? fileURLToPath(modulePath) : modulePath;
  if (typeof path !== 'string' || path.length === 0) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`modulePath\` to be a path or a file URL, got ${describe(modulePath)}`);
  }
  if (!Array.isArray(args)) throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`args\` to be an array of strings, got ${describe(args)}`);
  const child = forkChild(path, args, {
    ...options,
    // Structured clone, as between threads: Maps, Dates and typed arrays survive.
    serialization: 'advanced',
    env: { ...(options.env ?? process.env), [PARENT_ENV]: '1' },
  });
  attach(host, child);
  return child;
}
