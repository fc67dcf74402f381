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
