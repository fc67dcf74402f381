import type { BackendScan, MaybePromise } from '../backends/backend.js';
import type { Clock } from '../clock.js';
import type { Connection } from '../commands/connection.js';
import { KvbusError } from '../errors.js';

/** Scans one client may have open at once: enough for nested loops, not for a leak. */
export const MAX_SCANS_PER_CLIENT = 64;
/** A scan nobody asked a chunk of for this long is released (its consumer abandoned it). */
export const SCAN_IDLE_MS = 300_000;
/** The most entries one chunk answers, whatever `count` says: a chunk must stay short. */
export const MAX_SCAN_CHUNK = 65_536;
/** How many idle-released cursors a client remembers, to say why its next read fails. */
const REMEMBERED = 64;

interface OpenScan {
  readonly scan: BackendScan;
  lastUsed: number;
  /** A chunk is being read (an I/O backend): a second read of the same cursor waits for none. */
  reading: boolean;
}

interface ClientScans {
  lastId: number;
  readonly open: Map<number, OpenScan>;
  /** Cursors released for idleness, most recent last. */
  readonly idled: Set<number>;
}

/**
 * The scans the store's clients have open, each a backend cursor the actor
 * keeps between chunks. A scan is released when it completes, when its
 * consumer stops early (`scanClose`), when its client goes away, and after
 * {@link SCAN_IDLE_MS} without a read; a client may hold {@link MAX_SCANS_PER_CLIENT}.
 */
export class ScanCursors {
  readonly #clock: Clock;
  readonly #clients = new Map<Connection, ClientScans>();
  #timer: unknown = undefined;
  #open = 0;

  /** @param clock - the store's clock (idle time, and the sweep's timer) */
  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Scans open, across every client. */
  get size(): number {
    return this.#open;
  }

  /**
   * Reads the next chunk of a client's scan.
   * @param conn - the client
   * @param cursor - the scan, or 0 to open one with `open`
   * @param count - entries wanted (capped at {@link MAX_SCAN_CHUNK})
   * @param open - opens the backend's scan
   * @returns `[next cursor (0 once complete), key, value, key, value…]`
   */
  read(conn: Connection, cursor: number, count: number, open: () => BackendScan): MaybePromise<unknown[]> {
    let client = this.#clients.get(conn);
    let id = cursor;
    let entry: OpenScan | undefined;
    if (cursor === 0) {
      if (client && client.open.size >= MAX_SCANS_PER_CLIENT) {
        throw new KvbusError(
          'ERR_BAD_ARGUMENT',
          `This client has ${MAX_SCANS_PER_CLIENT} scans open: finish them or break out of their loops (a scan left unread is released after ${SCAN_IDLE_MS / 1000} s)`,
        );
      }
      if (!client) this.#clients.set(conn, (client = { lastId: 0, open: new Map(), idled: new Set() }));
      id = ++client.lastId;
      entry = { scan: open(), lastUsed: 0, reading: false };
      client.open.set(id, entry);
      this.#open++;
      this.#arm();
    } else {
      entry = client?.open.get(cursor);
      if (!entry) throw unknownCursor(cursor, client?.idled.has(cursor) === true);
      if (entry.reading) {
        throw new KvbusError('ERR_BAD_ARGUMENT', `Scan cursor ${cursor} is being read: ask for its next chunk once the previous one came`);
      }
    }
    const scans = client!;
    const state = entry;
    state.lastUsed = this.#clock.now();
    const out: unknown[] = [id];
    let done: MaybePromise<boolean>;
    try {
      done = state.scan.next(Math.min(count, MAX_SCAN_CHUNK), out);
    } catch (error) {
      this.#release(scans, id);
      throw error;
    }
    if (typeof done === 'boolean') return this.#answer(scans, id, done, out);
    state.reading = true;
    return done.then(
      (complete) => {
        state.reading = false;
        state.lastUsed = this.#clock.now();
        return this.#answer(scans, id, complete, out);
      },
      (error: unknown) => {
        this.#release(scans, id);
        throw error;
      },
    );
  }

  /**
   * Releases a scan before its end.
   * @returns true when it was open
   */
  close(conn: Connection, cursor: number): boolean {
    const client = this.#clients.get(conn);
    return client !== undefined && this.#release(client, cursor);
  }

  /** Releases every scan of a client that went away. */
  release(conn: Connection): void {
    const client = this.#clients.get(conn);
    if (!client) return;
    this.#clients.delete(conn);
    for (const id of [...client.open.keys()]) this.#release(client, id);
  }

  /** Releases every scan (the store closes). */
  clear(): void {
    for (const conn of [...this.#clients.keys()]) this.release(conn);
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #answer(client: ClientScans, id: number, complete: boolean, out: unknown[]): unknown[] {
    if (complete) {
      this.#release(client, id);
      out[0] = 0;
    }
    return out;
  }

  #release(client: ClientScans, id: number): boolean {
    const entry = client.open.get(id);
    if (!entry) return false;
    client.open.delete(id);
    this.#open--;
    entry.scan.close();
    return true;
  }

  /** One timer for every scan: it sweeps the idle ones, and re-arms while any is open. */
  #arm(): void {
    if (this.#timer !== undefined || this.#open === 0) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#sweep();
      this.#arm();
    }, SCAN_IDLE_MS);
  }

  #sweep(): void {
    const before = this.#clock.now() - SCAN_IDLE_MS;
    for (const client of this.#clients.values()) {
      for (const [id, entry] of client.open) {
        if (entry.reading || entry.lastUsed > before) continue;
        this.#release(client, id);
        client.idled.add(id);
        if (client.idled.size > REMEMBERED) client.idled.delete(client.idled.values().next().value!);
      }
    }
  }
}

function unknownCursor(cursor: number, idled: boolean): KvbusError {
  return idled
    ? new KvbusError(
        'ERR_TIMEOUT',
        `Scan cursor ${cursor} was released after ${SCAN_IDLE_MS / 1000} s without a read: start a new scan (it may return keys the first one already did)`,
      )
    : new KvbusError('ERR_BAD_ARGUMENT', `Scan cursor ${cursor} is not open: it completed or was closed; start a new scan`);
}
