import { MessageChannel, parentPort, receiveMessageOnPort, threadId } from 'node:worker_threads';
import { RemoteLink } from '../client/remote-link.js';
import { StoreClient, reportToConsole } from '../client/store-client.js';
import { createSyncStore, refusingSyncStore } from '../client/sync-store.js';
import { KvbusError } from '../errors.js';
import { parentProcessStream, portStream } from '../streams/message-stream.js';
import { PROTOCOL, type HelloMessage, type WireReply } from '../streams/protocol.js';
import type { Store } from '../types.js';

// The client side of workers and child processes. It never imports the actor:
// a worker holds no state of its own, only a link to the main thread's store.

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Connects this worker thread to the store of the thread that spawned it.
 * The worker speaks first: it sends its own port through `parentPort`, which
 * piscina surfaces as the pool's 'message' event and a plain `Worker` as its
 * 'message' event, where `createPool` and `store.attach` wait for it.
 * @returns the worker's store client
 */
export function connectWorker(): Store {
  const channel = new MessageChannel();
  const syncChannel = new MessageChannel();
  const syncFlag = new Int32Array(new SharedArrayBuffer(4));
  const hello: HelloMessage = { p: PROTOCOL, hello: { threadId, port: channel.port2, syncPort: syncChannel.port2, syncFlag } };
  parentPort!.postMessage(hello, [channel.port2, syncChannel.port2]);
  const link = new RemoteLink(portStream(channel.port1), {
    requestTimeoutMs: DEFAULT_TIMEOUT_MS,
    sync: { flag: syncFlag, receive: () => receiveMessageOnPort(syncChannel.port1)?.message as WireReply | undefined },
  });
  return new StoreClient(link, {
    // Copy at the call, not at the flush: a value mutated after set() in the same tick must not leak in.
    copyIn: true,
    onError: reportToConsole,
    sync: createSyncStore((cmd) => link.requestSync(cmd), true),
  });
}

/**
 * Connects this child process to its parent's store, over the IPC channel.
 * @returns the child's store client
 */
export function connectChild(): Store {
  const stream = parentProcessStream();
  stream.post({ p: PROTOCOL }); // hello: the parent starts serving on our first kvbus message
  const link = new RemoteLink(stream, { requestTimeoutMs: DEFAULT_TIMEOUT_MS });
  return new StoreClient(link, {
    copyIn: true,
    onError: reportToConsole,
    sync: refusingSyncStore(
      () => new KvbusError('ERR_WOULD_DEADLOCK', 'store.sync cannot block a child process on its parent (no shared memory across processes): use the async API (await store.get(...))'),
    ),
  });
}
