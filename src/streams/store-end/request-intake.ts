import { DECODED } from '../../clone.js';
import type { Session } from '../../commands/gate.js';
import type { AnySpec, Command } from '../../commands/table.js';
import { KvbusError } from '../../errors.js';
import { decodeValue, ENCODED_VALUE } from '../protocol/encoded-value.js';
import { readBatch } from '../protocol/requests.js';
import type { SyncPort } from './sync-reply.js';

/**
 * Turns a client's request messages, in the order they arrived, into commands
 * for the actor: each request is sent with its descriptor (the one its opcode
 * names), a worker's blocking call is noted so its answer goes to the sync port,
 * and a batch that cannot be framed past some point answers the request it
 * stopped at and stops.
 */
export class RequestIntake {
  readonly #session: Session;
  readonly #sync: SyncPort | undefined;
  readonly #reply: (seq: number, ok: boolean, value: unknown) => void;

  /**
   * @param session - the actor's side of this client
   * @param sync - a worker's sync port, whose blocking calls are in the batches
   * @param reply - answers a request (through the connection's outbox)
   */
  constructor(session: Session, sync: SyncPort | undefined, reply: (seq: number, ok: boolean, value: unknown) => void) {
    this.#session = session;
    this.#sync = sync;
    this.#reply = reply;
  }

  /** The message being read says its first request is a set whose value is bytes (see encoded-value.ts). */
  #encoded = false;

  /** One request message, whole and in order. */
  readonly take = (raw: unknown[]): void => {
    this.#sync?.batch(raw[2]);
    this.#encoded = raw[2] === ENCODED_VALUE;
    readBatch(raw, this.#request, this.#unframed);
  };

  readonly #request = (seq: number, cmd: Command, spec: AnySpec): void => {
    this.#sync?.note(seq);
    if (this.#encoded) {
      this.#encoded = false;
      if (cmd.type === 'kv.set' && !this.#decode(seq, cmd)) return;
    }
    // A command with fields of the wrong shape gets its error reply from the actor.
    this.#session.send(seq, cmd, spec);
  };

  /**
   * Replaces a set's value bytes by the value, marked {@link DECODED} (made here,
   * it holds no shared memory); bytes that do not decode fail the request.
   * @returns false when the request was answered with an error
   */
  #decode(seq: number, cmd: Command & { type: 'kv.set' }): boolean {
    try {
      cmd.value = decodeValue(cmd.value);
    } catch (cause) {
      const message = `The store could not read the value for key ${JSON.stringify(cmd.key)} (${(cause as Error)?.message}); send plain data`;
      this.#reply(seq, false, new KvbusError('ERR_NOT_CLONEABLE', message, { cause }));
      return false;
    }
    (cmd as { [DECODED]?: true })[DECODED] = true;
    return true;
  }

  /** The rest of the batch cannot be framed: answer this request if it has a seq, and stop. */
  readonly #unframed = (seq: number | undefined, opcode: unknown): void => {
    this.#session.malformed();
    if (seq === undefined) return;
    this.#reply(
      seq,
      false,
      new KvbusError('ERR_BAD_ARGUMENT', `Unknown opcode ${String(opcode)}: this client speaks another kvbus protocol`),
    );
  };
}
