import type { ChildProcess } from 'node:child_process';

// Node decodes a child's IPC messages in its channel handle's `onread`, where
// nothing catches what the decoder throws: a child that sends a value nested
// too deeply for the parent's stack ('advanced' serialization) kills the parent
// with an uncaught RangeError. The guard wraps that `onread`. It reaches into
// Node's internals (the handle under the `kChannelHandle` symbol, as in Node
// 14 to 22); where they differ, it does nothing and the channel stays as Node
// made it. After a throw the decoder's own buffer is consistent (the message
// was consumed) but the messages read with it are not delivered, so the guard
// cannot let the channel go on: it disconnects it.

type ChannelHandle = { onread?: (...args: unknown[]) => unknown };

/**
 * Keeps a child's IPC messages that Node cannot decode from killing this process.
 * @param child - a child process with an IPC channel
 * @param onFault - called once the channel was cut for a message Node could not decode
 * @returns a function that removes the guard
 */
export function guardIpc(child: ChildProcess, onFault: (error: unknown) => void): () => void {
  const handle = channelHandle(child);
  const original = handle?.onread;
  if (!handle || typeof original !== 'function') return () => {};
  const guarded = function (this: unknown, ...args: unknown[]): unknown {
    try {
      return original.apply(this, args);
    } catch (error) {
      // The fault is known before the 'disconnect' that ends the connection.
      onFault(error);
      if (child.connected) child.disconnect();
      return undefined;
    }
  };
  handle.onread = guarded;
  return () => {
    if (handle.onread === guarded) handle.onread = original;
  };
}

function channelHandle(child: ChildProcess): ChannelHandle | undefined {
  for (const symbol of Object.getOwnPropertySymbols(child)) {
    if (symbol.description !== 'kChannelHandle') continue;
    const handle = (child as unknown as Record<symbol, unknown>)[symbol];
    return handle !== null && typeof handle === 'object' ? (handle as ChannelHandle) : undefined;
  }
  return undefined;
}
