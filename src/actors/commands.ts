// The actor's vocabulary. Every command is a plain, structured-cloneable object,
// so the same value travels from the main thread, a worker or a child process.
// Clients import these as types only: nothing here runs.

/** What a subscription listens to. */
export type TopicKind = 'channel' | 'pattern' | 'key' | 'changes';

/** A subscription target: a channel, a channel glob, a watched key or a key glob for changes. */
export interface Topic {
  kind: TopicKind;
  name: string;
}

/** Every command the store actor understands, discriminated on `type`. */
export type Command =
  | { type: 'kv.get'; key: string }
  | { type: 'kv.getEntry'; key: string }
  | { type: 'kv.set'; key: string; value: unknown; ttlMs?: number; ifRevision?: number; keepTtl?: boolean }
  | { type: 'kv.delete'; key: string; ifRevision?: number }
  | { type: 'kv.has'; key: string }
  | { type: 'kv.keys'; pattern?: string }
  | { type: 'kv.getAll'; pattern?: string }
  | { type: 'kv.clear' }
  | { type: 'kv.incr'; key: string; by: number }
  | { type: 'kv.apply'; key: string; op: string; arg?: unknown }
  | { type: 'bus.publish'; channel: string; data: unknown }
  | { type: 'sub.add'; sid: number; topic: Topic }
  | { type: 'sub.remove'; sid: number }
  | { type: 'sys.stats' }
  | { type: 'sys.sweep' }
  | { type: 'sys.disconnect' };

/** The `type` of every command. */
export type CommandType = Command['type'];

/**
 * What a subscription receives from the actor. Clients turn these into the
 * public shapes: a channel's data, `{ channel, data }` for patterns, a value
 * for `watch`, a {@link ChangeEvent} for `changes`.
 */
export type SubEvent =
  | { type: 'message'; channel: string; data: unknown }
  | { type: 'set'; key: string; value: unknown; revision: number }
  | { type: 'delete' | 'expire'; key: string; revision: number }
  | { type: 'clear'; key: '*'; revision: number }
  // The first event of a watch: the key's value when the subscription became active.
  | { type: 'snapshot'; key: string; value: unknown; revision: number }
  // The store ended this subscription (a remote subscriber's overflow policy 'error').
  | { type: 'end'; error: { name: string; code?: string | undefined; message: string } };

/** A change event as the actor emits it. */
export type KeyChange = Exclude<SubEvent, { type: 'message' } | { type: 'snapshot' } | { type: 'end' }>;
