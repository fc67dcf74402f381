import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { CacheConfig } from '../cache-types.js';
import { describe, KvbusError } from '../errors.js';
import { childStream, fromIpc, type MessageStream } from '../streams/message-stream.js';
import { pipeStream } from '../streams/pipe-stream.js';
import { isProtocolMessage } from '../streams/protocol/framing.js';
import type { RemoteConnection } from '../streams/store-end/remote-connection.js';
import { acceptWorkers } from './accept-workers.js';
import { isChildHello } from './hello.js';
import { guardIpc } from './ipc-guard.js';
import { peer, serve, withWho } from './serve.js';
import { shield } from './shield.js';
import { markAttached } from './spawn-watch.js';
import type { StoreHost } from './store-host.js';

/**
 * Connects a worker or a child process to a store (see `store.attach`).
 * @param host - the main-thread store's host
 * @param target - a `Worker`, or a `ChildProcess` with an IPC channel
 * @param cache - its near cache settings (checked), when it has one
 * @returns the detach function
 */
export function attach(host: StoreHost, target: Worker | ChildProcess, cache?: CacheConfig): () => void {
  if (host.closed) throw new KvbusError('ERR_CLOSED', 'Cannot attach to a closed store');
  if (target instanceof Worker) return attachWorker(host, target, cache);
  if (target && typeof (target as ChildProcess).send === 'function' && typeof (target as ChildProcess).on === 'function') {
    return attachChild(host, target as ChildProcess, undefined, cache);
  }
  throw new KvbusError('ERR_BAD_ARGUMENT', `Expected a Worker or a ChildProcess forked with an IPC channel, got ${describe(target)}`);
}

function attachWorker(host: StoreHost, worker: Worker, cache: CacheConfig | undefined): () => void {
  // The worker speaks first (piscina treats any message sent to a worker as its start-up message);
  // its hello comes through 'message', where the shield keeps it from the user's listeners.
  const door = acceptWorkers(host, (threadId) => (threadId === worker.threadId ? worker : undefined), worker.threadId, cache);
  const onMessage = (message: unknown) => door.receive(message);
  const { handlers } = shield(worker);
  handlers.add(onMessage);
  return () => {
    handlers.delete(onMessage);
    door.closeAll();
  };
}

/**
 * Connects a child process: on kvbus's own pipe when it has one (`store.fork`),
 * else on its IPC channel. The connection starts with the child's hello (its
 * first kvbus message), so a child that never calls getStore() never sees a
 * kvbus message. A kvbus message before the hello is refused and counted; on
 * the pipe, a frame that breaks the framing cuts the child off.
 * @param host - the main-thread store's host
 * @param child - a child process with an IPC channel
 * @param pipe - kvbus's own pipe to it, if it was forked with one
 * @param cache - its near cache settings (checked), when it has one
 * @returns the detach function
 */
export function attachChild(host: StoreHost, child: ChildProcess, pipe: Socket | undefined, cache?: CacheConfig): () => void {
  if (!child.connected && !pipe) {
    throw new KvbusError(
      'ERR_BAD_ARGUMENT',
      'This child process has no IPC channel: fork it (store.fork) or spawn it with stdio including "ipc"',
    );
  }
  let connection: RemoteConnection | undefined;
  let cutOff: string | undefined;
  const reject = (reason: string) => {
    host.malformed();
    host.announce({ ...withWho(peer('rejected', host.nextClientId(), 'process'), { pid: child.pid }), reason });
  };
  // Counted once: as a refused hello before the connection, as a cut-off after it (peers() says so at its exit).
  const cutOffFor = (reason: string) => {
    if (!connection) return reject(reason);
    host.malformed();
    cutOff = reason;
  };
  const start = (stream: MessageStream) => {
    connection = serve(
      host,
      stream,
      'process',
      undefined,
      (reason) => {
        const id = connection!.id;
        if (reason !== undefined) cutOff ??= `cut off: ${reason}`;
        if (cutOff !== undefined) {
          return host.announce({ ...withWho(peer('exit', id, 'process'), { pid: child.pid }), reason: cutOff });
        }
        const emit = () => {
          const event = withWho(peer('exit', id, 'process', child.exitCode), { pid: child.pid });
          host.announce(child.signalCode ? { ...event, signal: child.signalCode } : event);
        };
        if (child.exitCode === null && child.signalCode === null) child.once('exit', emit);
        else emit();
      },
      { pid: child.pid },
      cache,
    );
  };

  if (pipe) {
    // The IPC channel is the user's alone; still, what Node cannot decode on it must not kill this process.
    const unguard = guardIpc(child, () => {});
    const stream = pipeStream(pipe);
    // The parent never holds its own process open on a child (as with IPC).
    pipe.unref();
    stream.onMessage((message) => {
      if (connection) return;
      if (isChildHello(message)) start(stream);
      else
        reject(
          `expected a hello as the first message, got ${isProtocolMessage(message) ? 'another kvbus message' : "a message that is not kvbus's"}`,
        );
    });
    stream.onUndecodable(() => connection || reject('the first message could not be decoded'));
    stream.onBroken((reason) => cutOffFor(`cut off: ${reason}`));
    return () => {
      unguard();
      stream.close();
      connection?.disconnect();
    };
  }

  const stream = childStream(child);
  const unmark = markAttached(child);
  // Node could not decode a message on the IPC channel: the channel is cut (what
  // follows it cannot be read in order), the child is told by its 'disconnect'.
  const unguard = guardIpc(child, (error) =>
    cutOffFor(`cut off: a message on the IPC channel could not be decoded (${(error as Error)?.message ?? String(error)})`),
  );
  // kvbus's messages travel as Node's internal messages: the user's 'message' listeners never see them.
  const onFirst = (ipc: unknown) => {
    const message = fromIpc(ipc);
    if (connection || message === undefined) return;
    if (!isChildHello(message)) return reject('expected a hello as the first message, got another kvbus message');
    child.off('internalMessage', onFirst);
    start(stream);
  };
  child.on('internalMessage', onFirst);
  return () => {
    unguard();
    unmark();
    child.off('internalMessage', onFirst);
    connection?.disconnect();
  };
}
