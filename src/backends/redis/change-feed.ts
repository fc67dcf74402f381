// The change events this process emits, exactly once and in revision order
// across lost connections. Live events come by pub/sub (at-most-once: what is
// published while the subscriber connection is down is gone). With history on,
// the feed remembers the last revision it emitted; when the connection drops it
// holds what it hears, and once node-redis has resubscribed it reads the
// history stream from that revision, then emits the stream's events and the
// held ones merged by revision, each once. A live event that skips revisions
// (one heard after a drop the feed has not been told of yet) starts the same
// catch-up. What neither the stream nor pub/sub holds any more (the outage
// outlasted history, or a process without history wrote meanwhile) is
// reported as lost, never skipped silently (see {@link ChangeFeed.onLost}).
import { debug } from '../../debug.js';
import type { KeyChange } from '../../types.js';
import type { Connection } from './connection.js';
import type { History, HistoryPage } from './history.js';
import type { Layout } from './layout.js';

/** How long a catch-up waits before it tries the stream again after a failed read. */
const RETRY_MS = 100;

/** Feeds the change events heard on Redis to the store, resuming from the stream after a reconnect. */
export class ChangeFeed {
  readonly #connection: Connection;
  readonly #layout: Layout;
  readonly #history: History;
  readonly #enabled: boolean;
  #emit: (change: KeyChange) => void = () => {};
  /**
   * Called with the revisions a resume could not find, `after` (the last one
   * emitted) and `oldest` (the first one emitted after the loss).
   */
  onLost: (after: number, oldest: number) => void = () => {};
  #active = false;
  /** The counter before the subscription: where a resume starts when nothing was emitted yet. */
  #baseline = 0;
  #last: number | undefined;
  /** Live events heard while a catch-up runs (or while the connection is down), else undefined. */
  #held: KeyChange[] | undefined;
  #catchingUp = false;
  /** The connection dropped again while a catch-up ran: read the stream again before finishing. */
  #again = false;
  /** The subscriber connection is down: hold events until it is back and resubscribed. */
  #down = false;
  /** Bumped by {@link ChangeFeed.stop}, so that a catch-up of an earlier subscription ends. */
  #epoch = 0;

  constructor(connection: Connection, layout: Layout, history: History, enabled: boolean) {
    this.#connection = connection;
    this.#layout = layout;
    this.#history = history;
    this.#enabled = enabled;
  }

  /** Where emitted events go (the store's context). */
  serve(emit: (change: KeyChange) => void): void {
    this.#emit = emit;
  }

  /** Before subscribing: the counter now is where a resume starts while nothing has been emitted. */
  async start(): Promise<void> {
    this.#epoch++;
    this.#last = undefined;
    this.#held = undefined;
    this.#down = false;
    this.#catchingUp = false; // a catch-up of an earlier subscription ends at its next step (its epoch is gone)
    if (!this.#enabled) return;
    const connection = this.#connection;
    this.#baseline = Number((await connection.commands.sendCommand(['GET', this.#layout.rev], connection.commandOptions())) ?? 0);
    this.#active = true;
  }

  /** After unsubscribing. */
  stop(): void {
    this.#epoch++;
    this.#active = false;
    this.#held = undefined;
  }

  /** A change event heard on the changes channel. */
  heard(change: KeyChange): void {
    if (!this.#active) {
      this.#deliver(change);
      return;
    }
    if (this.#held) {
      this.#held.push(change);
      return;
    }
    // Before the first emit, the counter read before SUBSCRIBE: what was published between that
    // read and the subscription taking effect was not heard, and must be read from the stream.
    const last = this.#last ?? this.#baseline;
    if (change.revision <= last) return; // emitted already, by a catch-up (or before the baseline)
    if (change.revision > last + 1) {
      // Revisions went by unheard: the subscription took effect late, or the connection dropped
      // and came back before 'ready' told us.
      this.#held = [change];
      if (this.#catchingUp) this.#again = true;
      else void this.#catchUp();
      return;
    }
    this.#deliver(change);
  }

  /** The subscriber connection failed: what is published until it is back is lost to pub/sub. */
  dropped(): void {
    if (!this.#active) return;
    this.#down = true;
    this.#held ??= [];
  }

  /** node-redis reconnected and resubscribed (its 'ready' comes after the resubscription is confirmed). */
  reconnected(): void {
    if (!this.#active) return;
    this.#down = false;
    this.#held ??= [];
    if (this.#catchingUp) this.#again = true;
    else void this.#catchUp();
  }

  #deliver(change: KeyChange): void {
    this.#last = change.revision;
    this.#connection.saw(change.revision);
    this.#emit(change);
  }

  async #catchUp(): Promise<void> {
    const epoch = this.#epoch;
    this.#catchingUp = true;
    try {
      for (;;) {
        this.#again = false;
        let page: HistoryPage;
        try {
          page = await this.#history.read(this.#last ?? this.#baseline);
        } catch (error) {
          if (debug.enabled) debug('redis: reading the history stream to resume failed (%s); trying again', (error as Error)?.message);
          // Unref'd: a retry alone must not keep the process alive (close() stops the loop too).
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
          // While the subscriber is down, its reconnection starts the next catch-up; else (only the
          // command connection failed) try again.
          if (epoch !== this.#epoch || this.#down) return;
          continue;
        }
        if (epoch !== this.#epoch) return;
        const newer = this.#merge(page);
        if (page.more || this.#again || newer || this.#down) {
          if (this.#down) return; // reconnected() starts the next one
          continue;
        }
        const last = this.#last ?? this.#baseline;
        if (last < page.current) this.#lose(last, page.current + 1);
        this.#held = undefined;
        return;
      }
    } finally {
      if (epoch === this.#epoch) this.#catchingUp = false;
    }
  }

  /**
   * Emits the page's events and the held ones, merged by revision, each once.
   * A revision missing up to the page's counter is lost; held events past a
   * missing revision above it stay held for another read (returns true).
   * A page that stopped at its count (`more`) says nothing past its last
   * event: held events past it stay held until a later read covers them.
   */
  #merge(page: HistoryPage): boolean {
    const candidates = page.changes.concat(this.#held ?? []).sort((a, b) => a.revision - b.revision);
    this.#held = [];
    let last = this.#last ?? this.#baseline;
    const end = page.more ? (page.changes.at(-1)?.revision ?? last) : Number.POSITIVE_INFINITY;
    for (let i = 0; i < candidates.length; i++) {
      const change = candidates[i]!;
      if (change.revision <= last) continue;
      if (change.revision > end) {
        // Past the page: the next read holds the revisions before it, or proves them lost.
        this.#held = candidates.slice(i);
        return true;
      }
      if (change.revision > last + 1) {
        if (change.revision > page.current) {
          // Written after the read: read again, which will hold it or prove it lost.
          this.#held = candidates.slice(i);
          return true;
        }
        this.#lose(last, change.revision);
      }
      this.#deliver(change);
      last = change.revision;
    }
    return false;
  }

  #lose(after: number, oldest: number): void {
    if (debug.enabled) debug('redis: changes %d to %d are in neither the history stream nor pub/sub: lost', after + 1, oldest - 1);
    this.#last = oldest - 1;
    this.onLost(after, oldest);
  }
}
