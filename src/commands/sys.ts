// The store's own commands.
import { defineCommand } from './define.js';

const nothing = (): void => {};

export const stats = defineCommand<{ type: 'sys.stats' }>({
  type: 'sys.stats',
  code: 13,
  fields: [],
  validate: nothing,
  apply: (actor) => actor.stats(),
  fresh: true,
});

/** The remote clients connected now. Main thread only: it has no wire code. */
export const clients = defineCommand<{ type: 'sys.clients' }>({
  type: 'sys.clients',
  fields: [],
  validate: nothing,
  apply: (actor) => actor.clients(),
  fresh: true,
});

/** A client says goodbye (or went away): its subscriptions are dropped. */
export const disconnect = defineCommand<{ type: 'sys.disconnect' }>({
  type: 'sys.disconnect',
  code: 14,
  fields: [],
  validate: nothing,
  apply: (actor, _cmd, conn) => actor.disconnect(conn),
  barrier: true,
});

/** A TTL timer fired: expire what is due. The actor sends it to itself; it has no wire code. */
export const expire = defineCommand<{ type: 'sys.expire' }>({
  type: 'sys.expire',
  fields: [],
  validate: nothing,
  apply: (actor) => actor.expireDue(),
});
