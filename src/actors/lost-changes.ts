// What the actor does when its backend's change feed lost changes (a Redis
// resume that found revisions in neither the history stream nor pub/sub):
// nothing may go on as if the feed were whole.
import type { Backend } from '../backends/backend.js';
import type { Connection } from '../commands/connection.js';
import { compactedError } from '../errors.js';
import type { Subscription } from './add-subscription.js';
import { mapMaybe } from './maybe-promise.js';

/**
 * Ends every `changes` subscription with `ERR_COMPACTED` (its subscriber missed
 * changes it cannot be given: it must start again from a snapshot), and brings
 * every watch to its key's current value (a watch promises the latest value,
 * not every change; a client ignores a value older than one it has).
 * @param subscriptions - every client's subscriptions, by sid
 * @param after - the last revision the feed had whole
 * @param oldest - the first revision it has again
 * @param unsubscribe - removes one subscription from the actor
 */
export function changesLost(
  subscriptions: ReadonlyMap<Connection, ReadonlyMap<number, Subscription>>,
  backend: Backend,
  after: number,
  oldest: number,
  unsubscribe: (conn: Connection, sid: number) => unknown,
): void {
  const ended: Array<[Connection, number]> = [];
  for (const [conn, subs] of subscriptions) {
    for (const [sid, { topic, sink }] of subs) {
      if (topic.kind === 'changes') {
        conn.endSubscription?.(sid, compactedError(after, oldest));
        ended.push([conn, sid]);
      } else if (topic.kind === 'key') {
        const key = topic.name;
        try {
          const read = mapMaybe(backend.get(key), (entry) => {
            sink.deliver({ type: 'snapshot', key, value: entry?.value, revision: entry?.revision ?? 0 });
          });
          if (read instanceof Promise) read.catch(() => {}); // unreachable now: the next change brings it
        } catch {
          // As above.
        }
      }
    }
  }
  for (const [conn, sid] of ended) void Promise.resolve(unsubscribe(conn, sid)).catch(() => {});
}
