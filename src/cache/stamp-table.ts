// The stamp table of the near caches of workers: shared memory the actor writes
// and every caching worker reads. Keys hash to buckets; each bucket has a stamp
// the actor bumps in the same synchronous turn as any write to one of its keys,
// before that write is answered. A cached entry remembers the stamp it was
// filled at and is served only while the stamp is unchanged, so a read from the
// cache returns what the actor would return at that instant (linearizable).
//
// A stamp is two Int32 halves (low, high): the high half moves when the low one
// wraps, so a stamp repeats only after 2^64 writes to one bucket. The actor
// bumps the high half (Atomics.add, a full fence) before it stores the wrapped
// low half, and readers load the low half first.
//
// The low half is stored with a plain write, not Atomics.store (whose fence cost
// the store a tenth of its `set` throughput): only the actor's thread writes, and
// a reader for whom the write is "done" learned so through something that
// synchronizes with the actor's thread after the bump (a reply posted on a port,
// the sync port's Atomics.notify, or the user's own Atomics flag), so the bump
// happens-before the reader's Atomics.load of the stamp (the JS memory model
// makes such a non-racing read see it). A reader with no such link may see the
// old or the new stamp: either is a linearizable answer, since nothing orders it
// after the write.
// The last pair is the epoch, bumped by `clear` (every key at once).

/** Buckets of the table: a power of two (the mask picks a bucket from a hash). */
export const STAMP_BUCKETS = 4096;
/** Where the epoch's low half is. */
export const EPOCH = STAMP_BUCKETS * 2;

/**
 * @internal Makes a stamp table in shared memory, every stamp 0.
 * @returns the table (buckets' halves, then the epoch's)
 */
export function createStampTable(): Int32Array {
  return new Int32Array(new SharedArrayBuffer((EPOCH + 2) * Int32Array.BYTES_PER_ELEMENT));
}

/**
 * @internal The bucket of a key: where its stamp's low half is (FNV-1a, masked).
 * @param key - the key
 * @returns an even index into the table
 */
export function bucketOf(key: string): number {
  // Every write pays for this: a long key is hashed by its length, its first and its last 16 characters.
  const length = key.length;
  let hash = Math.imul(0x811c9dc5 ^ length, 0x01000193);
  if (length <= 32) {
    for (let i = 0; i < length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  } else {
    for (let i = 0; i < 16; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
    for (let i = length - 16; i < length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  }
  return (hash & (STAMP_BUCKETS - 1)) << 1;
}

/**
 * @internal Bumps the stamp whose low half is at `at` (a bucket, or {@link EPOCH}). Only the actor's thread writes.
 * @param table - the stamp table
 * @param at - the index of the low half
 */
export function bumpStamp(table: Int32Array, at: number): void {
  const low = (table[at]! + 1) | 0;
  if (low === 0) Atomics.add(table, at + 1, 1);
  table[at] = low;
}
