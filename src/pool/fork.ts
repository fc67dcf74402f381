import { type ChildProcess, type ForkOptions, fork as forkChild, type StdioOptions } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { CacheConfig } from '../cache-types.js';
import { describe, KvbusError } from '../errors.js';
import { attachChild } from './attach.js';
import { PARENT_ENV, PIPE_ENV } from './marks.js';
import type { StoreHost } from './store-host.js';

/**
 * `child_process.fork` with structured-clone serialization, attached to a store (see `store.fork`).
 * kvbus talks to the child on a pipe of its own (one more stdio entry, whose fd
 * the child learns from {@link PIPE_ENV}), not on the IPC channel: Node decodes
 * IPC messages where no code can catch what it throws, so a child sending a
 * value nested too deeply for the parent's stack would kill the parent; on the
 * pipe such a message costs only itself. The IPC channel stays the user's.
 * @param host - the main-thread store's host
 * @param modulePath - the module to run
 * @param args - its arguments
 * @param options - fork options
 * @param cache - the child's near cache settings (checked), when it has one
 * @returns the child process
 */
export function fork(
  host: StoreHost,
  modulePath: string | URL,
  args: readonly string[],
  options: ForkOptions,
  cache?: CacheConfig,
): ChildProcess {
  const path = modulePath instanceof URL ? fileURLToPath(modulePath) : modulePath;
  if (typeof path !== 'string' || path.length === 0) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`modulePath\` to be a path or a file URL, got ${describe(modulePath)}`);
  }
  if (!Array.isArray(args)) throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`args\` to be an array of strings, got ${describe(args)}`);
  const stdio = withPipe(options);
  const fd = stdio.length - 1;
  const child = forkChild(path, args, {
    ...options,
    stdio,
    // Structured clone, as between threads: Maps, Dates and typed arrays survive.
    serialization: 'advanced',
    env: { ...(options.env ?? process.env), [PARENT_ENV]: '1', [PIPE_ENV]: `${process.pid}:${fd}` },
  });
  const pipe = child.stdio[fd] as Socket | null | undefined;
  attachChild(host, child, pipe ?? undefined, cache);
  return child;
}

/** The stdio fork would use, plus one pipe at the end. */
function withPipe(options: ForkOptions): StdioOptions & unknown[] {
  const { stdio } = options;
  let entries: unknown[];
  if (stdio === undefined) entries = options.silent ? ['pipe', 'pipe', 'pipe', 'ipc'] : ['inherit', 'inherit', 'inherit', 'ipc'];
  else if (typeof stdio === 'string') entries = [stdio, stdio, stdio, 'ipc'];
  else if (Array.isArray(stdio)) entries = [...stdio];
  else throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`options.stdio\` to be a string or an array, got ${describe(stdio)}`);
  // Node requires the IPC channel in the array (it says so itself if it is missing),
  // and reads a missing entry among the first three as it would have.
  while (entries.length < 3) entries.push(undefined);
  entries.push('pipe');
  return entries as StdioOptions & unknown[];
}
