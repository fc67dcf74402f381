import type { Store } from 'kvbus';

/**
 * Deletes every key matching `glob`, a scan chunk at a time, so that neither the
 * listing nor the deletes hold the store long whatever its size. Keys written
 * while it runs may or may not go (as with Redis `SCAN`); the others all do.
 * (One `delete` per key, sent together: there is no multi-key delete yet.)
 * @param store - the store
 * @param glob - the keys to delete, as a Redis-style glob
 * @param count - keys per chunk
 * @returns the number of keys deleted
 */
export async function deleteMatching(store: Store, glob: string, count: number): Promise<number> {
  let deleted = 0;
  let batch: string[] = [];
  const flush = async (): Promise<void> => {
    const results = await Promise.all(batch.map((key) => store.delete(key)));
    deleted += results.filter(Boolean).length;
    batch = [];
  };
  for await (const [key] of store.scan(glob, { count })) {
    batch.push(key);
    if (batch.length >= count) await flush();
  }
  await flush();
  return deleted;
}
