// The near cache's command: a worker or child reads a key to keep it (codes 30–35 are the cache's).
import type { Entry } from '../types.js';
import { assertKey } from '../validate.js';
import type { ActorContext } from './define.js';
import { defineCommand } from './define.js';

/**
 * What a fill answers: `[0]` for an absent key, `[1, value, revision]` for one
 * the client may keep, `[2, value, revision]` for one it must not keep (it has a
 * TTL: a cached copy could outlive it).
 */
export type FillReply = [0] | [1 | 2, unknown, number];

/** The actor's near caches, as this command sees them (it tracks what a child filled). */
interface WithNearCaches {
  readonly nearCaches?: { filled(conn: object, key: string): void };
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';

function reply(entry: Entry | undefined, ttl: number | undefined): FillReply {
  if (entry === undefined) return [0];
  return [ttl === undefined || ttl === Number.POSITIVE_INFINITY ? 1 : 2, entry.value, entry.revision];
}

/** Reads a key for a client's near cache: its entry, and whether it may be kept. */
export const fill = defineCommand<{ type: 'cache.fill'; key: string }>({
  type: 'cache.fill',
  code: 30,
  fields: ['key'],
  validate: (cmd) => assertKey(cmd.key),
  apply: (actor: ActorContext, cmd, conn) => {
    // Tracked before the read: a change after this turn must reach the child.
    (actor as WithNearCaches).nearCaches?.filled(conn, cmd.key);
    const entry = actor.backend.get(cmd.key);
    const ttl = actor.backend.ttl(cmd.key);
    if (!isThenable(entry) && !isThenable(ttl)) return reply(entry, ttl);
    return Promise.all([entry, ttl]).then(([e, t]) => reply(e, t));
  },
});
