// store.clients(): the workers and children connected now, with their thread or
// process id, subscriptions and buffers; peers() events name them the same way.
import { Worker } from 'node:worker_threads';
import type { PeerEvent } from 'kvbus';
import { afterEach, describe, expect, it } from 'vitest';
import { fixturePath, fixtureUrl } from '../helpers/fixtures.js';
import { messageFrom } from '../helpers/processes.js';
import { Resources } from '../helpers/resources.js';
import { eventually } from '../helpers/wait.js';

const res = new Resources();
afterEach(() => res.cleanup());

describe('store.clients()', () => {
  it('lists each worker and child with its thread or process id and subscriptions; peers() names them too', async () => {
    const store = res.store();
    const peers: PeerEvent[] = [];
    store.peers().subscribe((event) => peers.push(event));
    expect(await store.clients()).toEqual([]);

    const worker = res.worker(new Worker(fixtureUrl('listening-client.mjs')));
    const workerReady = messageFrom(worker, (m) => m?.type === 'ready', 'the worker to subscribe');
    store.attach(worker);
    await workerReady;
    const child = res.child(store.fork(fixturePath('listening-client.mjs')));
    await messageFrom(child, (m) => m?.type === 'ready', 'the child to subscribe');

    const clients = await store.clients();
    expect(clients).toHaveLength(2);
    expect(clients).toContainEqual({
      id: expect.any(Number),
      kind: 'worker',
      threadId: worker.threadId,
      subscriptions: 2,
      buffered: expect.any(Number),
      dropped: 0,
    });
    expect(clients).toContainEqual({
      id: expect.any(Number),
      kind: 'process',
      pid: child.pid,
      subscriptions: 2,
      buffered: expect.any(Number),
      dropped: 0,
    });
    expect(peers.filter((e) => e.type === 'join')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'worker', threadId: worker.threadId }),
        expect.objectContaining({ kind: 'process', pid: child.pid }),
      ]),
    );

    const threadId = worker.threadId;
    await worker.terminate();
    await eventually(async () => expect((await store.clients()).map((c) => c.kind)).toEqual(['process']), 'the worker to leave');
    await eventually(
      async () => expect(peers).toContainEqual(expect.objectContaining({ type: 'exit', kind: 'worker', threadId })),
      'the exit event',
    );
  });
});
