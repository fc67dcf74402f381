import type { Session } from '../../commands/gate.js';
import type { AnySpec, Command } from '../../commands/table.js';
import { KvbusError } from '../../errors.js';
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

  /** One request message, whole and in order. */
  readonly take = (raw: unknown[]): void => {
    this.#sync?.batch(raw[2]);
    readBatch(raw, this.#request, this.#unframed);
  };

  readonly #request = (seq: number, cmd: Command, spec: AnySpec): void => {
    this.#sync?.note(seq);
    // A command with fields of the wrong shape gets its error reply from the actor.
    this.#session.send(seq, cmd, spec);
  };

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
