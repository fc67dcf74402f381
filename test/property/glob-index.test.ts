import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GlobIndex } from '../../src/actors/glob-index.js';
import { Router, type Sink } from '../../src/actors/router.js';
import type { SubEvent } from '../../src/commands/events.js';
import { compileGlob, globMatch } from '../../src/glob.js';

// The index must deliver to exactly the globs compileGlob (and so Redis's
// stringmatchlen) matches, whatever was subscribed and unsubscribed before:
// its prefix tables and its per-channel memory are checked against a plain
// scan of every glob held.

// A small alphabet, so random globs and channels often share prefixes and match.
const CHARS = ['a', 'b', 'c', ':', '.', 'x'];
const charArb = fc.constantFrom(...CHARS);
const tokenArb = fc.oneof(
  { weight: 6, arbitrary: charArb },
  { weight: 2, arbitrary: fc.constant('*') },
  { weight: 1, arbitrary: fc.constant('?') },
  { weight: 1, arbitrary: fc.constant('[a-b]') },
  { weight: 1, arbitrary: fc.constant('[^x]') },
  { weight: 1, arbitrary: fc.constantFrom('[ac]', '[b-a]', '[\\]]') },
  { weight: 1, arbitrary: charArb.map((c) => `\\${c}`) },
  { weight: 1, arbitrary: fc.constantFrom('\\*', '\\?', '\\[', '\\\\') },
);
const globArb = fc.array(tokenArb, { maxLength: 6 }).map((tokens) => tokens.join(''));
// A trailing backslash (it stands for itself) and an unterminated class, now and then.
const patternArb = fc.oneof(
  { weight: 8, arbitrary: globArb },
  { weight: 1, arbitrary: globArb.map((g) => `${g}\\`) },
  { weight: 1, arbitrary: globArb.map((g) => `${g}[a`) },
);
const randomChannelArb = fc.array(fc.constantFrom(...CHARS, '*', '?', '[', ']', '\\'), { maxLength: 7 }).map((cs) => cs.join(''));
// Mostly a few channels again and again, so the index's memory of a channel is read
// after globs changed (it must have been forgotten), and sometimes a new one.
const channelArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('a', 'ab', 'a:b', 'a.bc', 'x', '*', 'a\\', 'a[', ']') },
  { weight: 2, arbitrary: randomChannelArb },
);

type Op =
  | { op: 'add'; pattern: string; sink: number }
  | { op: 'remove'; pick: number }
  | { op: 'publish'; channel: string }
  | { op: 'change'; key: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('add' as const), pattern: patternArb, sink: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('publish' as const), channel: channelArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('change' as const), key: channelArb }) },
);

class Recorder implements Sink {
  readonly got: string[] = [];
  constructor(readonly id: number) {}
  deliver(event: SubEvent): void {
    this.got.push(event.type === 'message' ? `m:${event.channel}` : `c:${'key' in event ? event.key : ''}`);
  }
}

describe('GlobIndex (property)', () => {
  it('compileGlob agrees with globMatch on these globs (the reference below is sound)', () => {
    fc.assert(
      fc.property(patternArb, channelArb, (p, s) => compileGlob(p)(s) === globMatch(p, s)),
      { numRuns: 2000 },
    );
  });

  it('match() answers exactly the globs held that compileGlob matches, through adds and removes', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const index = new GlobIndex<number>();
        const held = new Set<string>();
        // Every subject asked about so far is asked again after each change of the globs:
        // the index's memory of it must not outlive the change.
        const asked = new Set<string>();
        const check = (subject: string) => {
          const want = [...held].filter((p) => globMatch(p, subject)).sort();
          expect(
            index
              .match(subject)
              .map((e) => e.pattern)
              .sort(),
          ).toEqual(want);
        };
        for (const op of ops) {
          if (op.op === 'add') {
            index.add(op.pattern, 0);
            held.add(op.pattern);
          } else if (op.op === 'remove') {
            const list = [...held];
            if (list.length === 0) continue;
            const pattern = list[op.pick % list.length]!;
            expect(index.delete(pattern)).toBe(true);
            held.delete(pattern);
          } else {
            const subject = op.op === 'publish' ? op.channel : op.key;
            asked.add(subject);
            // Twice: the second answer comes from the index's memory of the subject.
            check(subject);
            check(subject);
            continue;
          }
          expect(index.size).toBe(held.size);
          for (const subject of asked) check(subject);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('the router delivers each publish and key change to exactly the subscribers of matching globs and of the exact name', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const router = new Router();
        const sinks = [0, 1, 2, 3].map((id) => new Recorder(id));
        const expected = sinks.map(() => [] as string[]);
        // The model: which sinks are on which pattern (and on which changes glob: the same ops, both tables).
        const subs: Array<{ pattern: string; sink: number }> = [];
        for (const op of ops) {
          if (op.op === 'add') {
            if (subs.some((s) => s.pattern === op.pattern && s.sink === op.sink)) continue;
            subs.push({ pattern: op.pattern, sink: op.sink });
            router.add({ kind: 'pattern', name: op.pattern }, sinks[op.sink]!);
            router.add({ kind: 'changes', name: op.pattern }, sinks[op.sink]!);
            // The same text as an exact channel and key: one sink, then several, then fewer.
            router.add({ kind: 'channel', name: op.pattern }, sinks[op.sink]!);
            router.add({ kind: 'key', name: op.pattern }, sinks[op.sink]!);
          } else if (op.op === 'remove') {
            if (subs.length === 0) continue;
            const [s] = subs.splice(op.pick % subs.length, 1);
            router.remove({ kind: 'pattern', name: s!.pattern }, sinks[s!.sink]!);
            router.remove({ kind: 'changes', name: s!.pattern }, sinks[s!.sink]!);
            router.remove({ kind: 'channel', name: s!.pattern }, sinks[s!.sink]!);
            router.remove({ kind: 'key', name: s!.pattern }, sinks[s!.sink]!);
          } else if (op.op === 'publish') {
            const reached = subs.filter((s) => globMatch(s.pattern, op.channel));
            const exact = subs.filter((s) => s.pattern === op.channel);
            for (const s of [...reached, ...exact]) expected[s.sink]!.push(`m:${op.channel}`);
            expect(router.publish(op.channel, 1)).toBe(reached.length + exact.length);
          } else {
            for (const s of subs) if (globMatch(s.pattern, op.key)) expected[s.sink]!.push(`c:${op.key}`);
            for (const s of subs) if (s.pattern === op.key) expected[s.sink]!.push(`c:${op.key}`);
            router.change({ type: 'delete', key: op.key, revision: 1 });
          }
        }
        for (const sink of sinks) expect(sink.got.sort()).toEqual(expected[sink.id]!.sort());
        expect(router.size).toBe(subs.length * 4);
      }),
      { numRuns: 300 },
    );
  });
});
