import type { ChildProcess } from 'node:child_process';
import { Worker, type MessagePort } from 'node:worker_threads';
import { KvbusError, describe } from '../errors.js';
import { childStream, portStream, type MessageStream } from '../streams/message-stream.js';
import { isProtocolMessage, type HelloMessage } from '../streams/protocol.js';
import { RemoteConnection } from '../streams/remote-connection.js';
import type { MainStore } from '../store/main-store.js';

/**
 * Connects a worker or a child process to a store (see `store.attach`).
 * @param store - the main-thread store
 * @param target - a `Worker`, or a `ChildProcess` with an IPC channel
 * @returns the detach function
 */
export function attach(store: MainStore, target: Worker | ChildProcess): () => void {
  if (store.closed) throw new KvbusError('ERR_CLOSED', 'Cannot attach to a closed store');
  if (target instanceof Worker) return attachWorker(store, target);
  if (target && typeof (target as ChildProcess).send === 'function' && typeof (target as ChildProcess).on === 'function') {
    return attachChild(store, target as ChildProcess);
  }
  throw new KvbusError('ERR_BAD_ARGUMENT', `Expected a Worker or a ChildProcess forked with an IPC channel, got ${describe(target)}`);
}

/**
 * Accepts a worker's hello (the worker speaks first: piscina treats any message
 * sent to a worker as its start-up message), and serves that worker from then on.
 * @param store - the main-thread store
 * @param hello - the worker's first message
 * @param worker - the worker, when known (for its exit code)
 * @returns the detach function
 */
export function acceptWorker(store: MainStore, hello: HelloMessage['hello'], worker: Worker | undefined): () => void {
  let exited = false;
  let exitCode: number | undefined;
  let announced = false;
  const announce = () => {
    if (announced) return;
    announced = true;
    store.peers$.next(peer('exit', connection.id, 'worker', exitCode));
  };
  const onExit = (code: number) => {
    exited = true;
    exitCode = code;
    connection.disconnect();
    announce();
  };
  const connection = serve(store, portStream(hello.port), 'worker', { port: hello.syncPort, flag: hello.syncFlag }, () => {
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

function attachWorker(store: MainStore, worker: Worker): () => void {
  let detach: (() => void) | undefined;
  const onMessage = (message: unknown) => {
    if (!isHello(message)) return;
    detach?.();
    detach = acceptWorker(store, message.hello, worker);
  };
  worker.on('message', onMessage);
  return () => {
    worker.off('message', onMessage);
    detach?.();
  };
}

function attachChild(store: MainStore, child: ChildProcess): () => void {
  if (!child.connected) throw new KvbusError('ERR_BAD_ARGUMENT', 'This child process has no IPC channel: fork it (store.fork) or spawn it with stdio including "ipc"');
  let connection: RemoteConnection | undefined;
  const stream = childStream(child);
  // The connection starts with the child's hello (its first kvbus message), so a
  // child that never calls getStore() never sees a kvbus message on its channel.
  const onFirst = (message: unknown) => {
    if (connection || !isProtocolMessage(message)) return;
    child.off('message', onFirst);
    connection = serve(store, stream, 'process', undefined, () => {
      const emit = () => {
        const event = peer('exit', connection!.id, 'process', child.exitCode);
        store.peers$.next(child.signalCode ? { ...event, signal: child.signalCode } : event);
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
  store: MainStore,
  stream: MessageStream,
  kind: 'worker' | 'process',
  sync: { port: MessagePort; flag: Int32Array } | undefined,
  onGone: () => void,
): RemoteConnection {
  const id = store.nextClientId();
  const connection = new RemoteConnection(store.actor, stream, {
    id,
    kind,
    buffer: store.config.subscriberBuffer,
    requestTimeoutMs: store.config.requestTimeoutMs,
    sync,
    onGone,
  });
  store.peers$.next(peer('join', id, kind));
  return connection;
}

function peer(type: 'join' | 'exit', id: number, kind: 'worker' | 'process', exitCode?: number | null) {
  return exitCode === undefined || exitCode === null ? { type, id, kind } : { type, id, kind, exitCode };
}

/** @internal */
export function isHello(message: unknown): message is HelloMessage {
  return isProtocolMessage(message) && typeof (message as Partial<HelloMessage>).hello === 'object';
}

