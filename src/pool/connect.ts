import { fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import { MessageChannel, parentPort, receiveMessageOnPort, threadId } from 'node:worker_threads';
import type { CacheConfig } from '../cache-types.js';
import { RemoteLink } from '../streams/client-end/remote-link.js';
import { parentProcessStream, portStream } from '../streams/message-stream.js';
import { pipeStream } from '../streams/pipe-stream.js';
import { type ControlMessage, type HelloMessage, PROTOCOL, type WireReply } from '../streams/protocol/framing.js';
import { PIPE_ENV } from './marks.js';

// The client side of workers and child processes. It never imports the actor:
// a worker holds no state of its own, only a link to the main thread's store.

/** A worker's link, and how its near cache learns its settings. */
export interface WorkerConnection {
  link: RemoteLink;
  /**
   * Looks, without waiting, for the near cache's settings on the sync port (the
   * store posts them, or null, before it answers anything): handed to `configure`.
   */
  pollCache(): void;
}

/**
 * Connects this worker thread to the store of the thread that spawned it.
 * The worker speaks first: it sends its own port through `parentPort`, which
 * piscina surfaces as the pool's 'message' event and a plain `Worker` as its
 * 'message' event, where `createPool` and `store.attach` wait for it.
 * @param configure - receives the near cache's settings (null: none), once
 * @returns the link to the store (with `requestSync` for `store.sync`), and a way to look for the settings
 */
export function connectWorker(configure: (config: CacheConfig | null) => void): WorkerConnection {
  const channel = new MessageChannel();
  const syncChannel = new MessageChannel();
  const syncFlag = new Int32Array(new SharedArrayBuffer(4));
  const hello: HelloMessage = { p: PROTOCOL, hello: { threadId, port: channel.port2, syncPort: syncChannel.port2, syncFlag } };
  parentPort!.postMessage(hello, [channel.port2, syncChannel.port2]);
  let known = false;
  // A reply read while looking for the settings waits here for the blocked call it answers.
  const held: WireReply[] = [];
  const take = (): WireReply | undefined => {
    for (;;) {
      const message: unknown = receiveMessageOnPort(syncChannel.port1)?.message;
      if (message === null || typeof message !== 'object' || Array.isArray(message)) return message as WireReply | undefined;
      const { cache } = message as ControlMessage;
      if (cache !== undefined && !known) {
        known = true;
        configure(cache);
      }
    }
  };
  const link = new RemoteLink(portStream(channel.port1), { flag: syncFlag, receive: () => held.shift() ?? take() });
  return {
    link,
    pollCache() {
      if (known) return;
      const reply = take();
      if (reply !== undefined) held.push(reply);
    },
  };
}

/**
 * Connects this child process to its parent's store: on kvbus's own pipe when
 * the parent made one (`store.fork`), else over the IPC channel (a child the
 * user forked and attached with `store.attach`).
 * @returns the link to the store (no blocking calls: there is no shared memory across processes)
 */
export function connectChild(): RemoteLink {
  const pipe = parentPipe();
  const stream = pipe ? pipeStream(pipe) : parentProcessStream();
  stream.post({ p: PROTOCOL }); // hello: the parent starts serving on our first kvbus message
  return new RemoteLink(stream);
}

/**
 * Tells whether the environment names a pipe of kvbus's to this process's parent.
 * @returns true when {@link PIPE_ENV} names one for this process
 */
export function hasParentPipe(): boolean {
  return pipeFd() !== undefined;
}

function pipeFd(): number | undefined {
  const mark = /^(\d+):(\d+)$/.exec(process.env[PIPE_ENV] ?? '');
  // Inherited from a grandparent: that fd is not ours.
  return mark && Number(mark[1]) === process.ppid ? Number(mark[2]) : undefined;
}

/** kvbus's own pipe to the parent, when the environment names one meant for this process. */
function parentPipe(): Socket | undefined {
  const fd = pipeFd();
  if (fd === undefined) return undefined;
  try {
    const stat = fstatSync(fd);
    if (!stat.isSocket() && !stat.isFIFO()) return undefined;
    return new Socket({ fd, readable: true, writable: true });
  } catch {
    return undefined;
  }
}
