import { tracingChannel } from 'node:diagnostics_channel';

/** Who made a traced command: the main thread's store, a worker's client, or a child process's client. */
export type CommandClientKind = 'main' | 'worker' | 'process';

/**
 * The message of every `kvbus:command` event (see `docs/diagnostics.md`). The
 * same object is passed to `start`, `end`, `asyncStart`, `asyncEnd` and
 * `error`, so subscribers can keep their own state on it (a span).
 */
export interface CommandTraceContext {
  /** The command, as `'kv.get'`, `'kv.set'`, `'bus.publish'`, `'kv.scan'`… */
  type: string;
  /** The key, for commands on one key. */
  key?: string;
  /** The channel, for `bus.publish`. */
  channel?: string;
  /** The glob, for `kv.keys`, `kv.getAll` and `kv.scan`. */
  pattern?: string;
  /** Where the call was made. */
  client: CommandClientKind;
  /** The reply, set before `asyncStart` and `asyncEnd` when the command succeeded. */
  result?: unknown;
  /** What the command failed with, set before `error`. */
  error?: unknown;
}

/**
 * @internal The `TracingChannel` of kvbus's commands: `tracing:kvbus:command:start`,
 * `:end`, `:asyncStart`, `:asyncEnd` and `:error`. A process-wide name, so the
 * ESM and CJS copies of kvbus publish to the same channels.
 */
export const commandChannel = tracingChannel<unknown, CommandTraceContext>('kvbus:command');

/**
 * @internal True when anyone listens to `kvbus:command`: without listeners a
 * command builds no context and makes no extra promise.
 */
export function tracingCommands(): boolean {
  const c = commandChannel;
  return (
    c.start.hasSubscribers || c.asyncEnd.hasSubscribers || c.end.hasSubscribers || c.error.hasSubscribers || c.asyncStart.hasSubscribers
  );
}

/**
 * @internal The trace context of a command.
 * @param cmd - the command (its `key`, `channel` or `pattern` field is copied when it has one)
 * @param client - where it was made
 * @returns the context object passed to every event of this command
 */
export function commandContext(cmd: { type: string }, client: CommandClientKind): CommandTraceContext {
  const fields = cmd as { key?: unknown; channel?: unknown; pattern?: unknown };
  const context: CommandTraceContext = { type: cmd.type, client };
  if (typeof fields.key === 'string') context.key = fields.key;
  if (typeof fields.channel === 'string') context.channel = fields.channel;
  if (typeof fields.pattern === 'string') context.pattern = fields.pattern;
  return context;
}
