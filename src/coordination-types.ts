// The types of locks and transactions (SPEC §7, Coordination).

/**
 * What a fenced write names: a lock and the token of one grant of it. A
 * {@link Lock} is one; so is `{ name, token }` sent to another thread or process.
 */
export interface LockRef {
  readonly name: string;
  readonly token: number;
}

/** Options of `store.lock` and `store.withLock`. */
export interface LockOptions {
  /**
   * The lease in ms: unless extended, the lock is released this long after it was granted.
   * @defaultValue 30 000
   */
  ttlMs?: number;
  /** How long to wait for the lock before rejecting with `ERR_TIMEOUT`. @defaultValue wait forever */
  waitMs?: number;
  /** Gives up waiting (rejects with `ERR_ABORTED`) when aborted. */
  signal?: AbortSignal;
}

/**
 * A granted lock (see `store.lock`). Not reentrant. `await using lock = await store.lock('x')`
 * releases it at the end of the scope.
 */
export interface Lock extends LockRef, AsyncDisposable {
  /** The lock's name. */
  readonly name: string;
  /** The fencing token of this grant: strictly increasing for each grant of this name. */
  readonly token: number;
  /** Releases the lock; resolves `true` when this call released it, `false` when it was no longer held. */
  release(): Promise<boolean>;
  /** Renews the lease for `ttlMs` from now (the lock's own lease without it); rejects with `ERR_CONFLICT` when it is no longer held. */
  extend(ttlMs?: number): Promise<void>;
}

/** One operation of `store.transaction`. */
export type TransactionOp =
  | { op: 'set'; key: string; value: unknown; ttlMs?: number; ifRevision?: number }
  | { op: 'delete'; key: string; ifRevision?: number }
  | { op: 'incr'; key: string; by?: number }
  /** A precondition: the key's revision must be this one (`0` = absent). */
  | { op: 'check'; key: string; revision: number };

/** Options of `store.transaction`. */
export interface TransactionOptions {
  /** Fencing: apply only while this lock is still held with this token, else `ERR_CONFLICT` and nothing changes. */
  fence?: LockRef;
  /** Stops waiting (rejects with `ERR_ABORTED`) when aborted; a transaction already sent may still be applied. */
  signal?: AbortSignal;
}
