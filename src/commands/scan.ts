// The scan commands: a keyspace read one chunk at a time (SPEC §7 "Large keyspaces").
import { describe, KvbusError } from '../errors.js';
import { assertPattern } from '../validate.js';
import { defineCommand } from './define.js';

/** Entries per chunk when `scan` is given no `count`. */
export const DEFAULT_SCAN_COUNT = 1_000;

/**
 * Reads the next chunk of a scan of this client; cursor 0 opens one (with its
 * pattern). The answer is flat: `[next cursor (0 once the scan is complete), key, value, key, value…]`.
 */
export const scan = defineCommand<{ type: 'kv.scan'; cursor: number; pattern?: string; count?: number }>({
  type: 'kv.scan',
  code: 15,
  fields: ['cursor'],
  options: ['pattern', 'count'],
  validate: (cmd) => {
    assertCursor(cmd.cursor);
    assertPattern(cmd.pattern);
    assertScanCount(cmd.count);
  },
  apply: (actor, cmd, conn) => actor.scan(conn, cmd.cursor, cmd.pattern, cmd.count ?? DEFAULT_SCAN_COUNT),
});

/** Releases a scan before its end (the consumer broke out of its loop); true when it was open. */
export const scanClose = defineCommand<{ type: 'kv.scanClose'; cursor: number }>({
  type: 'kv.scanClose',
  code: 16,
  fields: ['cursor'],
  validate: (cmd) => assertCursor(cmd.cursor),
  apply: (actor, cmd, conn) => actor.closeScan(conn, cmd.cursor),
});

/**
 * @internal Throws `ERR_BAD_ARGUMENT` unless `count` is absent or a positive integer.
 * @param count - the `count` option of `scan`
 */
export function assertScanCount(count: unknown): asserts count is number | undefined {
  if (count !== undefined && (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1)) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`count\` to be a positive integer, got ${describe(count)}`);
  }
}

function assertCursor(cursor: unknown): void {
  if (typeof cursor !== 'number' || !Number.isSafeInteger(cursor) || cursor < 0) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected a scan cursor (an integer >= 0), got ${describe(cursor)}`);
  }
}
