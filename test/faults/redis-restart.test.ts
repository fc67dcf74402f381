// Redis SIGKILLed and restarted (same port, same directory, `--appendonly yes
// --appendfsync always`) under sequential set/incr writers in the main thread and
// in a pool worker: every write that was acknowledged is in Redis after the
// restart; writes during the outage reject with a KvbusError (ERR_BACKEND, or
// ERR_TIMEOUT/ERR_DISCONNECTED) within a bound or succeed, never hang; the same
// store works again after the restart without being recreated, and the
// subscriptions of the main thread and of the worker receive again.
// (test/redis/faults.test.ts covers restarts without persistence and CLIENT KILL.)
import type { Worker } from 'node:worker_threads';
import { createPool, KvbusError, type MainStore } from 'kvbus';
import { redisBackend } from 'kvbus/redis';
import { afterAll, afterEach, expect, it } from 'vitest';
import { fixtureUrl } from '../helpers/fixtures.js';
import { closeRaw, connectRaw, numPat, numSub } from '../helpers/redis-client.js';
import { describeRestartable, uniqueNamespace } from '../helpers/redis-server.js';
import { Resources } from '../helpers/resources.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { eventually, Recorders, sleep, waitForStats, waitUntil } from '../helpers/wait.js';

const COMMAND_TIMEOUT_MS = 500;
/** The longest a call may take, outage or not: far below the 30 s requestTimeoutMs, so no call waits for it. */
const CALL_BOUND_MS = 5_000;
const RECOVER_WITHIN_MS = 12_000;
const SLOTS = 20_000;
const LANES = 4;
const ALLOWED = ['ERR_BACKEND', 'ERR_DISCONNECTED', 'ERR_TIMEOUT'];

// Shared-memory slots of test/fixtures/faults/redis-writer.mjs.
const STOP = 0;
const SETS = 1;
const INCRS_SENT = 2;
const INCRS = 3;
const FAILED = 4;
const LONGEST = 5;
const HEARD = 6;

describeRestartable('Redis SIGKILLed and restarted under writes (appendfsync always)', () => {
  const redis = useRedisServer({ persistent: true, raw: false });
  const res = new Resources();
  const { rec, unsubscribeAll } = new Recorders();
  afterEach(async () => {
    unsubscribeAll();
    if (!redis.server.running) await redis.server.start();
    await Promise.race([res.cleanup(), sleep(5_000)]);
  });
  afterAll(() => unsubscribeAll());

  /** The main thread's writer: the same sequence as the worker's, until `stop()`. */
  function mainWriter(store: MainStore) {
    const state = {
      stop: false,
      sets: new Set<number>(),
      incrsSent: 0,
      incrs: 0,
      failed: 0,
      longest: 0,
      codes: {} as Record<string, number>,
    };
    const timed = async <T>(call: () => Promise<T>): Promise<T> => {
      const start = Date.now();
      try {
        return await call();
      } finally {
        state.longest = Math.max(state.longest, Date.now() - start);
      }
    };
    const failed = (error: unknown) => {
      const code = error instanceof KvbusError ? error.code : `not a KvbusError: ${String(error)}`;
      state.codes[code] = (state.codes[code] ?? 0) + 1;
      state.failed++;
    };
    // Four sequential writers at once, as in the worker, so that several writes are in flight when Redis dies.
    const lane = async (first: number) => {
      for (let i = first; i < SLOTS && !state.stop; i += LANES) {
        try {
          await timed(() => store.set(`m:s:${i}`, i));
          state.sets.add(i);
        } catch (error) {
          failed(error);
        }
        try {
          state.incrsSent++;
          await timed(() => store.incr('m:n'));
          state.incrs++;
        } catch (error) {
          failed(error);
          await sleep(1); // do not spin while Redis is down
        }
      }
    };
    const done = Promise.all(Array.from({ length: LANES }, (_, first) => lane(first)));
    return { state, done };
  }

  it('loses no acknowledged write, hangs no call, and the same store and its subscriptions work after the restart', async () => {
    const store = res.store({
      backend: redisBackend({ url: redis.url, commandTimeoutMs: COMMAND_TIMEOUT_MS }),
      namespace: uniqueNamespace('aof'),
    });
    const pool = res.pool(createPool({ store, filename: fixtureUrl('faults/redis-writer.mjs').href, minThreads: 2, maxThreads: 2 }));
    const flags = new Int32Array(new SharedArrayBuffer(64));
    const setAcked = new Int32Array(new SharedArrayBuffer(SLOTS * 4));
    const heard = rec(store.channel<number>('bus'));
    expect(await pool.run({ flags: flags.buffer }, { name: 'listen' })).toBe('listening');
    expect(await store.publish('bus', 1)).toBe(1); // one Redis subscriber: this process
    await heard.some((n) => n === 1, 'the main thread to hear 1');
    await waitUntil(() => Atomics.load(flags, HEARD) === 1, 'the worker to hear 1');
    const baseline = await store.stats();

    const worker = pool.run({ flags: flags.buffer, setAcked: setAcked.buffer }) as Promise<Record<string, number>>;
    worker.catch(() => {});
    const main = mainWriter(store);
    await waitUntil(() => main.state.sets.size >= 100 && Atomics.load(flags, SETS) >= 100, 'both writers to have 100 writes acknowledged');

    await redis.server.kill();
    await waitUntil(() => main.state.failed > 0 && Atomics.load(flags, FAILED) > 0, 'writes to fail while Redis is down');
    await sleep(1_000); // an outage long enough for every writer to hit it
    const before = { main: main.state.sets.size, worker: Atomics.load(flags, SETS) };
    await redis.server.start();
    // The same store, not recreated: both writers are acknowledged again.
    await waitUntil(
      () => main.state.sets.size > before.main + 100 && Atomics.load(flags, SETS) > before.worker + 100,
      'both writers to be acknowledged again after the restart',
      RECOVER_WITHIN_MS,
    );
    main.state.stop = true;
    Atomics.store(flags, STOP, 1);
    await main.done;
    const workerCodes = await worker;

    // Every acknowledged write is in Redis after the restart.
    const mainValues = await store.getAll('m:s:*');
    for (const i of main.state.sets) expect(mainValues.get(`m:s:${i}`), `main set ${i}`).toBe(i);
    const workerValues = await store.getAll('w:s:*');
    let workerSets = 0;
    for (let i = 0; i < SLOTS; i++) {
      if (setAcked[i] !== 1) continue;
      workerSets++;
      expect(workerValues.get(`w:s:${i}`), `worker set ${i}`).toBe(i);
    }
    expect(workerSets).toBe(Atomics.load(flags, SETS));
    const mainN = (await store.get('m:n')) as number;
    expect(mainN).toBeGreaterThanOrEqual(main.state.incrs);
    expect(mainN).toBeLessThanOrEqual(main.state.incrsSent);
    const workerN = (await store.get('w:n')) as number;
    expect(workerN).toBeGreaterThanOrEqual(Atomics.load(flags, INCRS));
    expect(workerN).toBeLessThanOrEqual(Atomics.load(flags, INCRS_SENT));

    // Calls during the outage failed with a KvbusError within a bound; none hung.
    console.info(
      `[redis restart] main: ${main.state.sets.size} sets, ${main.state.incrs} incrs acknowledged, failures ${JSON.stringify(main.state.codes)}, longest call ${main.state.longest} ms; ` +
        `worker: ${workerSets} sets, ${Atomics.load(flags, INCRS)} incrs, failures ${JSON.stringify(workerCodes)}, longest call ${Atomics.load(flags, LONGEST)} ms`,
    );
    for (const code of [...Object.keys(main.state.codes), ...Object.keys(workerCodes)]) expect(ALLOWED).toContain(code);
    expect(main.state.longest).toBeLessThan(CALL_BOUND_MS);
    expect(Atomics.load(flags, LONGEST)).toBeLessThan(CALL_BOUND_MS);

    // The subscriptions of the main thread and of the worker receive again.
    let n = 100;
    await eventually(
      async () => {
        await store.publish('bus', ++n);
        await waitUntil(() => heard.values.includes(n) && Atomics.load(flags, HEARD) === n, `both to hear ${n}`, 200);
      },
      'the subscriptions to receive after the restart',
      RECOVER_WITHIN_MS,
      0,
    );
    await waitForStats(
      store,
      (s) => s.clients === baseline.clients && s.subscriptions === baseline.subscriptions && s.queueDepth === 0,
      'stats back to the baseline',
    );
  });

  it('a worker that dies while Redis is down leaves no subscription behind, in the store or in Redis, and stalls nobody past the bound', async () => {
    const namespace = uniqueNamespace('aof');
    const store = res.store({ backend: redisBackend({ url: redis.url, commandTimeoutMs: COMMAND_TIMEOUT_MS }), namespace });
    const pool = res.pool(createPool({ store, filename: fixtureUrl('faults/redis-writer.mjs').href, minThreads: 1, maxThreads: 1 }));
    await store.set('k', 1);
    const baseline = await store.stats(); // pool workers connect when they first call getStore()
    const flags = new Int32Array(new SharedArrayBuffer(64));
    expect(await pool.run({ flags: flags.buffer, channel: 'gone', withPattern: true }, { name: 'listen' })).toBe('listening');
    expect(await store.stats()).toMatchObject({ clients: baseline.clients + 1, subscriptions: baseline.subscriptions + 2 });
    const raw = await connectRaw(redis.url);
    try {
      expect(await numSub(raw, `${namespace}:c:gone`)).toBe(1);
    } finally {
      await closeRaw(raw);
    }

    await redis.server.kill();
    const [thread] = pool.threads as Worker[];
    await thread!.terminate();
    // Dropping its subscriptions needs Redis: the store waits for that at most commandTimeoutMs each, and so does a call meanwhile.
    const started = Date.now();
    const outcome = await store.get('k').then(
      () => 'resolved',
      (error: KvbusError) => error.code,
    );
    expect(outcome).toBe('ERR_BACKEND');
    expect(Date.now() - started).toBeLessThan(CALL_BOUND_MS);
    // (stats() needs Redis too, for its key count: it is checked after the restart.)

    await redis.server.start();
    await eventually(() => store.get('k'), 'the store to work again', RECOVER_WITHIN_MS);
    expect(await store.get('k')).toBe(1); // persisted
    // Redis holds no subscription for the dead worker once the reconnect is done.
    const after = await connectRaw(redis.url);
    try {
      await waitUntil(
        async () => (await numSub(after, `${namespace}:c:gone`)) === 0 && (await numPat(after)) === 0,
        'Redis to hold no subscription of the dead worker',
        RECOVER_WITHIN_MS,
      );
    } finally {
      await closeRaw(after);
    }
    expect(await store.publish('gone', 1)).toBe(0);
    await waitForStats(
      store,
      (s) => s.subscriptions === baseline.subscriptions && s.queueDepth === 0 && s.clients === baseline.clients,
      'stats back to the baseline',
    );
  });
});
