// Glob parity: the memory backend's matcher (globMatch) must give the same answers
// as real Redis (SCAN MATCH, the same stringmatchlen as KEYS and PSUBSCRIBE), and
// `store.keys(pattern)` must list the same keys on both backends.
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { globMatch } from '../../src/glob.js';
import type { PatternMessage } from '../../src/index.js';
import { createStore, type MainStore, memoryBackend } from '../../src/index.js';
import { rawScan } from '../helpers/redis-client.js';
import { describeRedis, uniqueNamespace } from '../helpers/redis-server.js';
import { useRedisServer } from '../helpers/use-redis.js';
import { type Recorder, record } from '../helpers/wait.js';

// Every string of length 1..3 over a small alphabet that includes the glob syntax itself.
const ALPHABET = ['a', 'b', 'z', '*', '?', '[', ']', '\\', '-', '^'];
function allStrings(alphabet: string[], maxLength: number): string[] {
  const out: string[] = [];
  let level = [''];
  for (let n = 1; n <= maxLength; n++) {
    level = level.flatMap((prefix) => alphabet.map((c) => prefix + c));
    out.push(...level);
  }
  return out;
}
const SUBJECTS = [...new Set([...allStrings(ALPHABET, 3), 'abba', 'zzzz', 'aaaaaaaaaaaaaaaaaaab', 'ab]-', 'ba*a'])];

const HAND_PICKED = [
  '*',
  '?',
  '??',
  'a*',
  '*a',
  '*a*',
  'a?b',
  '[a-z]',
  '[a-z]*',
  '[^a]',
  '[^a]*',
  '[z-a]',
  '[z-a]?',
  '\\*',
  '\\?',
  'a\\*',
  '[\\]]',
  '[\\]a]*',
  '[',
  'a[',
  '[a',
  '[^',
  '[a-',
  '[]',
  '[]]',
  '[]a]',
  '[!a]',
  '\\',
  'a\\',
  '\\\\',
  '[\\\\]',
  '[a-]',
  '[-a]',
  '[--^]',
  '[\\-]',
  '*[*]*',
  '[*?]',
  'a**b',
  '**',
  '*?*',
  '[^]]',
  '[^\\]]',
  '[a-z-]',
  '?[^-]*',
  '\\a',
  '[\\a]',
];

describeRedis('glob parity with Redis', () => {
  const redisServer = useRedisServer();
  let prefix: string;
  let memory: MainStore;
  let redis: MainStore;

  beforeAll(async () => {
    // A prefix without glob characters, so that `prefix + pattern` matches exactly what `pattern` does.
    prefix = `${uniqueNamespace('glob')}:`;
    for (let i = 0; i < SUBJECTS.length; i += 200) {
      await Promise.all(SUBJECTS.slice(i, i + 200).map((subject) => redisServer.raw.set(prefix + subject, '1')));
    }
    const namespace = uniqueNamespace('globstore');
    memory = createStore({ backend: memoryBackend(), namespace });
    redis = createStore({ backend: redisServer.backend(), namespace });
    await Promise.all(SUBJECTS.flatMap((subject) => [memory.set(subject, 1), redis.set(subject, 1)]));
  });

  afterAll(async () => {
    await memory?.close();
    await redis?.close();
  });

  /** The subjects Redis's SCAN MATCH finds for `pattern`. */
  async function redisMatches(pattern: string): Promise<string[]> {
    return (await rawScan(redisServer.raw, prefix + pattern, 5000)).map((key) => key.slice(prefix.length)).sort();
  }

  const memoryMatches = (pattern: string) => SUBJECTS.filter((subject) => globMatch(pattern, subject)).sort();

  it('has as many subjects in Redis as written', async () => {
    expect((await redisMatches('*')).length).toBe(SUBJECTS.length);
  });

  it('globMatch agrees with Redis on hand-picked patterns (*, ?, ranges, negation, reversed ranges, escapes, unterminated [)', async () => {
    for (const pattern of HAND_PICKED) {
      expect(memoryMatches(pattern), `pattern ${JSON.stringify(pattern)}`).toEqual(await redisMatches(pattern));
    }
  });

  it('globMatch agrees with Redis on generated patterns over a small alphabet', async () => {
    const patternChar = fc.constantFrom('a', 'b', 'z', '*', '?', '[', ']', '\\', '-', '^');
    await fc.assert(
      fc.asyncProperty(
        fc.array(patternChar, { minLength: 1, maxLength: 7 }).map((chars) => chars.join('')),
        async (pattern) => {
          expect(memoryMatches(pattern), `pattern ${JSON.stringify(pattern)}`).toEqual(await redisMatches(pattern));
        },
      ),
      { numRuns: 300, seed: 20_240_229 },
    );
  });

  it('store.keys(pattern) lists the same keys on the memory and the Redis backend', async () => {
    for (const pattern of [...HAND_PICKED, 'a*b', '[ab]?', '?\\?']) {
      const [fromMemory, fromRedis] = await Promise.all([memory.keys(pattern), redis.keys(pattern)]);
      expect(fromRedis.sort(), `pattern ${JSON.stringify(pattern)}`).toEqual(fromMemory.sort());
      expect(fromMemory.sort(), `pattern ${JSON.stringify(pattern)}`).toEqual(memoryMatches(pattern));
    }
  });

  it('store.pattern(glob) hears the same channels on the memory and the Redis backend (PSUBSCRIBE)', async () => {
    const patterns = ['*', '?', 'a*', '[a-b]?', '[^a]*', '[b-a]', '\\*', '[\\]]*', 'a[', '*\\', '[-a]?'];
    const channels = allStrings(['a', 'b', '*', '[', ']', '\\', '-'], 2);
    const listen = (store: MainStore) => {
      const recorders = patterns.map((pattern) => [pattern, record(store.pattern(pattern))] as const);
      const end = record(store.channel('end'));
      return { recorders, end };
    };
    const fromMemory = listen(memory);
    const fromRedis = listen(redis);
    await Promise.all([memory.stats(), redis.stats()]);
    for (const channel of channels) await Promise.all([memory.publish(channel, 1), redis.publish(channel, 1)]);
    await Promise.all([memory.publish('end', 1), redis.publish('end', 1)]);
    await fromMemory.end.count(1);
    await fromRedis.end.count(1);
    const heard = (recorder: Recorder<PatternMessage>) =>
      recorder.values
        .map((m) => m.channel)
        .filter((c) => c !== 'end')
        .sort();
    for (const [i, [pattern, recorder]] of fromMemory.recorders.entries()) {
      const expected = channels.filter((channel) => globMatch(pattern, channel)).sort();
      expect(heard(recorder), `memory, pattern ${JSON.stringify(pattern)}`).toEqual(expected);
      expect(heard(fromRedis.recorders[i]![1]), `redis, pattern ${JSON.stringify(pattern)}`).toEqual(expected);
    }
    for (const { recorders, end } of [fromMemory, fromRedis]) {
      end.unsubscribe();
      for (const [, recorder] of recorders) recorder.unsubscribe();
    }
  });
});
