// The ChangeFeed's merge of the history stream with live pub/sub events, on a
// scripted History (pages chosen by the test) rather than a Redis server: the
// orders that matter here (a live event heard while page 1 of several is
// read, events published before SUBSCRIBE took effect) are races on a real one.
import { describe, expect, it } from 'vitest';
import { ChangeFeed } from '../../src/backends/redis/change-feed.js';
import type { Connection } from '../../src/backends/redis/connection.js';
import type { History, HistoryPage } from '../../src/backends/redis/history.js';
import type { Layout } from '../../src/backends/redis/layout.js';
import type { KeyChange } from '../../src/types.js';
import { waitUntil } from '../helpers/wait.js';

const change = (revision: number): KeyChange => ({ type: 'set', key: `k${revision}`, value: revision, revision });
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A feed over a stream holding revisions 1..`current`, read `pageSize` events at a time; `counter` is GET rev at start(). */
function scripted(options: { counter: number; current: () => number; pageSize: number; onRead?: (after: number) => void }) {
  const reads: number[] = [];
  const history = {
    async read(after: number): Promise<HistoryPage> {
      reads.push(after);
      options.onRead?.(after);
      const current = options.current();
      const to = Math.min(after + options.pageSize, current);
      return { current, oldest: 1, changes: range(after + 1, to).map(change), more: to < current };
    },
  };
  const connection = {
    saw: (revision: number) => revision,
    commandOptions: () => ({}),
    commands: { sendCommand: async () => String(options.counter) },
  };
  const feed = new ChangeFeed(connection as unknown as Connection, { rev: 'rev' } as Layout, history as unknown as History, true);
  const emitted: number[] = [];
  const lost: Array<[number, number]> = [];
  feed.serve((c) => emitted.push(c.revision));
  feed.onLost = (after, oldest) => lost.push([after, oldest]);
  return { feed, emitted, lost, reads };
}

describe('redis ChangeFeed: resuming from the history stream', () => {
  it('a live event heard while page 1 of several is read stays held until a read covers it: nothing is taken as lost', async () => {
    // The stream holds 1..25, read 10 at a time; revision 25 is heard live while page 1 is read.
    let feedRef: ChangeFeed | undefined;
    const { feed, emitted, lost } = scripted({
      counter: 0,
      current: () => 25,
      pageSize: 10,
      onRead: (after) => {
        if (after === 0) feedRef?.heard(change(25));
      },
    });
    feedRef = feed;
    await feed.start();
    feed.dropped();
    feed.reconnected();
    await waitUntil(() => emitted.length >= 25, `25 revisions (emitted ${emitted.length}, lost ${JSON.stringify(lost)})`, 2_000);
    expect(lost).toEqual([]);
    expect(emitted).toEqual(range(1, 25));
    feed.heard(change(26)); // live again
    expect(emitted.at(-1)).toBe(26);
  });

  it('events published between GET rev and SUBSCRIBE taking effect are read from the stream, before the first one heard', async () => {
    // start() read the counter at 10; 11..13 were published before the subscription took effect.
    const { feed, emitted, lost, reads } = scripted({ counter: 10, current: () => 14, pageSize: 100 });
    await feed.start();
    feed.heard(change(14));
    await waitUntil(() => emitted.length >= 4, `11..14 (emitted ${emitted})`, 2_000);
    expect(reads).toEqual([10]);
    expect(emitted).toEqual([11, 12, 13, 14]);
    expect(lost).toEqual([]);
    feed.heard(change(15));
    expect(emitted.at(-1)).toBe(15);
  });
});
