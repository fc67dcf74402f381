import { KvbusError } from '../../errors.js';
import type { WireReply } from '../protocol/framing.js';
import { decodeError, type WireError } from '../protocol/wire-error.js';

/** How a blocked request is answered: a port read synchronously and a flag to wait on. */
export interface SyncChannel {
  receive(): WireReply | undefined;
  flag: Int32Array;
}

/**
 * Blocks this thread until the reply to `seq` arrives on the sync channel.
 * The store sets the flag after posting the reply, so a wait that wakes finds
 * it; a reply for another seq is the late answer of a call that timed out.
 * @param sync - the channel
 * @param seq - the request waited for
 * @param timeoutMs - how long to wait at most
 * @param type - the command's type, for the timeout's message
 * @returns the reply's value; throws its error, or `ERR_TIMEOUT`
 */
export function awaitSyncReply(sync: SyncChannel, seq: number, timeoutMs: number, type: string): unknown {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reply = sync.receive();
    if (reply) {
      if (reply[0] !== seq) continue;
      Atomics.store(sync.flag, 0, 0);
      if (reply[1]) return reply[2];
      throw decodeError(reply[2] as WireError);
    }
    const left = deadline - Date.now();
    if (left <= 0 || Atomics.wait(sync.flag, 0, 0, left) === 'timed-out') {
      throw new KvbusError(
        'ERR_TIMEOUT',
        `The store did not answer ${type} within ${timeoutMs} ms (requestTimeoutMs); is the main thread blocked?`,
      );
    }
    Atomics.store(sync.flag, 0, 0);
  }
}
