// The README's example in TypeScript. Run it with tsx, or compile it first:
//   node --import tsx examples/typescript-quickstart/main.ts
//   tsc (module nodenext) to a folder, then node that folder's main.js
import { createPool, getStore, type PatternMessage } from 'kvbus';
import { scan } from 'rxjs';
import type { Job } from './task.js';

// The task file next to this one: task.ts under tsx, task.js once compiled.
const taskFile = new URL(import.meta.url.endsWith('.ts') ? './task.ts' : './task.js', import.meta.url);

const store = getStore(); // the process-wide store
const progress = store
  .pattern('job:*:progress') // every job's progress, one stream
  .pipe(scan((table: Record<string, unknown>, { channel, data }: PatternMessage) => ({ ...table, [channel]: data }), {}))
  .subscribe((table) => console.log('progress:', JSON.stringify(table)));

const pool = createPool({ filename: taskFile.href });
const jobs: Job[] = [{ id: 1 }, { id: 2 }, { id: 3 }];
await Promise.all(jobs.map((job) => pool.run(job)));
const done = await store.get('jobs:done', 0);
console.log('done:', done); // 3, exactly
progress.unsubscribe();
await pool.destroy();
await store.close();
