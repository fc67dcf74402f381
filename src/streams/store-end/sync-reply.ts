import type { MessagePort } from 'node:worker_threads';
import { KvbusError } from '../../errors.js';
import type { WireReply } from '../protocol/framing.js';
import { encodeError } from '../protocol/wire-error.js';

/**
 * Answers a worker blocked in a `store.sync` call: the reply on its sync port,
 * then the flag it waits on, raised and notified. A reply that cannot be
 * cloned becomes an `ERR_NOT_CLONEABLE` error, so the thread always wakes.
 * @param sync - the worker's sync port and flag
 * @param reply - the reply (seq 0: a notice, such as a lost message's number)
 */
export function wakeSync(sync: { port: MessagePort; flag: Int32Array }, reply: WireReply): void {
  try {
    sync.port.postMessage(reply);
  } catch (cause) {
    sync.port.postMessage([
      reply[0],
      false,
      encodeError(new KvbusError('ERR_NOT_CLONEABLE', `The reply cannot be cloned (${(cause as Error).message})`)),
    ]);
  }
  Atomics.store(sync.flag, 0, 1);
  Atomics.notify(sync.flag, 0);
}
