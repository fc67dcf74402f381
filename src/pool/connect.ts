import { MessageChannel, parentPort, receiveMessageOnPort, threadId } from 'node:worker_threads';
import { RemoteLink } from '../streams/client-end/remote-link.js';
import { parentProcessStream, portStream } from '../streams/message-stream.js';
import { type HelloMessage, PROTOCOL, type WireReply } from '../streams/protocol/framing.js';

// The client side of workers and child processes. It never imports the actor:
// a worker holds no state of its own, only a link to the main thread's store.

/**
 * Connects this worker thread to the store of the thread that spawned it.
 * The worker speaks first: it sends its own port through `parentPort`, which
 * piscina surfaces as the pool's 'message' event and a plain `Worker` as its
 * 'message' event, where `createPool` and `store.attach` wait for it.
 * @returns the link to the store (with `requestSync` for `store.sync`)
 */
export function connectWorker(): RemoteLink {
  const channel = new MessageChannel();
  const syncChannel = new MessageChannel();
  const syncFlag = new Int32Array(new SharedArrayBuffer(4));
  const hello: HelloMessage = { p: PROTOCOL, hello: { threadId, port: channel.port2, syncPort: syncChannel.port2, syncFlag } };
  parentPort!.postMessage(hello, [channel.port2, syncChannel.port2]);
  return new RemoteLink(portStream(channel.port1), {
    flag: syncFlag,
    receive: () => receiveMessageOnPort(syncChannel.port1)?.message as WireReply | undefined,
  });
}

/**
 * Connects this child process to its parent's store, over the IPC channel.
 * @returns the link to the store (no blocking calls: there is no shared memory across processes)
 */
export function connectChild(): RemoteLink {
  const stream = parentProcessStream();
  stream.post({ p: PROTOCOL }); // hello: the parent starts serving on our first kvbus message
  return new RemoteLink(stream);
}
