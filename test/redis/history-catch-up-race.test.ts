// changes(glob, { since }) on Redis while another process writes: the catch-up
// holds live events from the moment its sink is routed, so none overtakes the
// replay (the backend subscribes, then the history is read, both asynchronously).
import type { MainStore } from 'kvbus';
import { redisBackend } from 'kvbus/redis';
import { afterEach, expect, it } from 'vitest';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { Resources } from '../helpers/resources.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { waitUntil } from '../helpers/wait.js';

describeRedis('redis: changes(glob, { since }) under a concurrent writer', () => {
  const redis = useRedisServer();
  const res = new Resources();
  afterEach(() => res.cleanup());

  it('snapshot then follow: every revision after the snapshot once, in order, never a live one before the replay', async () => {
    const ns = uniqueNamespace('catchup-race');
    const follower = res.store({ backend: redisBackend({ url: redis.url }), namespace: ns });
    const writer = res.store({ backend: redisBackend({ url: redis.url }), namespace: ns });
    let writing = true;
    const load = (async () => {
      for (let i = 0; writing; i++) await Promise.all(Array.from({ length: 20 }, (_, j) => writer.set(`a:${(i * 20 + j) % 500}`, i)));
    })();
    try {
      for (let round = 0; round < 12; round++) {
        const { revision } = await follower.snapshot('a:*');
        const heard: number[] = [];
        const subscription = (follower as MainStore).changes('a:*', { since: revision }).subscribe((event) => heard.push(event.revision));
        await waitUntil(() => heard.length >= 60, `round ${round}: 60 changes`, 10_000);
        subscription.unsubscribe();
        const expected = Array.from({ length: heard.length }, (_, i) => revision + 1 + i);
        expect(heard, `round ${round} from ${revision}`).toEqual(expected);
      }
    } finally {
      writing = false;
      await load;
    }
  }, 90_000);
});
