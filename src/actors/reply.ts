import type { Connection } from '../commands/connection.js';
import { debug, debugFailure } from '../debug.js';

/** Answers a command (seq 0, a connection's own housekeeping, wants none); a remote client's failure goes to the debug log. */
export function reply(conn: Connection, seq: number, ok: boolean, value: unknown, type?: string): void {
  if (!ok && conn.kind !== 'local' && debug.enabled) debugFailure(`${conn.kind} ${conn.id}`, type, value);
  if (seq !== 0) conn.reply(seq, ok, value);
}
