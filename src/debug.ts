import { debuglog } from 'node:util';

/**
 * @internal kvbus's debug log: silent unless `NODE_DEBUG=kvbus` (or a list
 * holding it) is set when the process starts; lines go to stderr as
 * `KVBUS <pid>: …`. Callers check `debug.enabled` first, so that nothing is
 * formatted when it is off.
 * @example
 * if (debug.enabled) debug('client %d joined', id);
 */
export const debug = debuglog('kvbus');

/**
 * @internal Logs a command that failed (call it only when `debug.enabled`).
 * @param who - the client, as `'worker 3'`
 * @param type - the command's type, when known
 * @param error - what it failed with
 */
export function debugFailure(who: string, type: string | undefined, error: unknown): void {
  const code = (error as { code?: unknown } | null)?.code;
  debug('%s: %s failed: %s%s', who, type ?? 'a command', code ? `${String(code)} ` : '', (error as Error | null)?.message ?? error);
}
