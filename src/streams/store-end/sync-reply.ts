import type { MessagePort } from 'node:worker_threads';
import { KvbusError } from '../../errors.js';
import type { WireReply } from '../protocol/framing.js';
import { encodeError } from '../protocol/wire-error.js';

/**
 * Where a worker's blocking (`store.sync`) calls are answered: a port of their
 * own, and a flag the blocked thread waits on with `Atomics.wait`. A request
 * batch names its blocking call in its header; that call's reply goes here.
 */
export class SyncPort {
  readonly #port: MessagePort;
  readonly #flag: Int32Array;
  /** The blocking calls waiting for their reply. */
  readonly #seqs = new Set<number>();
  /** The seq of the blocking call in the batch being read (0: none). */
  #batchSeq: unknown = 0;

  /** @param sync - the worker's sync port and flag (checked with its hello) */
  constructor(sync: { port: MessagePort; flag: Int32Array }) {
    this.#port = sync.port;
    this.#flag = sync.flag;
  }

  /** A request batch is being read; `syncSeq` is its header's blocking call (0: none). */
  batch(syncSeq: unknown): void {
    this.#batchSeq = syncSeq;
  }

  /** A request of that batch: remembered when it is the blocking call. */
  note(seq: number): void {
    if (seq === this.#batchSeq) this.#seqs.add(seq);
  }

  /** True, once, when `seq` is a blocking call's: its reply goes to {@link SyncPort.wake}. */
  take(seq: number): boolean {
    return this.#seqs.size > 0 && this.#seqs.delete(seq);
  }

  /**
   * Posts a reply (seq 0: a notice, such as a lost message's number) and wakes
   * the blocked thread. A reply that cannot be cloned becomes an
   * `ERR_NOT_CLONEABLE` error, so the thread always wakes.
   */
  wake(reply: WireReply): void {
    try {
      this.#port.postMessage(reply);
    } catch (cause) {
      this.#port.postMessage([
        reply[0],
        false,
        encodeError(new KvbusError('ERR_NOT_CLONEABLE', `The reply cannot be cloned (${(cause as Error).message})`)),
      ]);
    }
    Atomics.store(this.#flag, 0, 1);
    Atomics.notify(this.#flag, 0);
  }
}
