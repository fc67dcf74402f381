import type { ChildProcess } from 'node:child_process';
import { type MessagePort, Worker } from 'node:worker_threads';
import { describe, KvbusError } from '../errors.js';
import { childStream, type MessageStream, portStream } from '../streams/message-stream.js';
import { type HelloMessage, isHello, isProtocolMessage } from '../streams/protocol/framing.js';
import { RemoteConnection } from '../streams/store-end/remote-connection.js';
import type { PeerEvent } from '../types.js';
import type { StoreHost } from './store-host.js';

/**
 * Connects a worker or a child process to a store (see `store.attach`).
 * @param host - the main-thread store's host
 * @param target - a `Worker`, or a `ChildProcess` with an IPC channel
 * @returns the detach function
 */
export function attach(host: StoreHost, target: Worker | ChildProcess): () => void {
  if (host.closed) throw new KvbusError('ERR_CLOSED', 'Cannot attach to a closed store');
  if (target instanceof Worker) return attachWorker(host, target);
  if (target && typeof (target as ChildProcess).send === 'function' && typeof (target as ChildProcess).on === 'function') {
    return attachChild(host, target as ChildProcess);
  }
  throw new KvbusError('ERR_BAD_ARGUMENT', `Expected a Worker or a ChildProcess forked with an IPC channel, got ${describe(target)}`);
}

/**
 * Accepts a worker's hello (the worker speaks first: piscina treats any message
 * sent to a worker as its start-up message), and serves that worker from then on.
 * @param host - the main-thread store's host
 * @param hello - the worker's first message
 * @param worker - the worker, when known (for its exit code)
 * @returns the detach function
 */
export function acceptWorker(host: StoreHost, hello: HelloMessage['hello'], worker: Worker | undefined): () => void {
  let exited = false;
  let exitCode: number | undefined;
  let announced = false;
  const announce = () => {
    if (announced) return;
    announced = true;
    host.announce(peer('exit', connection.id, 'worker', exitCode));
  };
  const onExit = (code: number) => {
    exited = true;
    exitCode = code;
    connection.disconnect();
    announce();
  };
  const connection = serve(host, portStream(hello.port), 'worker', { port: hello.syncPort, flag: hello.syncFlag }, () => {
    // A dying worker's port closes a moment before its 'exit': give the exit code a
    // moment to arrive, so peers() can report it. A detached, living worker has none.
    if (!worker || exited) return announce();
    setTimeout(() => {
      worker.off('exit', onExit);
      announce();
    }, 1000).unref();
  });
  worker?.once('exit', onExit);
  return () => connection.disconnect();
}

function attachWorker(host: StoreHost, worker: Worker): () => void {
  let detach: (() => void) | undefined;
  const onMessage = (message: unknown) => {
    if (!isHello(message)) return;
    detach?.();
    detach = acceptWorker(host, message.hello, worker);
  };
  worker.on('message', onMessage);
  return () => {
    worker.off('message', onMessage);
    detach?.();
  };
}

function attachChild(host: StoreHost, child: ChildProcess): () => void {
  if (!child.connected) {
    throw new KvbusError(
      'ERR_BAD_ARGUMENT',
      'This child process has no IPC channel: fork it (store.fork) or spawn it with stdio including "ipc"',
    );
  }
  let connection: RemoteConnection | undefined;
  const stream = childStream(child);
  // The connection starts with the child's hello (its first kvbus message), so a
  // child that never calls getStore() never sees a kvbus message on its channel.
  const onFirst = (message: unknown) => {
    if (connection || !isProtocolMessage(message)) return;
    child.off('message', onFirst);
    connection = serve(host, stream, 'process', undefined, () => {
      const emit = () => {
        const event = peer('exit', connection!.id, 'process', child.exitCode);
        host.announce(child.signalCode ? { ...event, signal: child.signalCode } : event);
      };
      if (child.exitCode === null && child.signalCode === null) child.once('exit', emit);
      else emit();
    });
  };
  child.on('message', onFirst);
  return () => {
    child.off('message', onFirst);
    connection?.disconnect();
  };
}

function serve(
  host: StoreHost,
  stream: MessageStream,
  kind: 'worker' | 'process',
  sync: { port: MessagePort; flag: Int32Array } | undefined,
  onGone: () => void,
): RemoteConnection {
  const id = host.nextClientId();
  const connection = new RemoteConnection(host.gate, stream, {
    id,
    kind,
    buffer: host.subscriberBuffer,
    requestTimeoutMs: host.requestTimeoutMs,
    sync,
    onGone,
  });
  host.announce(peer('join', id, kind));
  return connection;
}

function peer(type: 'join' | 'exit', id: number, kind: 'worker' | 'process', exitCode?: number | null): PeerEvent {
  return exitCode === undefined || exitCode === null ? { type, id, kind } : { type, id, kind, exitCode };
}
