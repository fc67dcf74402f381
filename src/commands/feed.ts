// The commands of lossless change feeds (SPEC §7): snapshots, and a slow subscriber's resume from history.
import { describe, KvbusError } from '../errors.js';
import type { ChangesOptions, Entry } from '../types.js';
import { assertOptions, assertPattern } from '../validate.js';
import { defineCommand } from './define.js';

/**
 * Throws `ERR_BAD_ARGUMENT` unless `since` is a revision a feed can start after.
 * @param since - what the caller gave
 */
export function assertSince(since: unknown): asserts since is number | undefined {
  if (since !== undefined && (typeof since !== 'number' || !Number.isSafeInteger(since) || since < 0)) {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`since\` to be a revision (a safe integer >= 0), got ${describe(since)}`);
  }
}

/**
 * Throws `ERR_BAD_ARGUMENT` unless `options` are options of `changes()`.
 * @param options - what the caller gave
 */
export function assertChangesOptions(options: unknown): asserts options is ChangesOptions | undefined {
  assertOptions('changes options', options);
  assertSince((options as ChangesOptions | undefined)?.since);
}

export type { ChangesOptions };

/** The command that reads a snapshot. */
export type SnapshotCommand = { type: 'kv.snapshot'; pattern?: string };

export const snapshot = defineCommand<SnapshotCommand>({
  type: 'kv.snapshot',
  code: 24,
  fields: [],
  options: ['pattern'],
  validate: (cmd) => assertPattern(cmd.pattern),
  apply: (actor, cmd) => actor.backend.snapshot(cmd.pattern),
});

/** The reply of {@link snapshot}, as it travels. */
export type SnapshotReply = { revision: number; entries: Map<string, Entry> };

/**
 * Sent by a remote client's connection in the store (never by a client: it has
 * no wire code) when a paused `changes` subscription may take `limit` events again.
 */
export const resume = defineCommand<{ type: 'sub.resume'; sid: number; since: number; limit: number }>({
  type: 'sub.resume',
  fields: ['sid', 'since', 'limit'],
  validate: (cmd) => {
    assertSince(cmd.since);
    if (!Number.isSafeInteger(cmd.limit) || cmd.limit < 1) {
      throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`limit\` to be a positive integer, got ${describe(cmd.limit)}`);
    }
  },
  apply: (actor, cmd, conn) => actor.resume(conn, cmd.sid, cmd.since, cmd.limit),
  barrier: true,
});
