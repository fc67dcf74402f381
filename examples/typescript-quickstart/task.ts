// Runs in a worker thread of the pool: the same API, the same store.
import { getStore } from 'kvbus';

/** What main.ts sends to each run of this task. */
export interface Job {
  id: number;
}

export default async function run({ id }: Job): Promise<number> {
  const store = getStore();
  for (let pct = 0; pct <= 100; pct += 25) await store.publish(`job:${id}:progress`, pct);
  return store.incr('jobs:done'); // atomic across every thread
}
