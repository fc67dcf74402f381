// The gets and sets of one tick, sent to Redis as one command at its end.
import { conflictError, isKvbusError } from '../../errors.js';
import type { Entry } from '../../types.js';
import type { BackendSetOptions } from '../backend.js';
import type { Connection } from './connection.js';
import { type Codec, type Layout, NUMBER } from './layout.js';
import { backendError } from './watchdog.js';

const GET_OP = 'g';
/** The BATCH script's modes: every set plain, or not. */
const PLAIN = 'p';
const GENERAL = 'x';
/** At most this many gets and sets per command, so that no script holds Redis for long. */
const MAX_BATCH = 128;

/** A get (`args` undefined) or a set waiting for the end of its tick. */
interface Queued {
  key: string;
  /** A set's arguments to the BATCH script (see {@link Batcher.set}). */
  args: Array<string | Buffer> | undefined;
  ifRevision: number | undefined;
  /** A get resolves to its entry, a set to its revision. */
  /** A get resolves to its entry, a set to its revision (one resolver type for both kinds of promise). */
  resolve: (result: never) => void;
  reject: (error: unknown) => void;
}

const inArray = <T>(value: T): T[] => [value];

/**
 * The gets and sets of one tick leave together at its end (see {@link Batcher.flush});
 * any other command sends them first, so commands still reach Redis in their order.
 */
export class Batcher {
  readonly #connection: Connection;
  readonly #layout: Layout;
  readonly #codec: Codec;
  /** The gets and sets of this tick, in their order (see #queue). */
  #batch: Queued[] = [];

  constructor(connection: Connection, layout: Layout, codec: Codec) {
    this.#connection = connection;
    this.#layout = layout;
    this.#codec = codec;
  }

  get(key: string): Promise<Entry | undefined> {
    return new Promise((resolve, reject) => this.#queue({ key, args: undefined, ifRevision: undefined, resolve, reject }));
  }

  set(key: string, value: unknown, { ttlMs, ifRevision, keepTtl }: BackendSetOptions): Promise<number> {
    // The BATCH script's arguments: a header `s<t><flags>`, the value, then what the flags announce.
    let args: Array<string | Buffer>;
    try {
      const [t, v] = this.#codec.encode(value, key);
      args = [t === NUMBER ? 'sn' : 'sv', v];
    } catch (error) {
      return Promise.reject(error);
    }
    if (ttlMs !== undefined || ifRevision !== undefined || keepTtl) {
      let flags = '';
      if (ttlMs !== undefined) {
        flags += 'x';
        args.push(String(Math.max(1, Math.ceil(ttlMs))));
      }
      if (ifRevision !== undefined) {
        flags += 'r';
        args.push(String(ifRevision));
      }
      if (keepTtl) flags += 'k';
      args[0] += flags;
    }
    return new Promise((resolve, reject) => this.#queue({ key, args, ifRevision, resolve, reject }));
  }

  #queue(op: Queued): void {
    if (this.#batch.push(op) === 1) process.nextTick(this.#flushTask);
  }

  readonly #flushTask = (): void => this.flush();

  /** Sends the gets and sets queued so far (nothing when none are). */
  flush(): void {
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    for (let start = 0; start < batch.length; start += MAX_BATCH) {
      const chunk = batch.length <= MAX_BATCH ? batch : batch.slice(start, start + MAX_BATCH);
      this.#connection
        .run(() => this.#send(chunk))
        .then(
          (results) => this.#settle(chunk, results),
          (error: unknown) => {
            for (const op of chunk) op.reject(error);
          },
        );
    }
  }

  /** One command for the chunk: GET or MGET when it only reads, else the BATCH script. */
  #send(chunk: Queued[]): Promise<unknown[]> {
    const connection = this.#connection;
    const options = connection.bufferOptions();
    const first = chunk[0]!;
    if (chunk.length === 1 && first.args === undefined) {
      return (connection.commands.sendCommand(['GET', this.#layout.data(first.key)], options) as Promise<Buffer | null>).then(inArray);
    }
    const keys = [this.#layout.rev];
    const args: Array<string | Buffer> = [PLAIN + this.#layout.historyCap];
    let reads = 0;
    for (const op of chunk) {
      keys.push(this.#layout.data(op.key));
      if (op.args === undefined) {
        args.push(GET_OP);
        reads++;
      } else {
        for (const arg of op.args) args.push(arg);
        if ((op.args[0] as string).length > 2) args[0] = GENERAL + this.#layout.historyCap; // flags: a TTL, a compare-and-set or keep-TTL (see set)
      }
    }
    if (reads === chunk.length) {
      keys[0] = 'MGET'; // in place of the revision counter, which only writes need
      return connection.commands.sendCommand(keys, options) as Promise<unknown[]>;
    }
    return connection.script('BATCH', keys, args, undefined, options) as Promise<unknown[]>;
  }

  #settle(chunk: Queued[], results: unknown[]): void {
    for (let i = 0; i < chunk.length; i++) {
      const op = chunk[i]!;
      const result = results[i];
      try {
        if (op.args === undefined) {
          const entry = this.#codec.readStored(result as Buffer | null);
          if (entry) this.#connection.saw(entry.revision);
          op.resolve(entry as never);
        } else if (typeof result === 'number') {
          op.resolve(this.#connection.saw(result) as never);
        } else {
          op.reject(conflictError(op.key, Number(String(result).slice(1)), op.ifRevision));
        }
      } catch (error) {
        // A value this serializer cannot read.
        op.reject(isKvbusError(error) ? error : backendError(error, `decode the value of key ${JSON.stringify(op.key)}`));
      }
    }
  }
}
