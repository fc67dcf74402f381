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
    if (!isRead(cmd)) return this.#cache.known ? this.#link.request(cmd, spec) : this.#learn(this.#link.request(cmd, spec));
    const cache = this.#cache;
    const { type, key } = cmd;
    // Only wanted keys are kept: a hit needs no glob test.
    const entry = cache.hit(key);
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
    if (!isRead(cmd)) return this.#cache.known ? this.#link.requestSync(cmd, spec) : this.#learnSync(cmd, spec);
    const cache = this.#cache;
    const { type, key } = cmd;
    const entry = cache.hit(key);
    if (entry !== undefined) return answer(type, entry.present, entry.value, entry.revision);
    if (!this.#cached(key)) return cache.known ? this.#link.requestSync(cmd, spec) : this.#learnSync(cmd, spec);
    cache.missed();
    const ticket = cache.ticket(key);
    const reply = this.#link.requestSync({ type: 'cache.fill', key }, fill) as FillReply;
    cache.install(key, ticket, reply);
    return answerOfFill(type, reply);
  }

  subscribe(topic: Topic, handlers: SubscriptionHandlers): () => void {
    return this.#link.subscribe(topic, handlers);
  }

  close(): Promise<void> {
    return this.#link.close();
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
