// Runs in a worker thread of the pool: keeps a materialized view of 'order:*'
// (the number of orders per status) with snapshot-then-follow, while the main
// thread keeps writing, and answers with the view once it sees 'order:closed'.
import { type ChangeEvent, getStore } from 'kvbus';

/** An order, as main.ts writes it. */
export interface Order {
  status: 'new' | 'paid' | 'shipped';
  total: number;
}

/** What the view holds: each order's status, and the count per status derived from it. */
export interface OrderView {
  /** The revision the view started from (its snapshot's). */
  from: number;
  /** The changes applied on top of the snapshot. */
  applied: number;
  orders: Array<[string, Order]>;
  byStatus: Record<string, number>;
}

export default async function keepView({ glob, endKey }: { glob: string; endKey: string }): Promise<OrderView> {
  const store = getStore();
  // 1. Read the keyspace and the revision it was read at, in one atomic step.
  const { revision, entries } = await store.snapshot<Order>(glob);
  const orders = new Map([...entries].map(([key, entry]) => [key, entry.value]));
  let applied = 0;
  // 2. Follow every change after that revision: none missed, none repeated.
  const done = new Promise<void>((resolve, reject) => {
    const subscription = store.changes<Order>(glob, { since: revision }).subscribe({
      next: (event: ChangeEvent<Order>) => {
        applied++;
        if (event.type === 'set') orders.set(event.key, event.value);
        else if (event.type === 'clear') orders.clear();
        else orders.delete(event.key);
        if (event.key === endKey) {
          subscription.unsubscribe();
          resolve();
        }
      },
      error: reject, // ERR_COMPACTED: history no longer reaches `revision` (take a new snapshot)
    });
  });
  // Commands of one client apply in order: once this is published, the feed is active.
  await store.publish('view:following', revision);
  await done;
  orders.delete(endKey);
  const byStatus: Record<string, number> = {};
  for (const order of orders.values()) byStatus[order.status] = (byStatus[order.status] ?? 0) + 1;
  return { from: revision, applied, orders: [...orders], byStatus };
}
