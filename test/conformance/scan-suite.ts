// The conformance tests of scan (SPEC §7 "Large keyspaces"), run unchanged on
// every backend, like suite.ts: chunked reads of the keyspace, with Redis SCAN's
// guarantee, glob filtering, copies, early exits that release the cursor,
// expired keys left out, and bad arguments refused in the caller's stack.
import { describe, expect, it } from 'vitest';
import type { MainStore } from '../../src/index.js';
import { expectThrowsCode } from '../helpers/errors.js';
import { sleep } from '../helpers/wait.js';
import { type MakeStore, suiteStores } from './suite.js';

/** Everything a scan returns, in the order it came. */
async function collect<TValue = unknown>(entries: AsyncIterable<[string, TValue]>): Promise<Array<[string, TValue]>> {
  const out: Array<[string, TValue]> = [];
  for await (const entry of entries) out.push(entry);
  return out;
}

const keysOf = (entries: Array<[string, unknown]>) => entries.map(([key]) => key).sort();

/** Sets `n` keys `prefix0…` with the value `{ i }`, a few at a time. */
async function fill(store: MainStore, n: number, prefix = 'k'): Promise<string[]> {
  const keys = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  for (let i = 0; i < n; i += 100) await Promise.all(keys.slice(i, i + 100).map((key, j) => store.set(key, { i: i + j })));
  return keys;
}

/**
 * Registers the scan tests for one backend.
 * @param name - the backend's name, for test titles
 * @param makeStore - a fresh store on that backend
 */
export function scanConformance(name: string, makeStore: MakeStore): void {
  describe(`conformance: ${name}: scan`, () => {
    const { newStore } = suiteStores(name, makeStore);

    it('returns every entry of the namespace once, as [key, value], when nothing changes', async () => {
      const store = await newStore();
      const other = await newStore();
      const keys = await fill(store, 2_500);
      await other.set('k0', 'another namespace');
      const entries = await collect(store.scan());
      expect(keysOf(entries)).toEqual([...keys].sort());
      for (const [key, value] of entries) expect(value).toEqual({ i: Number(key.slice(1)) });
      expect(await collect(store.scan('*', { count: 7 }))).toHaveLength(2_500);
    });

    it('an empty store scans to nothing', async () => {
      const store = await newStore();
      expect(await collect(store.scan())).toEqual([]);
      expect(await collect(store.scan('a*'))).toEqual([]);
    });

    it('returns only the keys that match the glob (Redis syntax)', async () => {
      const store = await newStore();
      for (const key of ['user:1', 'user:2', 'user:10', 'order:1', 'a*b', 'axb', 'b', 'c']) await store.set(key, key);
      expect(keysOf(await collect(store.scan('user:*')))).toEqual(['user:1', 'user:10', 'user:2']);
      expect(keysOf(await collect(store.scan('user:?')))).toEqual(['user:1', 'user:2']);
      expect(keysOf(await collect(store.scan('[bc]')))).toEqual(['b', 'c']);
      expect(keysOf(await collect(store.scan('a\\*b')))).toEqual(['a*b']);
      expect(keysOf(await collect(store.scan('a*b')))).toEqual(['a*b', 'axb']);
      expect(await collect(store.scan('order:1'))).toEqual([['order:1', 'order:1']]);
      expect(await collect(store.scan('order:2'))).toEqual([]);
    });

    it('reads in chunks of about `count`: a small count takes more round trips', async () => {
      const store = await newStore();
      await fill(store, 200);
      const commandsOf = async (count: number) => {
        const before = (await store.stats()).commands;
        expect(await collect(store.scan('k*', { count }))).toHaveLength(200);
        return (await store.stats()).commands - before - 1;
      };
      expect(await commandsOf(10)).toBeGreaterThanOrEqual(10);
      expect(await commandsOf(1_000)).toBeLessThan(await commandsOf(10));
    });

    it('hands out copies: changing a value it returned changes nothing in the store', async () => {
      const store = await newStore();
      await store.set('obj', { list: [1, 2] });
      for await (const [, value] of store.scan<{ list: number[] }>()) value.list.push(3);
      expect(await store.get('obj')).toEqual({ list: [1, 2] });
    });

    it('returns each key present for the whole scan at least once while others come and go', async () => {
      const store = await newStore();
      const stable = await fill(store, 500, 's');
      await fill(store, 500, 'gone');
      const seen = new Set<string>();
      let i = 0;
      for await (const [key] of store.scan('*', { count: 20 })) {
        seen.add(key);
        // Between chunks: add keys, remove others, rewrite stable ones.
        if (i % 20 === 0) {
          await store.set(`new${i}`, i);
          await store.delete(`gone${i / 20}`);
          await store.set(`s${(i * 7) % 500}`, { i: -1 });
        }
        i++;
      }
      for (const key of stable) expect(seen.has(key), key).toBe(true);
    });

    it('breaking out of the loop releases the scan (a client may hold only so many)', async () => {
      const store = await newStore();
      await fill(store, 50);
      // More early exits than a client may have scans open at once.
      for (let round = 0; round < 80; round++) {
        for await (const _ of store.scan('*', { count: 5 })) break;
      }
      // A throw out of the loop releases it too.
      for (let round = 0; round < 80; round++) {
        await expect(
          (async () => {
            for await (const _ of store.scan('*', { count: 5 })) throw new Error('stop');
          })(),
        ).rejects.toThrow('stop');
      }
      expect(await collect(store.scan())).toHaveLength(50);
    });

    it('refuses a client that leaves too many scans open, and says how to fix it', async () => {
      const store = await newStore();
      await fill(store, 10);
      const open = Array.from({ length: 64 }, () => store.scan('*', { count: 1 })[Symbol.asyncIterator]());
      for (const iterator of open) expect((await iterator.next()).done).toBe(false);
      const error = await store
        .scan()
        [Symbol.asyncIterator]()
        .next()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toMatchObject({ code: 'ERR_BAD_ARGUMENT', message: expect.stringMatching(/64 scans open/) });
      for (const iterator of open) await iterator.return?.();
      await sleep(10); // the releases are commands of their own
      expect(await collect(store.scan())).toHaveLength(10);
    });

    it('never returns an expired key', async () => {
      const store = await newStore();
      await store.set('stays', 1);
      await store.set('goes', 1, { ttlMs: 50 });
      await sleep(200);
      expect(await collect(store.scan())).toEqual([['stays', 1]]);
      expect(await collect(store.scan('goes'))).toEqual([]);
    });

    it('refuses bad arguments in the caller, with ERR_BAD_ARGUMENT', async () => {
      const store = await newStore();
      const scan = store.scan.bind(store) as (...args: unknown[]) => AsyncIterable<unknown>;
      expectThrowsCode(() => scan(''), 'ERR_BAD_ARGUMENT', /`glob` to be a non-empty string/);
      expectThrowsCode(() => scan(42), 'ERR_BAD_ARGUMENT', /`glob`/);
      expectThrowsCode(() => scan(null), 'ERR_BAD_ARGUMENT', /`glob`/);
      expectThrowsCode(() => scan('*', null), 'ERR_BAD_ARGUMENT', /scan options to be an object/);
      expectThrowsCode(() => scan('*', 10), 'ERR_BAD_ARGUMENT', /scan options/);
      for (const count of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '10', null]) {
        expectThrowsCode(() => scan('*', { count }), 'ERR_BAD_ARGUMENT', /`count` to be a positive integer/);
      }
      expect(await collect(store.scan(undefined, {}))).toEqual([]);
    });
  });
}
