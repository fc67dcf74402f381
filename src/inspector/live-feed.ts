import type { ServerResponse } from 'node:http';
import type { ChangeEvent, MainStore, PatternMessage, PeerEvent, Store, StoreStats } from 'kvbus';
import type { Subscription } from 'rxjs';
import { encodeValue, PREVIEW_LIMITS } from './encode-value.js';

/** How many one-second samples the charts keep (five minutes). */
const SAMPLES = 300;
/** Change events sent per batch (100 ms); beyond that the page is told how many it missed. */
const CHANGES_PER_BATCH = 200;

/** One second of the store, as the charts plot it. */
interface Sample {
  t: number;
  commandsPerSec: number;
  queueDepth: number;
  dropped: number;
  stats: StoreStats;
  /** Messages per channel in this second. */
  channels: Record<string, number>;
}

/**
 * The Server-Sent Events side of the inspector. It subscribes to the store
 * (`changes('*')`, `pattern('*')`, `peers()`, a `stats()` sample each second)
 * only while at least one page is connected, so a store nobody looks at pays
 * nothing.
 */
export class LiveFeed {
  readonly #store: Store;
  readonly #clients = new Set<ServerResponse>();
  readonly #samples: Sample[] = [];
  readonly #peers = new Map<number, PeerEvent & { since: number }>();
  #subscriptions: Subscription[] = [];
  #timers: NodeJS.Timeout[] = [];
  #pendingChanges: unknown[] = [];
  #missedChanges = 0;
  #channelCounts: Record<string, number> = {};
  #lastCommands: number | undefined;

  /**
   * @param store - the store to watch
   */
  constructor(store: Store) {
    this.#store = store;
  }

  /** How many pages are connected. */
  get clients(): number {
    return this.#clients.size;
  }

  /**
   * Serves one page's event stream until it disconnects.
   * @param res - the response to stream on
   */
  add(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    this.#clients.add(res);
    res.on('close', () => this.#remove(res));
    if (this.#clients.size === 1) this.#start();
    send(res, 'hello', { samples: this.#samples, peers: [...this.#peers.values()] });
  }

  /** Ends every stream and unsubscribes from the store. */
  close(): void {
    for (const res of this.#clients) res.end();
    this.#clients.clear();
    this.#stop();
  }

  #remove(res: ServerResponse): void {
    if (!this.#clients.delete(res)) return;
    if (this.#clients.size === 0) this.#stop();
  }

  #start(): void {
    const store = this.#store;
    this.#subscriptions.push(
      store.changes('*').subscribe({ next: (change) => this.#onChange(change), error: () => {} }),
      store.pattern('*').subscribe({ next: (message) => this.#onMessage(message), error: () => {} }),
    );
    // peers() exists on a main-thread store only; elsewhere it errors, which just leaves the list empty.
    const peers = (store as Partial<MainStore>).peers?.();
    if (peers) this.#subscriptions.push(peers.subscribe({ next: (event) => this.#onPeer(event), error: () => {} }));
    this.#timers.push(
      setInterval(() => this.#flushChanges(), 100),
      setInterval(() => void this.#sample(), 1000),
    );
    void this.#sample();
  }

  #stop(): void {
    for (const subscription of this.#subscriptions) subscription.unsubscribe();
    for (const timer of this.#timers) clearInterval(timer);
    this.#subscriptions = [];
    this.#timers = [];
    this.#pendingChanges = [];
    this.#missedChanges = 0;
    this.#channelCounts = {};
    this.#lastCommands = undefined;
    this.#peers.clear();
  }

  #onChange(change: ChangeEvent): void {
    if (this.#pendingChanges.length >= CHANGES_PER_BATCH) {
      this.#missedChanges++;
      return;
    }
    const event: Record<string, unknown> = { type: change.type, key: change.key, revision: change.revision, t: Date.now() };
    if (change.type === 'set') event.value = encodeValue(change.value, PREVIEW_LIMITS);
    this.#pendingChanges.push(event);
  }

  #onMessage(message: PatternMessage): void {
    this.#channelCounts[message.channel] = (this.#channelCounts[message.channel] ?? 0) + 1;
  }

  #onPeer(event: PeerEvent): void {
    if (event.type === 'join') this.#peers.set(event.id, { ...event, since: Date.now() });
    else this.#peers.delete(event.id);
    this.#broadcast('peer', { ...event, t: Date.now() });
  }

  #flushChanges(): void {
    if (this.#pendingChanges.length === 0) return;
    this.#broadcast('changes', { events: this.#pendingChanges, missed: this.#missedChanges });
    this.#pendingChanges = [];
    this.#missedChanges = 0;
  }

  async #sample(): Promise<void> {
    let stats: StoreStats;
    try {
      stats = await this.#store.stats();
    } catch {
      return;
    }
    if (this.#clients.size === 0) return;
    const commandsPerSec = this.#lastCommands === undefined ? 0 : Math.max(0, stats.commands - this.#lastCommands);
    this.#lastCommands = stats.commands;
    const sample: Sample = {
      t: Date.now(),
      commandsPerSec,
      queueDepth: stats.queueDepth,
      dropped: stats.dropped,
      stats,
      channels: this.#channelCounts,
    };
    this.#channelCounts = {};
    this.#samples.push(sample);
    if (this.#samples.length > SAMPLES) this.#samples.shift();
    this.#broadcast('sample', sample);
    // The clients connected now, with their subscriptions and buffers (a main-thread store has the list).
    const list = (this.#store as Partial<MainStore>).clients;
    if (list) this.#broadcast('clients', await list.call(this.#store).catch(() => []));
  }

  #broadcast(event: string, data: unknown): void {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of this.#clients) res.write(frame);
  }
}

function send(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
