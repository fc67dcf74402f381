// Transactions, fenced writes and getMany on Redis: one command each (the
// TRANSACTION script, or one MGET), so every observer sees all or nothing.
import { conflictError, describe, incrRangeError, KvbusError, lockLostError, notANumberError } from '../../errors.js';
import type { LockRef, TransactionOp } from '../../types.js';
import type { BackendSetOptions } from '../backend.js';
import type { Connection } from './connection.js';
import { type Codec, type Layout, NUMBER } from './layout.js';

/** What the TRANSACTION script answers: per op its revision, then each incr's new value. */
interface Applied {
  revisions: number[];
  numbers: number[];
}

/** Builds and runs the TRANSACTION script (see transaction-script.ts) and reads its reply. */
export class Transactions {
  readonly #connection: Connection;
  readonly #layout: Layout;
  readonly #codec: Codec;

  constructor(connection: Connection, layout: Layout, codec: Codec) {
    this.#connection = connection;
    this.#layout = layout;
    this.#codec = codec;
  }

  /** The values of `keys` (`undefined` where absent) from one MGET: one instant. */
  async getMany(keys: readonly string[]): Promise<unknown[]> {
    if (keys.length === 0) return [];
    const connection = this.#connection;
    const command = ['MGET', ...keys.map((key) => this.#layout.data(key))];
    const stored = (await connection.commands.sendCommand(command, connection.bufferOptions())) as Array<Buffer | null>;
    return stored.map((bytes) => {
      const entry = this.#codec.readStored(bytes ?? null);
      if (!entry) return undefined;
      connection.saw(entry.revision);
      return entry.value;
    });
  }

  /** `ops` all or none; per op its new revision (see Backend.transaction). */
  async transaction(ops: readonly TransactionOp[], fence: LockRef | undefined): Promise<number[]> {
    return (await this.#apply(ops, fence, false, 'transaction')).revisions;
  }

  /** A set that holds only while `options.fence` does. */
  async set(key: string, value: unknown, options: BackendSetOptions & { fence: LockRef }): Promise<number> {
    const op: TransactionOp = { op: 'set', key, value, ttlMs: options.ttlMs, ifRevision: options.ifRevision };
    const applied = await this.#apply([op], options.fence, options.keepTtl === true, `write to key ${JSON.stringify(key)}`);
    return applied.revisions[0]!;
  }

  /** A delete that holds only while `fence` does; true when it removed the key. */
  async delete(key: string, ifRevision: number | undefined, fence: LockRef): Promise<boolean> {
    const applied = await this.#apply([{ op: 'delete', key, ifRevision }], fence, false, `write to key ${JSON.stringify(key)}`);
    return applied.revisions[0]! > 0;
  }

  /** An incr that holds only while `fence` does; the new value. */
  async incr(key: string, by: number, fence: LockRef): Promise<number> {
    const applied = await this.#apply([{ op: 'incr', key, by }], fence, false, `write to key ${JSON.stringify(key)}`);
    return applied.numbers[0]!;
  }

  async #apply(ops: readonly TransactionOp[], fence: LockRef | undefined, keepTtl: boolean, what: string): Promise<Applied> {
    const layout = this.#layout;
    const keys = [layout.rev, fence ? layout.lock(fence.name) : layout.rev];
    const args: Array<string | Buffer> = [layout.historyCap, fence ? String(fence.token) : ''];
    for (const op of ops) {
      keys.push(layout.data(op.key));
      this.#encode(op, keepTtl, args);
    }
    let reply: unknown[];
    try {
      reply = (await this.#connection.script('TRANSACTION', keys, args)) as unknown[];
    } catch (error) {
      throw this.#failure(error, ops, fence, what);
    }
    const revisions = reply.slice(0, ops.length).map(Number);
    for (const revision of revisions) this.#connection.saw(revision);
    return { revisions, numbers: reply.slice(ops.length).map((text) => parseLuaNumber(String(text))) };
  }

  /** Appends one op's header and arguments (see transaction-script.ts). */
  #encode(op: TransactionOp, keepTtl: boolean, args: Array<string | Buffer>): void {
    switch (op.op) {
      case 'check':
        args.push('c', String(op.revision));
        return;
      case 'set': {
        const [t, bytes] = this.#codec.encode(op.value, op.key);
        let header = t === NUMBER ? 'sn' : 'sv';
        const extra: string[] = [];
        if (op.ttlMs !== undefined) {
          header += 'x';
          extra.push(String(Math.max(1, Math.ceil(op.ttlMs))));
        }
        if (op.ifRevision !== undefined) {
          header += 'r';
          extra.push(String(op.ifRevision));
        }
        if (keepTtl) header += 'k';
        args.push(header, bytes, ...extra);
        return;
      }
      case 'delete':
        if (op.ifRevision === undefined) args.push('d');
        else args.push('dr', String(op.ifRevision));
        return;
      case 'incr':
        args.push('i', String(op.by ?? 1));
        return;
      default:
        throw new KvbusError('ERR_BAD_ARGUMENT', `Unknown transaction op ${describe((op as { op: unknown }).op)}`);
    }
  }

  /** The script's refusal as kvbus's error, naming the key (or the lock) it failed on. */
  #failure(error: unknown, ops: readonly TransactionOp[], fence: LockRef | undefined, what: string): unknown {
    const message = error instanceof Error ? error.message : '';
    if (message.startsWith('KVBUS_FENCE') && fence) return lockLostError(fence.name, fence.token, what);
    const [code, index, detail] = message.split(' ');
    const op = ops[Number(index) - 1];
    if (!op) return error;
    switch (code) {
      case 'KVBUS_TXCONFLICT': {
        const expected = op.op === 'check' ? op.revision : op.op === 'incr' ? undefined : op.ifRevision;
        return conflictError(op.key, Number(detail), expected);
      }
      case 'KVBUS_TXTYPE':
        return notANumberError(op.key);
      case 'KVBUS_TXRANGE':
        return incrRangeError(op.key, parseLuaNumber(String(detail)), op.op === 'incr' ? (op.by ?? 1) : 0);
      default:
        return error;
    }
  }
}

/** A number as Lua's `%.17g` writes it (`inf`, `-inf`, `nan` included). */
export function parseLuaNumber(text: string): number {
  if (text === 'inf') return Infinity;
  if (text === '-inf') return -Infinity;
  return Number(text); // 'nan' and '-nan' read as NaN
}
