// Public types of lossless change feeds (SPEC §7): history, resume from a revision, snapshots.

/** How many change events a store keeps, so that `changes(glob, { since })` can replay them. */
export interface HistoryOptions {
  /**
   * The number of most recent change events kept (on Redis, the length the
   * namespace's change stream is trimmed near).
   * @defaultValue 10 000
   */
  maxEvents?: number;
}

/** Options of {@link Store.changes}. */
export interface ChangesOptions {
  /**
   * Start after this revision: first every retained change with a greater
   * revision (in revision order), then live ones, with no gap and no duplicate.
   * When history no longer reaches back that far, the observable errors with
   * `ERR_COMPACTED`, whose `oldestRevision` tells where history starts.
   */
  since?: number;
}

/** What {@link Store.snapshot} reads: entries and the revision they were all read at, in one atomic step. */
export interface Snapshot<TValue = unknown> {
  /** The store's revision when the entries were read: follow with `changes(glob, { since: revision })`. */
  revision: number;
  /** The matching entries (each a value and its revision, as `getEntry` answers), as copies. */
  entries: Map<string, { value: TValue; revision: number }>;
}
