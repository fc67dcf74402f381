// A materialized view kept in a worker with snapshot-then-follow, while this
// thread writes. Run it with tsx:
//   node --import tsx examples/materialized-view/main.ts
import { createPool, getStore } from 'kvbus';
import type { Order, OrderView } from './worker.js';

// The task file next to this one: worker.ts under tsx, worker.js once compiled.
const workerFile = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);
const STATUSES: Order['status'][] = ['new', 'paid', 'shipped'];

const store = getStore();
// Orders exist before the view starts: the snapshot brings them.
for (let i = 0; i < 200; i++) await store.set(`order:${i}`, { status: 'new', total: i } satisfies Order);

let followingSince = Number.POSITIVE_INFINITY; // the write during which the worker began to follow
let i = 0;
store.channel('view:following').subscribe(() => (followingSince = i));
const pool = createPool({ filename: workerFile.href, maxThreads: 1 });
const view = pool.run({ glob: 'order:*', endKey: 'order:closed' }) as Promise<OrderView>;

// Meanwhile, orders move on, some are cancelled (deleted), new ones come, some expire:
// 3 000 changes at least, and 300 more once the worker follows (its snapshot falls somewhere among them).
for (; i < 3_000 || i < followingSince + 300; i++) {
  if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1)); // paced, and the channel's event gets in
  const id = `order:${i % 400}`;
  if (i % 11 === 0) await store.delete(id);
  else if (i % 17 === 0) await store.set(id, { status: 'new', total: i }, { ttlMs: 1 });
  else await store.set(id, { status: STATUSES[i % 3]!, total: i } satisfies Order);
}
await new Promise((resolve) => setTimeout(resolve, 20)); // the short TTLs run out
await store.set('order:closed', { status: 'new', total: 0 } satisfies Order);
const result = await view;

// The view must equal the store, order by order.
const actual = await store.getAll<Order>('order:*');
actual.delete('order:closed');
const same =
  result.orders.length === actual.size && result.orders.every(([key, order]) => JSON.stringify(actual.get(key)) === JSON.stringify(order));
console.log(`materialized-view: the worker started from revision ${result.from} and applied ${result.applied} changes`);
console.log('orders by status:', JSON.stringify(result.byStatus));
console.log(same ? `the view equals the store (${actual.size} orders)` : 'MISMATCH: the view differs from the store');
await pool.destroy();
await store.close();
process.exitCode = same ? 0 : 1;
