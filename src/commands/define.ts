import type { Backend } from '../backends/backend.js';
import type { Topic } from '../types.js';
import type { Connection } from './connection.js';

/**
 * What a command's `apply` sees of the actor: the backend, and the parts of
 * the actor's own state that some commands change (subscriptions, operations).
 */
export interface ActorContext {
  readonly backend: Backend;
  /** Runs an operation registered with `defineOp` on a key, atomically. */
  applyOp(key: string, name: string, arg: unknown): unknown;
  /**
   * Adds subscription `sid` of `conn`; a watch also gets the key's current value,
   * and a `changes` subscription with `since` first the changes history holds after it.
   */
  subscribe(conn: Connection, sid: number, topic: Topic, since?: number): unknown;
  /** Catches up paused `changes` subscription `sid` of `conn` from history after `since`, at most `limit` changes (see {@link Connection.resumed}). */
  resume(conn: Connection, sid: number, since: number, limit: number): unknown;
  /** Removes subscription `sid` of `conn`; true when it existed. */
  unsubscribe(conn: Connection, sid: number): unknown;
  /** Drops every subscription of a client that went away. */
  disconnect(conn: Connection): unknown;
  /** The store's counters. */
  stats(): unknown;
  /** The remote clients connected now, with their subscriptions and buffers. */
  clients(): unknown;
  /** Expires what is due (a TTL timer fired). */
  expireDue(): unknown;
  /**
   * Reads the next chunk of scan `cursor` of `conn`, opening one over `pattern` when `cursor` is 0.
   * @returns `[next cursor (0 once complete), key, value, key, value…]`
   */
  scan(conn: Connection, cursor: number, pattern: string | undefined, count: number): unknown;
  /** Releases scan `cursor` of `conn` before its end; true when it was open. */
  closeScan(conn: Connection, cursor: number): unknown;
  /** The locks clients hold and wait for. */
  readonly locks: ActorLocks;
}

/** What the lock commands see of the actor (it tracks, per client, what it holds and waits for). */
export interface ActorLocks {
  /**
   * Queues `conn` for lock `name`; answers its fencing token when granted (maybe later).
   * @param waitMs - give up after this long with `ERR_TIMEOUT` (undefined: wait as long as it takes)
   * @param ticket - the client's number for this request, which `cancel` names
   */
  acquire(conn: Connection, name: string, ttlMs: number, waitMs: number | undefined, ticket: number): unknown;
  /** Withdraws the pending acquire `ticket` of `conn` (it rejects with `ERR_ABORTED`); true when one was pending. */
  cancel(conn: Connection, ticket: number): unknown;
  /** Releases lock `name` if `token` holds it; true when this call released it. */
  release(conn: Connection, name: string, token: number): unknown;
  /** Renews the lease of lock `name` held with `token`; `ERR_CONFLICT` when it is no longer held. */
  extend(conn: Connection, name: string, token: number, ttlMs: number): unknown;
}

/**
 * Everything kvbus knows about one command, in one place: its name, how it
 * travels (wire code and fields), how it is checked, what the actor does with
 * it and how the answer is shaped. The protocol, the actor and the clients all
 * read this table; adding a command is adding one of these (plus, when it
 * needs one, a backend method).
 */
export interface CommandSpec<TCommand extends { type: string } = { type: string }> {
  /** The command's `type`: a dotted name, `'kv.get'`. */
  readonly type: TCommand['type'];
  /**
   * Its wire code, stable within a protocol version; absent for commands the
   * actor sends itself, which no client may send.
   */
  readonly code?: number;
  /** The fields that always travel, in wire order. */
  readonly fields: ReadonlyArray<Exclude<keyof TCommand, 'type'> & string>;
  /** Optional fields: they travel together after `fields`, and only when one is set. */
  readonly options?: ReadonlyArray<Exclude<keyof TCommand, 'type'> & string>;
  /**
   * Checks a command's fields, throwing a `KvbusError` that says what to fix.
   * Clients run it in the caller's stack; the actor runs it again on commands
   * that came over a wire, where anything may arrive.
   */
  validate(cmd: TCommand): void;
  /** What the actor does: it may answer at once or with a promise (an I/O backend). */
  apply(actor: ActorContext, cmd: TCommand, conn: Connection): unknown;
  /** Makes the reply from what `apply` answered, when the two differ. */
  answer?(result: never): unknown;
  /**
   * True when nothing may run until this command's answer is in: a
   * subscription must be active before the same client's next command runs.
   */
  readonly barrier?: boolean;
  /**
   * True when the answer may come much later even from a backend that answers
   * at once (a lock acquire waits its turn): the actor replies when `apply`'s
   * promise settles, without holding the mailbox, and clients exempt the call
   * from `requestTimeoutMs` (the command bounds its own wait).
   */
  readonly waits?: boolean;
  /**
   * Checks what only a wire can bring, after `validate`, on commands that came
   * over one: a value backed by a `SharedArrayBuffer` arrives shared with its
   * sender (a structured clone shares such memory), so the store must refuse it.
   * A caller's own value needs no such check: its copy is searched as it is made.
   */
  untrusted?(cmd: TCommand): void;
  /**
   * True when the answer is made for this call and holds nothing stored (the
   * keys of `keys`, the counters of `stats`): the main thread's client need not copy it.
   */
  readonly fresh?: boolean;
}

/**
 * Declares a command (an identity function that fixes its types).
 * @param spec - the command's descriptor
 * @returns the same descriptor
 */
export function defineCommand<TCommand extends { type: string }>(spec: CommandSpec<TCommand>): CommandSpec<TCommand> {
  return spec;
}

/** The command type a descriptor describes. */
export type CommandOf<TSpec> = TSpec extends CommandSpec<infer TCommand> ? TCommand : never;
