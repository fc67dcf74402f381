import type { KeyChange } from '../types.js';

/** An error as it crosses a boundary: classes and `code` do not survive a structured clone. */
export interface WireError {
  name: string;
  code?: string | undefined;
  message: string;
  /** An `ERR_COMPACTED` error's oldest revision in history. */
  oldestRevision?: number | undefined;
}

/**
 * What a subscription receives from the actor. Clients turn these into the
 * public shapes: a channel's data, `{ channel, data }` for patterns, a value
 * for `watch`, a `ChangeEvent` for `changes`.
 */
export type SubEvent =
  | { type: 'message'; channel: string; data: unknown }
  | KeyChange
  // The first event of a watch: the key's value when the subscription became active.
  | { type: 'snapshot'; key: string; value: unknown; revision: number }
  // The store ended this subscription (a remote subscriber's overflow policy 'error').
  | { type: 'end'; error: WireError };

/**
 * To a child's near cache, on subscription 0 (no subscription's): drop these keys
 * (null: every key). Not a {@link SubEvent}: no subscription ever sees one.
 */
export type InvalidateEvent = { type: 'invalidate'; keys: string[] | null };

/** One kind of {@link SubEvent}: its wire code and the fields that travel, in order. */
export interface EventKind {
  readonly type: SubEvent['type'] | InvalidateEvent['type'];
  readonly code: number;
  readonly fields: readonly string[];
  /** Fields every event of this kind has, which need not travel. */
  readonly fixed?: Readonly<Record<string, unknown>>;
}

/**
 * Every event kind, once. A message on a channel subscription, the bulk of the
 * traffic, travels in a shorter form still (see the protocol): the client
 * knows its channel.
 */
export const EVENT_KINDS: readonly EventKind[] = [
  { type: 'message', code: 0, fields: ['channel', 'data'] },
  { type: 'set', code: 1, fields: ['key', 'value', 'revision'] },
  { type: 'snapshot', code: 2, fields: ['key', 'value', 'revision'] },
  { type: 'delete', code: 3, fields: ['key', 'revision'] },
  { type: 'expire', code: 4, fields: ['key', 'revision'] },
  { type: 'clear', code: 5, fields: ['revision'], fixed: { key: '*' } },
  { type: 'end', code: 6, fields: ['error'] },
  { type: 'invalidate', code: 10, fields: ['keys'] },
];
