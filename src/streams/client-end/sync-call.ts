import { KvbusError } from '../../errors.js';
import { REFUSED_SEQ, type WireReply } from '../protocol/framing.js';
import { decodeError, type WireError } from '../protocol/wire-error.js';

/** How a blocked request is answered: a port read synchronously and a flag to wait on. */
export interface SyncChannel {
  receive(): WireReply | undefined;
  flag: Int32Array;
  /** Set once the parent said that no store serves this worker. */
  refused?: Error;
}

/**
 * Blocks this thread until the reply to `seq` arrives on the sync channel.
 * The store sets the flag after posting the reply, so a wait that wakes finds
 * it; a reply for another seq is the late answer of a call that timed out.
 * A notice that the store could not read a message (seq 0) is handled here,
 * since the event loop that would see it on the stream is blocked: when it is
 * this call's own message the call fails at once, instead of timing out.
 * @param sync - the channel
 * @param seq - the request waited for
 * @param timeoutMs - how long to wait at most
 * @param type - the command's type, for the timeout's message
 * @param message - the number of the data message that carried the request
 * @param onLost - handles a lost message; returns the error of a request that failed with it
 * @returns the reply's value; throws its error, or `ERR_TIMEOUT`
 */
export function awaitSyncReply(
  sync: SyncChannel,
  seq: number,
  timeoutMs: number,
  type: string,
  message: number,
  onLost: (message: number) => KvbusError | undefined,
): unknown {
  if (sync.refused) throw sync.refused;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reply = receive(sync, type);
    if (reply) {
      if (reply[0] === 0) {
        const failed = onLost(reply[2] as number);
        if (reply[2] !== message) continue;
        Atomics.store(sync.flag, 0, 0);
        throw failed ?? new KvbusError('ERR_NOT_CLONEABLE', `The store could not read the ${type} request; send flatter data`);
      }
      // No store serves this worker: this call, and every one after it, fails so (the notice stays).
      if (reply[0] === REFUSED_SEQ) {
        sync.refused = decodeError(reply[2] as WireError);
        throw sync.refused;
      }
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

function receive(sync: SyncChannel, type: string): WireReply | undefined {
  try {
    return sync.receive();
  } catch (cause) {
    // This thread could not deserialize the reply (it is gone from the port): fail rather than wait for it.
    Atomics.store(sync.flag, 0, 0);
    throw new KvbusError(
      'ERR_NOT_CLONEABLE',
      `The reply to ${type} could not be read in this thread (${(cause as Error).message}): its value is nested too deeply for this thread's stack`,
      { cause },
    );
  }
}
