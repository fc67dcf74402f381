import { POST_NOW, sharedError } from '../../clone.js';
import type { AnySpec, Command } from '../../commands/table.js';
import { KvbusError } from '../../errors.js';
import type { MessageStream } from '../message-stream.js';
import { ENCODED_VALUE, encodeValue } from '../protocol/encoded-value.js';
import { type ControlMessage, PROTOCOL, REQUEST_HEADER, REQUESTS, RESENT_REQUESTS } from '../protocol/framing.js';
import { nextRequest, pushRequest, readRequest } from '../protocol/requests.js';
import { SentLog } from '../protocol/sent-log.js';

/**
 * The client's outgoing data messages: requests made in one tick leave as one
 * message, and each message is kept (marked with its first seq) until a reply
 * shows the store has read it, so that one the store reports lost can be sent
 * again request by request (see protocol/framing.ts).
 */
export class RequestSender {
  readonly #stream: MessageStream;
  readonly #ack: () => number;
  readonly #fail: (seq: number, error: KvbusError) => void;
  readonly #sent = new SentLog();
  /** The requests of this tick: [REQUESTS, ack, syncSeq, (seq, opcode, ...fields)*]. */
  #batch: unknown[] | undefined;
  /** The last lost message handled (a blocked call may hear of it before the event loop does). */
  #redone = 0;
  /** The last acknowledgement sent. */
  #acked = 0;

  /**
   * @param stream - the channel to the store
   * @param ack - the acknowledgement to send: how many answer messages have arrived (called only to send it)
   * @param fail - rejects a request that cannot be sent (or read by the store)
   */
  constructor(stream: MessageStream, ack: () => number, fail: (seq: number, error: KvbusError) => void) {
    this.#stream = stream;
    this.#ack = ack;
    this.#fail = fail;
  }

  /**
   * Adds a request to this tick's message (sent at the end of the tick).
   * Throws when the command cannot be sent (not a store command).
   */
  push(seq: number, cmd: Command, spec?: AnySpec): void {
    if ((cmd as { [POST_NOW]?: true })[POST_NOW] === true) return this.#postNow(seq, cmd, spec);
    let batch = this.#batch;
    if (!batch) {
      batch = this.#batch = [REQUESTS, 0, 0];
      queueMicrotask(this.#flushTask);
    }
    pushRequest(batch, seq, cmd, spec);
  }

  /**
   * Posts a blocking request alone (after this tick's, which it must not overtake).
   * @returns its message's number; throws `ERR_NOT_CLONEABLE` when it cannot be cloned
   */
  postBlocking(seq: number, cmd: Command, spec?: AnySpec): number {
    this.flush();
    const message: unknown[] = [REQUESTS, this.#takeAck(), seq];
    pushRequest(message, seq, cmd, spec);
    try {
      this.#stream.post(message);
    } catch (cause) {
      throw notCloneable(cmd, cause);
    }
    return this.#sent.add(message, seq);
  }

  /**
   * Posts a request whose large value was not copied at the call (see `wireCopy`):
   * the post's structured clone is its one copy, made now, before the call returns.
   * It goes alone, after this tick's earlier requests, which it must not overtake;
   * later ones follow in the next message. Alone, it is never sent again from the
   * sent log (a lost one fails), so the caller's object, which that log holds until
   * the store answers, is never read a second time.
   * A `set` value goes as the bytes of its serialization (see encoded-value.ts),
   * which the store decodes itself and need not search for shared memory; one
   * that holds shared memory is refused here; one the serializer cannot write
   * (a function, a port) is posted as it is, and the post decides.
   * Throws `ERR_NOT_CLONEABLE` naming the key when it cannot be cloned.
   */
  #postNow(seq: number, cmd: Command, spec?: AnySpec): void {
    this.flush();
    const encoded = cmd.type === 'kv.set' ? encodeValue(cmd.value) : undefined;
    if (encoded === 'shared') throw sharedError('key', (cmd as { key: string }).key);
    const message: unknown[] = [REQUESTS, this.#takeAck(), encoded ? ENCODED_VALUE : 0];
    pushRequest(message, seq, encoded ? ({ ...cmd, value: encoded } as Command) : cmd, spec);
    try {
      this.#stream.post(message);
    } catch (cause) {
      throw notCloneable(cmd, cause);
    }
    // The log needs only the request's key (alone, a lost one fails): it need not hold the value's bytes.
    if (encoded) message[REQUEST_HEADER + 3] = undefined;
    this.#sent.add(message, seq);
  }

  /** The last acknowledgement sent. */
  get acked(): number {
    return this.#acked;
  }

  #takeAck(): number {
    this.#acked = this.#ack();
    return this.#acked;
  }

  /** Posts an acknowledgement alone. */
  postAck(): void {
    this.#stream.post([REQUESTS, this.#takeAck(), 0]);
    this.#sent.add(undefined, 0);
  }

  /**
   * The store answered `seq`: it has read every message up to the one that carried it.
   * @param seq - the largest seq answered
   */
  answered(seq: number): void {
    this.#sent.forgetMarksThrough(seq);
  }

  readonly #flushTask = (): void => this.flush();

  /** Sends the requests of this tick now, with the acknowledgement. */
  flush(): void {
    const batch = this.#batch;
    if (!batch) return;
    this.#batch = undefined;
    const ack = (batch[1] = this.#takeAck());
    try {
      this.#stream.post(batch);
    } catch {
      // One value could not be cloned: send one by one, so only its own call fails.
      for (let at = REQUEST_HEADER; at < batch.length; ) {
        const next = nextRequest(batch, at);
        const message = [REQUESTS, ack, 0, ...batch.slice(at, next)];
        try {
          this.#stream.post(message);
          this.#sent.add(message, batch[at] as number);
        } catch (cause) {
          this.#fail(batch[at] as number, notCloneable(readRequest(batch, at)!, cause));
        }
        at = next;
      }
      return;
    }
    this.#sent.add(batch.length > REQUEST_HEADER ? batch : undefined, batch[REQUEST_HEADER] as number);
  }

  /**
   * The store could not read our message `number`: send each of its requests
   * again alone, then say so; a request that was already alone fails.
   * @param number - the lost message
   * @returns the error of a request that failed (for a blocked call waiting on it)
   */
  lost(number: number): KvbusError | undefined {
    if (number <= this.#redone) return undefined;
    this.#redone = number;
    const taken = this.#sent.take(number);
    let failed: KvbusError | undefined;
    if (taken) {
      const batch = taken[0];
      const alone = nextRequest(batch, REQUEST_HEADER) === batch.length;
      for (let at = REQUEST_HEADER; at < batch.length; ) {
        const next = nextRequest(batch, at);
        const seq = batch[at] as number;
        if (alone || !this.#resend(batch.slice(at, next), seq)) this.#fail(seq, (failed = unreadable(readRequest(batch, at)!)));
        at = next;
      }
    }
    this.#stream.post({ p: PROTOCOL, redone: number } satisfies ControlMessage);
    return failed;
  }

  /** Sends one request of a lost message again, alone; false when it cannot be posted. */
  #resend(request: unknown[], seq: number): boolean {
    const message = [RESENT_REQUESTS, this.#takeAck(), 0, ...request];
    try {
      this.#stream.post(message);
    } catch {
      return false;
    }
    this.#sent.add(message, seq);
    return true;
  }
}

function subject(cmd: Command): string {
  if ('key' in cmd) return `key ${JSON.stringify(cmd.key)}`;
  return 'channel' in cmd ? `channel ${JSON.stringify(cmd.channel)}` : `command ${cmd.type}`;
}

/** The error of a request the store received but could not read, even alone. */
function unreadable(cmd: Command): KvbusError {
  return new KvbusError(
    'ERR_NOT_CLONEABLE',
    `The store could not read the ${cmd.type} request for ${subject(cmd)}: its value is nested too deeply for the main thread to deserialize; send flatter data`,
  );
}

function notCloneable(cmd: Command, cause: unknown): KvbusError {
  return new KvbusError(
    'ERR_NOT_CLONEABLE',
    `The value for ${subject(cmd)} cannot be structured-cloned (${(cause as Error).message}); send plain data`,
    { cause },
  );
}
