// Locks of the Redis backend, at the Backend level: several backends on one
// Redis stand for several processes, and real child processes (each with its
// own backend) hold, wait and die.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, expect, it } from 'vitest';
import { type Backend, createStore } from '../../src/index.js';
import { testContext } from '../helpers/backend-context.js';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { useStores } from '../helpers/use-stores.js';
import { sleep, WAIT_MS, waitUntil } from '../helpers/wait.js';

/** What a child process runs: its own backend, one acquire of a lock, then it stays until killed. */
const CHILD = `
import { redisBackend } from 'kvbus/redis';
const [url, namespace, name, ttl, mode] = process.argv.slice(1);
const backend = redisBackend({ url });
const none = () => {};
await backend.open({ namespace, clock: { now: Date.now, setTimeout, clearTimeout }, emitChange: none, emitMessage: () => 0,
  emitChannelMessage: none, emitPatternMessage: none, watchingKeys: false, invalidated: none, requestExpiry: none });
const say = (line) => process.stdout.write(line + '\\n');
await backend.locks.acquire({ name, ttlMs: Number(ttl), grant: (token) => {
  say('granted ' + token);
  if (mode === 'release') setTimeout(() => backend.locks.release(name, token).then((done) => say('released ' + done)), 50);
} });
say('queued');
setInterval(none, 1000);
`;

/** A child process with its own backend on the shared Redis (see CHILD). */
class Child {
  readonly process: ChildProcess;
  readonly lines: string[] = [];
  #output = '';

  constructor(url: string, namespace: string, name: string, ttlMs: number, mode: 'hold' | 'release') {
    this.process = spawn(process.execPath, ['--input-type=module', '-e', CHILD, url, namespace, name, String(ttlMs), mode], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.process.stdout!.on('data', (chunk) => {
      this.#output += String(chunk);
      const parts = this.#output.split('\n');
      this.#output = parts.pop()!;
      this.lines.push(...parts);
    });
    this.process.stderr!.on('data', (chunk) => this.lines.push(`stderr: ${String(chunk)}`));
  }

  /** Waits for a line that starts with `prefix`; resolves to the rest of it. */
  async line(prefix: string, ms = WAIT_MS): Promise<string> {
    await waitUntil(
      () => this.lines.some((line) => line.startsWith(prefix)),
      `the child's "${prefix}" (it said: ${this.lines.join(' | ')})`,
      ms,
      5,
    );
    return this.lines
      .find((line) => line.startsWith(prefix))!
      .slice(prefix.length)
      .trim();
  }

  kill(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.process.once('exit', () => resolve());
      this.process.kill('SIGKILL');
    });
  }
}

/** One waiter, recording when and with which token it was granted. */
interface Recorded {
  name: string;
  ttlMs: number;
  grant(token: number): void;
  token: number | undefined;
  at: number | undefined;
}

const waiter = (name: string, ttlMs: number, order?: string[], label?: string): Recorded => {
  const w: Recorded = {
    name,
    ttlMs,
    token: undefined,
    at: undefined,
    grant(token) {
      if (w.token !== undefined) throw new Error('granted twice');
      w.token = token;
      w.at = Date.now();
      if (order && label) order.push(label);
    },
  };
  return w;
};

const granted = (w: Recorded, what: string, ms = WAIT_MS) => waitUntil(() => w.token !== undefined, what, ms, 5);

describeRedis('redis: locks across processes', () => {
  const redis = useRedisServer();
  const opened: Backend[] = [];
  const children: Child[] = [];

  async function open(namespace: string): Promise<Backend> {
    const backend = redis.backend();
    opened.push(backend);
    await backend.open(testContext(namespace));
    return backend;
  }

  const child = (namespace: string, name: string, ttlMs: number, mode: 'hold' | 'release') => {
    const c = new Child(redis.url, namespace, name, ttlMs, mode);
    children.push(c);
    return c;
  };

  const raw = (...command: string[]) => redis.raw.sendCommand(command);
  const scriptCalls = async () => Number(/cmdstat_evalsha:calls=(\d+)/.exec(String(await raw('INFO', 'commandstats')))?.[1] ?? 0);

  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.kill()));
    await Promise.all(opened.splice(0).map((backend) => backend.close()));
  });

  it('grants a free lock at once with a PX lease; tokens strictly increase; release and extend hold only for the token', async () => {
    const ns = uniqueNamespace('lk');
    const backend = await open(ns);
    const tokens: number[] = [];
    for (let i = 0; i < 5; i++) {
      const w = waiter('L', 5_000);
      await backend.locks.acquire(w);
      expect(w.token).toBeDefined();
      tokens.push(w.token!);
      const pttl = Number(await raw('PTTL', `${ns}:l:L`));
      expect(pttl).toBeGreaterThan(3_000);
      expect(pttl).toBeLessThanOrEqual(5_000);
      expect(await backend.locks.extend('L', w.token! + 1, 60_000)).toBe(false);
      expect(await backend.locks.extend('L', w.token!, 60_000)).toBe(true);
      expect(Number(await raw('PTTL', `${ns}:l:L`))).toBeGreaterThan(50_000);
      expect(await backend.locks.release('L', w.token! - 1)).toBe(false);
      expect(await backend.locks.release('L', w.token!)).toBe(true);
      expect(await backend.locks.release('L', w.token!)).toBe(false);
    }
    // Another name shares the counter: still strictly increasing per name.
    const other = waiter('M', 1_000);
    await backend.locks.acquire(other);
    tokens.push(other.token!);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!);
    // Nothing but the held lock and the counter: no queue, no liveness key, for uncontended locks.
    expect((await redis.raw.keys(`${ns}:*`)).sort()).toEqual([`${ns}:l:M`, `${ns}:ltoken`]);
  });

  it('serves waiters first come, first served across two backends and a child process', async () => {
    const ns = uniqueNamespace('lk');
    const a = await open(ns);
    const b = await open(ns);
    const holder = waiter('L', 30_000);
    await a.locks.acquire(holder);
    const order: string[] = [];
    const b1 = waiter('L', 30_000, order, 'b1');
    await b.locks.acquire(b1);
    const c = child(ns, 'L', 30_000, 'release');
    await c.line('queued');
    const a2 = waiter('L', 30_000, order, 'a2');
    await a.locks.acquire(a2);
    const b2 = waiter('L', 30_000, order, 'b2');
    await b.locks.acquire(b2);
    expect(Number(await raw('ZCARD', `${ns}:lq:L`))).toBe(4);
    await sleep(300);
    expect(order).toEqual([]);

    await a.locks.release('L', holder.token!);
    await granted(b1, 'b1 granted');
    await sleep(200);
    expect(order).toEqual(['b1']);
    await b.locks.release('L', b1.token!);
    // The child is granted next, and releases after 50 ms.
    const childToken = Number(await c.line('granted'));
    await c.line('released true');
    await granted(a2, 'a2 granted');
    await a.locks.release('L', a2.token!);
    await granted(b2, 'b2 granted');
    expect(order).toEqual(['b1', 'a2', 'b2']);
    expect(b1.token!).toBeLessThan(childToken);
    expect(childToken).toBeLessThan(a2.token!);
    expect(a2.token!).toBeLessThan(b2.token!);
    await b.locks.release('L', b2.token!);
    // The queue went with its last waiter; the liveness keys with their waiters.
    expect(await redis.raw.keys(`${ns}:lq:*`)).toEqual([]);
    expect(await redis.raw.keys(`${ns}:lw:*`)).toEqual([]);
  });

  it('a release wakes the waiter at once, and waiting makes no polling (few script calls in 3 s)', async () => {
    const ns = uniqueNamespace('lk');
    const a = await open(ns);
    const b = await open(ns);
    const holder = waiter('L', 30_000);
    await a.locks.acquire(holder);
    const w = waiter('L', 30_000);
    const before = await scriptCalls();
    await b.locks.acquire(w);
    await sleep(3_000);
    const during = (await scriptCalls()) - before;
    // The first attempt, one more after subscribing, and a heartbeat a second.
    expect(during).toBeLessThan(10);
    expect(w.token).toBeUndefined();
    // The queue lives while its waiter does: a TTL that heartbeats refresh.
    const queueTtl = Number(await raw('PTTL', `${ns}:lq:L`));
    expect(queueTtl).toBeGreaterThan(0);
    expect(queueTtl).toBeLessThanOrEqual(10_000);
    const released = Date.now();
    await a.locks.release('L', holder.token!);
    await granted(w, 'the waiter granted after the release');
    // Far from the 30 s lease: the wake did it.
    expect(w.at! - released).toBeLessThan(1_000);
    console.log(`[redis-locks] script calls during a 3 s wait: ${during}; release → grant: ${w.at! - released} ms`);
  });

  it("a killed holder's lease runs out and the next waiter gets the lock within lease + 1 s", async () => {
    const ns = uniqueNamespace('lk');
    const lease = 1_500;
    const c = child(ns, 'L', lease, 'hold');
    const childToken = Number(await c.line('granted'));
    await c.kill();
    // When the lease runs out, by Redis's own clock.
    const expiresAt = Date.now() + Number(await raw('PTTL', `${ns}:l:L`));
    const a = await open(ns);
    const w = waiter('L', 5_000);
    await a.locks.acquire(w);
    await granted(w, 'the waiter granted after the lease ran out', lease + 5_000);
    expect(w.token!).toBeGreaterThan(childToken);
    // Not before the lease ran out (nobody released it), and soon after.
    const late = w.at! - expiresAt;
    expect(late).toBeGreaterThanOrEqual(-50);
    expect(late).toBeLessThan(1_000);
    console.log(`[redis-locks] dead holder: lease ${lease} ms, next grant ${late} ms after it ran out`);
  });

  it('a waiter whose process died is skipped once its liveness runs out', async () => {
    const ns = uniqueNamespace('lk');
    const a = await open(ns);
    const holder = waiter('L', 30_000);
    await a.locks.acquire(holder);
    const c = child(ns, 'L', 30_000, 'hold');
    await c.line('queued');
    const w = waiter('L', 30_000);
    await a.locks.acquire(w);
    await c.kill();
    const released = Date.now();
    await a.locks.release('L', holder.token!);
    // The dead waiter is first: the live one goes once its liveness key (3 s) expires.
    await granted(w, 'the live waiter granted past the dead one', 10_000);
    expect(w.at! - released).toBeLessThan(3_000 + 1_500);
    expect(Number(await raw('EXISTS', `${ns}:lq:L`))).toBe(0);
  });

  it('cancel withdraws a waiter (the next one is served), and a grant that raced a cancel is released', async () => {
    const ns = uniqueNamespace('lk');
    const a = await open(ns);
    const b = await open(ns);
    const holder = waiter('L', 30_000);
    await a.locks.acquire(holder);
    const first = waiter('L', 30_000);
    const second = waiter('L', 30_000);
    await b.locks.acquire(first);
    await b.locks.acquire(second);
    await b.locks.cancel(first);
    expect(Number(await raw('ZCARD', `${ns}:lq:L`))).toBe(1);
    await a.locks.release('L', holder.token!);
    await granted(second, 'the second waiter granted');
    expect(first.token).toBeUndefined();
    await b.locks.release('L', second.token!);
    // A free lock: the grant is on its way when the cancel comes, so it is handed on.
    const raced = waiter('M', 30_000);
    const acquired = b.locks.acquire(raced);
    const cancelled = b.locks.cancel(raced);
    await Promise.all([acquired, cancelled]);
    await waitUntil(async () => Number(await raw('EXISTS', `${ns}:l:M`)) === 0, 'the raced grant released');
    expect(raced.token).toBeUndefined();
    const next = waiter('M', 30_000);
    await a.locks.acquire(next);
    expect(next.token).toBeDefined();
    expect(await redis.raw.keys(`${ns}:lq:*`)).toEqual([]);
  });

  it("close withdraws the backend's waiters and releases its grants", async () => {
    const ns = uniqueNamespace('lk');
    const a = await open(ns);
    const b = await open(ns);
    const holder = waiter('L', 30_000);
    await a.locks.acquire(holder);
    const mine = waiter('M', 30_000);
    await b.locks.acquire(mine);
    const queued = waiter('L', 30_000);
    await b.locks.acquire(queued);
    const after = waiter('L', 30_000);
    await a.locks.acquire(after);
    await b.close();
    expect(Number(await raw('EXISTS', `${ns}:l:M`))).toBe(0);
    expect(Number(await raw('ZCARD', `${ns}:lq:L`))).toBe(1);
    await a.locks.release('L', holder.token!);
    await granted(after, 'the waiter behind the closed backend granted');
    expect(queued.token).toBeUndefined();
    await expect(b.locks.acquire(waiter('N', 1_000))).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });
});

describeRedis('redis: locks, fencing and transactions through stores', () => {
  const redis = useRedisServer();
  const { newStore } = useStores((namespace: string) => createStore({ backend: redis.backend(), namespace }));

  it('withLock from two stores (two processes) makes a read-modify-write exact, with increasing tokens', async () => {
    const ns = uniqueNamespace('lks');
    const stores = [newStore(ns), newStore(ns)];
    const tokens: number[] = [];
    await Promise.all(
      stores.flatMap((store) =>
        Array.from({ length: 4 }, async () => {
          for (let i = 0; i < 10; i++) {
            await store.withLock(
              'counter',
              async (lock) => {
                tokens.push(lock.token);
                const value = ((await store.get<number>('n')) ?? 0) + 1;
                await sleep(1); // a window another writer would use, without the lock
                await store.set('n', value, { fence: lock });
              },
              { ttlMs: 10_000 },
            );
          }
        }),
      ),
    );
    expect(await stores[1]!.get('n')).toBe(80);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!);
    expect(await redis.raw.keys(`${ns}:l*`)).toEqual([`${ns}:ltoken`]);
  });

  it("waitMs runs out with ERR_TIMEOUT and the waiter leaves Redis's queue; a fenced write after the lease went elsewhere is ERR_CONFLICT", async () => {
    const ns = uniqueNamespace('lks');
    const [one, two] = [newStore(ns), newStore(ns)];
    const held = await one.lock('L', { ttlMs: 600 });
    await expect(two.lock('L', { waitMs: 200 })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    await waitUntil(async () => Number(await redis.raw.sendCommand(['EXISTS', `${ns}:lq:L`])) === 0, 'the queue removed');
    // The lease runs out; the other store takes the lock, and the old holder's fenced writes change nothing.
    const next = await two.lock('L', { waitMs: 5_000 });
    expect(next.token).toBeGreaterThan(held.token);
    await expect(one.set('k', 'late', { fence: held })).rejects.toMatchObject({ code: 'ERR_CONFLICT' });
    await expect(one.transaction([{ op: 'incr', key: 'n' }], { fence: held })).rejects.toMatchObject({ code: 'ERR_CONFLICT' });
    await expect(held.extend()).rejects.toMatchObject({ code: 'ERR_CONFLICT' });
    expect(await two.getMany(['k', 'n'])).toEqual([undefined, undefined]);
    expect(
      await two.transaction(
        [
          { op: 'incr', key: 'n', by: 2 },
          { op: 'set', key: 'k', value: 'on time' },
        ],
        { fence: next },
      ),
    ).toHaveLength(2);
    expect(await one.getMany(['k', 'n'])).toEqual(['on time', 2]);
    expect(await next.release()).toBe(true);
  });
});
