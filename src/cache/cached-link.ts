import { type FillReply, fill } from '../commands/cache.js';
import type { Link, SubscriptionHandlers } from '../commands/link.js';
import type { AnySpec, Command } from '../commands/table.js';
import type { StoreStats, Topic } from '../types.js';
import type { ClientCache } from './client-cache.js';

/** The link a cached link wraps: a remote link, which may block (workers). */
export interface InnerLink extends Link {
  requestSync(cmd: Command, spec?: AnySpec): unknown;
}

type Read = 'kv.get' | 'kv.getEntry' | 'kv.has';

const copy = (value: unknown): unknown => (typeof value === 'object' && value !== null ? structuredClone(value) : value);

/** What a read answers, from a kept entry or a fill (a copy: the caller may change it). */
function answer(type: Read, present: boolean, value: unknown, revision: number): unknown {
  if (type === 'kv.has') return present;
  if (!present) return undefined;
  return type === 'kv.get' ? copy(value) : { value: copy(value), revision };
}

function isRead(cmd: Command): cmd is Extract<Command, { type: Read }> {
  const type = cmd.type;
  return type === 'kv.get' || type === 'kv.getEntry' || type === 'kv.has';
}

/** The key a write of one key changes (`update` sends `kv.set`/`kv.delete`), or undefined. */
function writtenKey(cmd: Command): string | undefined {
  if (cmd.type === 'kv.set' || cmd.type === 'kv.delete' || cmd.type === 'kv.incr' || cmd.type === 'kv.apply') return cmd.key;
  return undefined;
}

/** Writes that may change any key. */
function writesMany(cmd: Command): boolean {
  return cmd.type === 'kv.transaction' || cmd.type === 'kv.clear';
}

/**
 * @internal A worker's or child's link with a near cache in front: `get`,
 * `getEntry` and `has` of a kept key are answered here, with no message; a
 * miss sends a fill (one command for all three reads) and keeps its answer
 * when nothing changed meanwhile. Everything else goes to the link as it is.
 */
export class CachedLink implements Link {
  readonly #link: InnerLink;
  readonly #cache: ClientCache;
  readonly #poll: () => void;
  /**
   * Writes sent and not answered yet, per key. Until the store applies one, nothing
   * bumps its stamp (nor invalidates a child's entry), so a hit would overtake the
   * client's own write (SPEC §2: one client's commands apply in issue order).
   */
  readonly #pending = new Map<string, number>();
  /** Multi-key writes (transaction, clear) sent and not answered yet: every key may change. */
  #pendingMany = 0;

  /**
   * @param link - the link to the store
   * @param cache - the near cache
   * @param poll - looks for the cache's settings when they are not known yet (a worker's sync port)
   */
  constructor(link: InnerLink, cache: ClientCache, poll: () => void = () => {}) {
    this.#link = link;
    this.#cache = cache;
    this.#poll = poll;
  }

  request(cmd: Command, spec?: AnySpec): Promise<unknown> {
    // stats() called here adds this client's cache counters (SPEC §7).
    if (cmd.type === 'sys.stats') return this.#withCacheStats(this.#link.request(cmd, spec));
    if (!isRead(cmd)) return this.#write(cmd, spec);
    const cache = this.#cache;
    const { type, key } = cmd;
    // Only wanted keys are kept: a hit needs no glob test.
    const entry = this.hit(key);
    if (entry !== undefined) return Promise.resolve(answer(type, entry.present, entry.value, entry.revision));
    if (!this.#cached(key)) return cache.known ? this.#link.request(cmd, spec) : this.#learn(this.#link.request(cmd, spec));
    cache.missed();
    const ticket = cache.ticket(key);
    return this.#link.request({ type: 'cache.fill', key }, fill).then((reply) => {
      cache.install(key, ticket, reply as FillReply);
      return answerOfFill(type, reply as FillReply);
    });
  }

  /**
   * Sends a command and blocks until it is answered (`store.sync`); a kept key is answered at once.
   * @param cmd - the command
   * @param spec - its descriptor
   * @returns the answer
   */
  requestSync(cmd: Command, spec?: AnySpec): unknown {
    // A blocking write is answered before this returns: nothing stays pending.
    if (!isRead(cmd)) return this.#cache.known ? this.#link.requestSync(cmd, spec) : this.#learnSync(cmd, spec);
    const cache = this.#cache;
    const { type, key } = cmd;
    const entry = this.hit(key);
    if (entry !== undefined) return answer(type, entry.present, entry.value, entry.revision);
    if (!this.#cached(key)) return cache.known ? this.#link.requestSync(cmd, spec) : this.#learnSync(cmd, spec);
    cache.missed();
    const ticket = cache.ticket(key);
    const reply = this.#link.requestSync({ type: 'cache.fill', key }, fill) as FillReply;
    cache.install(key, ticket, reply);
    return answerOfFill(type, reply);
  }

  /**
   * The cache's current entry of a key, unless a write of this client that may
   * change it is still unanswered: the read must then go to the store, behind
   * that write on the same channel (a fill, whose ticket is taken now, before the
   * write applies, so its answer is not kept in a worker; a child keeps it only
   * if no invalidation came meanwhile).
   * @param key - the key
   * @returns the entry, or undefined (a miss)
   */
  hit(key: string): ReturnType<ClientCache['hit']> {
    if (this.#pendingMany > 0 || (this.#pending.size > 0 && this.#pending.has(key))) return undefined;
    return this.#cache.hit(key);
  }

  subscribe(topic: Topic, handlers: SubscriptionHandlers): () => void {
    return this.#link.subscribe(topic, handlers);
  }

  close(): Promise<void> {
    return this.#link.close();
  }

  /** Sends a write, noting it as pending (for the keys it may change) until it is answered. */
  #write(cmd: Command, spec: AnySpec | undefined): Promise<unknown> {
    const sent = this.#cache.known ? this.#link.request(cmd, spec) : this.#learn(this.#link.request(cmd, spec));
    // Only a key kept before the write can be hit (a fill sent after it is applied after it):
    // writes of keys no glob matches, and every write of a client without a cache, cost nothing here.
    const key = writtenKey(cmd);
    if (key !== undefined && this.#cache.wants(key)) {
      const pending = this.#pending;
      pending.set(key, (pending.get(key) ?? 0) + 1);
      // Handlers attached before the caller gets the promise run before the caller's own.
      const done = (): void => {
        const left = pending.get(key)! - 1;
        if (left === 0) pending.delete(key);
        else pending.set(key, left);
      };
      sent.then(done, done);
    } else if (key === undefined && this.#cache.on && writesMany(cmd)) {
      this.#pendingMany++;
      const done = (): void => {
        this.#pendingMany--;
      };
      sent.then(done, done);
    }
    return sent;
  }

  #withCacheStats(answer: Promise<unknown>): Promise<unknown> {
    return this.#learn(answer).then((stats) => {
      const cache = this.#cache.stats();
      return cache ? { ...(stats as StoreStats), cache } : stats;
    });
  }

  /**
   * The store tells a client its cache's settings before it answers anything (a
   * child's on the same stream, a worker's on its sync port, posted first): once
   * an answer came and no settings did, this client has no cache.
   */
  #learn(answer: Promise<unknown>): Promise<unknown> {
    return answer.then(
      (value) => {
        this.#conclude();
        return value;
      },
      (error: unknown) => {
        this.#conclude();
        throw error;
      },
    );
  }

  #learnSync(cmd: Command, spec: AnySpec | undefined): unknown {
    try {
      return this.#link.requestSync(cmd, spec);
    } finally {
      this.#conclude();
    }
  }

  #conclude(): void {
    this.#poll();
    if (!this.#cache.known) this.#cache.configure(null);
  }

  #cached(key: string): boolean {
    if (!this.#cache.known) this.#poll();
    return this.#cache.wants(key);
  }
}

function answerOfFill(type: Read, reply: FillReply): unknown {
  // The reply crossed a thread: a copy of its own. The cache keeps it, so the caller gets another.
  return reply[0] === 0 ? answer(type, false, undefined, 0) : answer(type, true, reply[1], reply[2]);
}
