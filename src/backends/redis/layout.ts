// Where the Redis backend keeps a store's state, and how values become the
// strings it stores there. The layout itself is described in scripts.ts: the
// Lua scripts read and write the same names and the same `<t><revision>|<value>`
// strings as this module.

import { KvbusError } from '../../errors.js';
import { escapeGlob } from '../../glob.js';
import type { Entry, KeyChange } from '../../types.js';
import type { Serializer } from './serializer.js';

const BAR = 0x7c; // '|', between a stored value's revision and its bytes
const ZERO = 0x30;
/** The type of a number, stored as text (see {@link Codec.encode}). */
export const NUMBER = 'n';
const NUMBER_BYTE = 0x6e;
/** The type of any other value, stored as the serializer's bytes. */
const SERIALIZED = 'v';

/**
 * The Redis names of one store's keys and channels, for a namespace `ns`:
 * `ns:k:<key>` its data, `ns:t:<key>` its TTL mark, `ns:rev` the revision
 * counter, `ns:changes` the change events, `ns:history` the Redis Stream that
 * keeps them (see history-scripts.ts), `ns:c:<channel>` its channels,
 * and the locks' keys and channel (see lock-scripts.ts). Empty until the backend opens and knows its namespace (see {@link Layout.use}).
 */
export class Layout {
  /**
   * `maxEvents` of `history`, as the write scripts take it: the cap of the
   * stream (`'0'`: this process appends nothing to it).
   */
  readonly historyCap: string;
  #history = '';
  /** `ns:`, the start of every name of this store. */
  #prefix = '';
  /** `ns:` with its glob characters escaped, for SCAN MATCH and PSUBSCRIBE. */
  #globPrefix = '';
  #rev = '';
  #changes = '';
  #lockToken = '';
  #lockWake = '';

  /** @param maxEvents - the `history` option's, validated (see history.ts) */
  constructor(maxEvents = 0) {
    this.historyCap = String(maxEvents);
  }

  /** Derives every name from the store's namespace. */
  use(namespace: string): void {
    // `%` and `:` are encoded so that one namespace's keys never fall under another's prefix.
    const ns = namespace.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'));
    this.#prefix = `${ns}:`;
    this.#globPrefix = `${escapeGlob(ns)}:`;
    this.#rev = `${ns}:rev`;
    this.#changes = `${ns}:changes`;
    this.#history = `${ns}:history`;
    this.#lockToken = `${ns}:ltoken`;
    this.#lockWake = `${ns}:locks`;
  }

  /** `ns:l:<name>`, a held lock: its token, with the lease as PX (see locks.ts). */
  lock(name: string): string {
    return `${this.#prefix}l:${name}`;
  }

  /** `ns:lq:<name>`, the waiters for a lock: a sorted set of waiter ids by arrival. */
  lockQueue(name: string): string {
    return `${this.#prefix}lq:${name}`;
  }

  /** `ns:lw:<waiter id>`, present (PX) while that waiter is alive; `ns:lw:` alone is the prefix. */
  lockWaiter(id: string): string {
    return `${this.#prefix}lw:${id}`;
  }

  /** `ns:ltoken`, the counter of fencing tokens (one for every lock of the namespace). */
  get lockToken(): string {
    return this.#lockToken;
  }

  /** `ns:locks`, the channel that carries the name of a lock when waiters should try again. */
  get lockWake(): string {
    return this.#lockWake;
  }

  /** `ns:rev`, the revision counter. */
  get rev(): string {
    return this.#rev;
  }

  /** `ns:changes`, the channel of the change events. */
  get changes(): string {
    return this.#changes;
  }

  /** `ns:history`, the Redis Stream of the change events, each with the ID `<revision>-0`. */
  get history(): string {
    return this.#history;
  }

  /** The Redis key that holds `key`'s value. */
  data(key: string): string {
    return `${this.#prefix}k:${key}`;
  }

  /** The Redis key that marks `key` as having a TTL. */
  ttlMark(key: string): string {
    return `${this.#prefix}t:${key}`;
  }

  /** The Redis channel of a kvbus channel. */
  channel(name: string): string {
    return `${this.#prefix}c:${name}`;
  }

  /** A SCAN MATCH glob of the data keys whose key matches `pattern`. */
  dataGlob(pattern: string): string {
    return `${this.#globPrefix}k:${pattern}`;
  }

  /** A SCAN MATCH glob of the TTL marks of the keys that match `pattern`. */
  ttlMarkGlob(pattern: string): string {
    return `${this.#globPrefix}t:${pattern}`;
  }

  /** A PSUBSCRIBE glob of the Redis channels of the kvbus channels that match `pattern`. */
  channelGlob(pattern: string): string {
    return `${this.#globPrefix}c:${pattern}`;
  }
}

/** Turns values into what Redis stores and publishes, and back, with the store's serializer. */
export class Codec {
  readonly #serializer: Serializer;

  constructor(serializer: Serializer) {
    this.#serializer = serializer;
  }

  /** A value as its type (NUMBER or SERIALIZED) and its bytes; throws `ERR_NOT_CLONEABLE` naming `key`. */
  encode(value: unknown, key: string): [string, string | Buffer] {
    // Numbers are stored as text so that INCR can do its arithmetic in Lua
    // (whose strtod reads NaN, Infinity and -0 as JavaScript writes them).
    if (typeof value === 'number') return [NUMBER, Object.is(value, -0) ? '-0' : String(value)];
    return [SERIALIZED, serialize(this.#serializer, value, 'key', key)];
  }

  /** Reads the value that starts at `start`, of type `t` (the byte of NUMBER or SERIALIZED). */
  decode(t: number, bytes: Buffer, start: number): unknown {
    return t === NUMBER_BYTE ? parseNumber(bytes.toString('latin1', start)) : this.#serializer.decode(bytes.subarray(start));
  }

  /** Reads `<t><revision>|<value>` (see scripts.ts). */
  readStored(stored: Buffer | null): Entry | undefined {
    if (!stored) return undefined;
    // The revision's digits, read in place: this runs for every get.
    let revision = 0;
    let at = 1;
    for (; at < stored.length && stored[at] !== BAR; at++) revision = revision * 10 + (stored[at]! - ZERO);
    return { value: this.decode(stored[0]!, stored, at + 1), revision };
  }

  /** Reads a change event, `op \n revision \n byte length of key \n key [t v]` (see scripts.ts). */
  parseChange(message: Buffer): KeyChange | undefined {
    const first = message.indexOf(10);
    const second = message.indexOf(10, first + 1);
    const third = message.indexOf(10, second + 1);
    if (first < 0 || second < 0 || third < 0) return undefined;
    const op = message.toString('latin1', 0, first);
    const revision = Number(message.toString('latin1', first + 1, second));
    const keyLength = Number(message.toString('latin1', second + 1, third));
    const keyEnd = third + 1 + keyLength;
    const key = message.toString('utf8', third + 1, keyEnd);
    switch (op) {
      case 's': {
        return { type: 'set', key, value: this.decode(message[keyEnd]!, message, keyEnd + 1), revision };
      }
      case 'd':
        return { type: 'delete', key, revision };
      case 'e':
        return { type: 'expire', key, revision };
      case 'c':
        return { type: 'clear', key: '*', revision };
      default:
        return undefined;
    }
  }

  /** A message published on `channel`, as bytes; throws `ERR_NOT_CLONEABLE` naming the channel. */
  encodeMessage(data: unknown, channel: string): Buffer | string {
    return serialize(this.#serializer, data, 'channel', channel);
  }

  /** A published message, from its bytes. */
  decodeMessage(bytes: Buffer): unknown {
    return this.#serializer.decode(bytes);
  }
}

/** Encodes a value, or throws `ERR_NOT_CLONEABLE` naming what it was for. */
function serialize(serializer: Serializer, value: unknown, label: string, name: string): Buffer | string {
  try {
    return serializer.encode(value);
  } catch (cause) {
    throw new KvbusError(
      'ERR_NOT_CLONEABLE',
      `The value for ${label} ${JSON.stringify(name)} cannot be serialized (${(cause as Error).message}); store plain data`,
      { cause },
    );
  }
}

/** Reads a number stored as text, including what Lua's `%.17g` writes for NaN and infinities. */
function parseNumber(text: string): number {
  switch (text) {
    case 'inf':
      return Infinity;
    case '-inf':
      return -Infinity;
    case 'nan':
    case '-nan':
      return NaN;
    default:
      return Number(text);
  }
}
