// A store whose Redis change feed lost changes (a resume found revisions in
// neither the history stream nor pub/sub) does not go on as if it were whole:
// its `changes` subscriptions end with ERR_COMPACTED and its watches come to
// their keys' current values (see actors/lost-changes.ts).
import { isKvbusError, type KvbusError } from 'kvbus';
import { redisBackend } from 'kvbus/redis';
import { afterEach, expect, it } from 'vitest';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { Resources } from '../helpers/resources.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { sleep, waitUntil } from '../helpers/wait.js';

describeRedis('redis store: changes lost on a resume', () => {
  const redis = useRedisServer();
  const res = new Resources();
  afterEach(() => res.cleanup());

  /**
   * A follower whose Redis user can be locked out (ACL), a writer without history
   * (its changes are in no stream: a follower away meanwhile loses them) and one with.
   */
  async function stores(name: string, userPrefix: string) {
    const ns = uniqueNamespace(name);
    const user = `${userPrefix}${process.pid}`;
    await redis.raw.sendCommand(['ACL', 'SETUSER', user, 'on', '>secret', '~*', '&*', '+@all']);
    const url = new URL(redis.url);
    url.username = user;
    url.password = 'secret';
    const follower = res.store({ backend: redisBackend({ url: url.href, commandTimeoutMs: 500 }), namespace: ns });
    const blind = res.store({ backend: redisBackend({ url: redis.url, history: { maxEvents: 0 } }), namespace: ns });
    const writer = res.store({ backend: redisBackend({ url: redis.url }), namespace: ns });
    return { user, follower, blind, writer };
  }

  it('ends changes() with ERR_COMPACTED (oldestRevision), and brings watch() to the current value', async () => {
    const { user, follower, blind, writer } = await stores('lost-store', 'lostst');

    const heard: number[] = [];
    let failure: unknown;
    follower.changes().subscribe({ next: (event) => heard.push(event.revision), error: (error) => (failure = error) });
    const watched: unknown[] = [];
    follower.watch('c').subscribe((value) => watched.push(value));
    await follower.stats();
    await writer.set('a', 1); // 1
    await waitUntil(() => heard.length === 1, 'revision 1');

    await redis.raw.sendCommand(['ACL', 'SETUSER', user, 'off']);
    await redis.raw.sendCommand(['CLIENT', 'KILL', 'USER', user]);
    await writer.set('b', 1); // 2: in the stream
    await blind.set('c', 'new'); // 3: nowhere the follower can find it
    await writer.set('e', 1); // 4: in the stream
    await redis.raw.sendCommand(['ACL', 'SETUSER', user, 'on']);

    await waitUntil(() => failure !== undefined, `changes() to fail (heard ${heard})`, 20_000);
    expect(isKvbusError(failure)).toBe(true);
    expect((failure as KvbusError).code).toBe('ERR_COMPACTED');
    expect((failure as KvbusError & { oldestRevision: number }).oldestRevision).toBe(4);
    expect(heard).toEqual([1, 2]);
    await waitUntil(() => watched.at(-1) === 'new', `watch('c') to reach the current value (saw ${JSON.stringify(watched)})`, 20_000);
  }, 60_000);

  it('a changes() subscription made in the error handler of one that ended with ERR_COMPACTED hears what comes after', async () => {
    // The actor unsubscribes the ended one while the new one is being added: Redis's change
    // events must not be unsubscribed after (or while) they are subscribed again.
    const { user, follower, blind, writer } = await stores('lost-again', 'lostag');
    const heard: number[] = [];
    const failures: string[] = [];
    const follow = () =>
      follower.changes().subscribe({
        next: (event) => heard.push(event.revision),
        error: (error) => {
          failures.push((error as KvbusError).code);
          follow(); // at once, as an application starting over would
        },
      });
    follow();
    await follower.stats();
    await writer.set('a', 1); // 1
    await waitUntil(() => heard.length === 1, 'revision 1');
    await redis.raw.sendCommand(['ACL', 'SETUSER', user, 'off']);
    await redis.raw.sendCommand(['CLIENT', 'KILL', 'USER', user]);
    await blind.set('b', 1); // 2: nowhere the follower can find it
    await writer.set('c', 1); // 3
    await redis.raw.sendCommand(['ACL', 'SETUSER', user, 'on']);
    await waitUntil(() => failures.length > 0, 'changes() to fail', 20_000);
    expect(failures).toEqual(['ERR_COMPACTED']);
    await sleep(300); // the ended subscription's removal has reached Redis by now
    for (let i = 0; i < 5; i++) await writer.set(`later${i}`, i); // 4..8
    await waitUntil(() => heard.at(-1) === 8, `the new subscription to hear revision 8 (heard ${heard})`, 10_000);
    expect(failures).toHaveLength(1);
  }, 60_000);
});
