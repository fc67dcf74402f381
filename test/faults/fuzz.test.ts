// Thousands of random and malformed messages, spoken by hand from a real
// worker and from a real child of store.fork, interleaved with valid requests:
// the process survives, every valid request gets its correct reply, the state
// is what the valid requests made it, and stats().malformed counts exactly the
// malformed items, by this rule:
//   - a message that is not a request batch (or cannot be decoded) counts 1;
//   - a request whose seq or opcode cannot be framed counts 1 and ends its batch;
//   - a framed request whose fields fail validation counts 1 and gets an error reply.
// The plan comes from a seeded PRNG (fast-check): FUZZ_SEED=<n> replays one.
import type { ChildProcess } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import type { MainStore } from 'kvbus';
import { afterEach, describe, expect, it } from 'vitest';
import { fixturePath, fixtureUrl } from '../helpers/fixtures.js';
import { messageFrom } from '../helpers/processes.js';
import { Resources } from '../helpers/resources.js';
import { waitForStats } from '../helpers/wait.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_130);
const ITEMS = 2500;
const Q = 'kvbus/3:q';
const MB10 = 10 * 1024 * 1024;
/** Deeper than the main thread can decode (about 4000 with its default stack). */
const UNDECODABLE_DEPTH = 6000;
/** Deep, but decodable: a key of this shape fails validation. */
const DECODABLE_DEPTH = 1500;
const OP = { get: 0, has: 4, set: 6, setWithOptions: 7, delete: 8, incr: 10 } as const;
const KEYS = ['fz:a', 'fz:b', 'fz:c'];
const KEEP = new Map<string, unknown>([
  ['fz:keep:1', 'one'],
  ['fz:keep:2', { n: 2 }],
  ['__proto__', 'a key like any other'],
  ['constructor', 7],
]);

const hostile = () => [
  JSON.parse('{"__proto__":{"polluted":true},"a":1}'),
  { constructor: { name: { toString: 1 } } },
  { constructor: 'x', prototype: null },
];
const BAD_KEYS: unknown[] = [null, undefined, 42, '', {}, [], true, Number.NaN, 1n, [['nested']], new Map([['k', 1]]), ...hostile()];
const BAD_NUMBERS: unknown[] = ['1', Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, null, {}, [], undefined, 1n, true];
const BAD_SEQS: unknown[] = [
  0,
  -1,
  -5,
  Number.NaN,
  1.5,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  '7',
  null,
  {},
  [],
  true,
  1n,
  undefined,
];
// An opcode no command has, a fraction, another type, or the options flag on a command without options (get, getEntry).
const BAD_OPCODES: unknown[] = [-2, 9999, 1.5, Number.NaN, '0', null, {}, [], true, 1, 3, 2 ** 31, undefined];
/** Header slots: never a positive integer, so never the seq of a request in the batch (that would mark it sync). */
const BAD_SYNC: unknown[] = [0, -1, 'x', null, Number.NaN, 1.5, {}, undefined];

type Item =
  | { t: 'valid'; op: 'get' | 'has' | 'set' | 'incr' | 'delete'; key: number; value: number | string; by: number; brk: boolean }
  | { t: 'invalid'; op: number; bad: number; brk: boolean }
  | { t: 'unframable'; seqBad: boolean; seq: number; opcode: number; junk: unknown[] }
  | { t: 'notBatch'; value: unknown }
  | { t: 'short'; op: number }
  | { t: 'extra'; key: number; junk: unknown }
  | { t: 'big'; where: 'tag' | 'opcode' | 'key' }
  | { t: 'deep'; where: 'key' | 'undecodable' };

const pick = <T>(list: readonly T[], i: number): T => list[i % list.length]!;
const junk = fc.anything({ maxDepth: 2, maxKeys: 3 });

const itemArb: fc.Arbitrary<Item> = fc.oneof(
  {
    weight: 45,
    arbitrary: fc.record({
      t: fc.constant('valid' as const),
      op: fc.constantFrom('get', 'has', 'set', 'incr', 'delete'),
      key: fc.nat(KEYS.length + KEEP.size - 1),
      value: fc.oneof(fc.integer({ min: -100, max: 100 }), fc.string({ maxLength: 8 })),
      by: fc.integer({ min: -5, max: 5 }),
      brk: fc.boolean(),
    }),
  },
  { weight: 15, arbitrary: fc.record({ t: fc.constant('invalid' as const), op: fc.nat(7), bad: fc.nat(100), brk: fc.boolean() }) },
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant('unframable' as const),
      seqBad: fc.boolean(),
      seq: fc.nat(100),
      opcode: fc.nat(100),
      junk: fc.array(junk, { maxLength: 3 }),
    }),
  },
  { weight: 10, arbitrary: fc.record({ t: fc.constant('notBatch' as const), value: junk }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('short' as const), op: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('extra' as const), key: fc.nat(KEYS.length - 1), junk }) },
);

/** Messages that are kvbus's but not a request batch (each counts 1). */
const NOT_BATCHES: unknown[] = [
  ['kvbus/3:a', 1, 5, 'x'],
  { p: 'kvbus/3' },
  { p: 'kvbus/3', welcome: { id: 1, requestTimeoutMs: 1, window: 1 } },
  { p: 'kvbus/3', hello: { threadId: 1 } },
  ['kvbus/2:q', 0, 0, 1, 0, 'fz:a'],
  [],
  'kvbus/3:q',
  ...hostile(),
];

interface Expected {
  /** The store's state after every valid request. */
  state: Map<string, unknown>;
  /** seq → the reply: a value, or an error (with its code when it must have one). */
  replies: Map<number, { ok: true; value: unknown; revision?: true } | { ok: false; codes?: string[] }>;
  /** Requests in messages the store cannot decode: answered with an error once undecodable messages are answered. */
  lost: Set<number>;
  malformed: number;
  undecodable: number;
}

interface Plan {
  first: Array<{ message: unknown; patches?: object[] }>;
  messages: Array<{ message: unknown; patches?: object[] }>;
  expect: number[];
}

/** Builds the messages and what the store must answer, from the PRNG's items. */
function makePlan(seed: number, firstMessages: Plan['first'], firstMalformed: number): { plan: Plan; expected: Expected } {
  const [items] = fc.sample(fc.array(itemArb, { minLength: ITEMS, maxLength: ITEMS }), { seed, numRuns: 1 }) as [Item[]];
  // A few of each costly kind, at fixed places.
  const specials: Item[] = [
    { t: 'big', where: 'tag' },
    { t: 'big', where: 'opcode' },
    { t: 'big', where: 'key' },
    { t: 'deep', where: 'key' },
    { t: 'deep', where: 'undecodable' },
    { t: 'deep', where: 'key' },
    { t: 'deep', where: 'undecodable' },
  ];
  specials.forEach((special, i) => {
    items.splice(Math.floor(((i + 1) * items.length) / (specials.length + 1)), 0, special);
  });
  items.unshift(...NOT_BATCHES.map((value) => ({ t: 'notBatch' as const, value })));

  const state = new Map<string, unknown>(KEEP);
  const expected: Expected = { state, replies: new Map(), lost: new Set(), malformed: firstMalformed, undecodable: 0 };
  const messages: Plan['messages'] = [];
  let seq = 0;
  let errorSeq = 1_000_000_000;
  let batch: unknown[] | undefined;
  let patches: Array<{ path: number[] } & object> = [];
  let n = 0;
  const open = () => {
    batch ??= [Q, n++ % 3 === 0 ? pick(BAD_SYNC, n) : 0, pick(BAD_SYNC, n)];
    return batch;
  };
  const flush = () => {
    if (batch) messages.push({ message: batch, patches });
    batch = undefined;
    patches = [];
  };
  const fail = (s: number, codes?: string[]) => expected.replies.set(s, codes ? { ok: false, codes } : { ok: false });
  const keyOf = (i: number) => (i < KEYS.length ? KEYS[i]! : [...KEEP.keys()][i - KEYS.length]!);

  for (const item of items) {
    switch (item.t) {
      case 'valid': {
        let key = keyOf(item.key);
        // Only reads touch the keys set before.
        if (KEEP.has(key) && item.op !== 'get' && item.op !== 'has') key = KEYS[0]!;
        const s = ++seq;
        const b = open();
        const old = state.get(key);
        if (item.op === 'get') b.push(s, OP.get, key) && expected.replies.set(s, { ok: true, value: old });
        if (item.op === 'has') b.push(s, OP.has, key) && expected.replies.set(s, { ok: true, value: state.has(key) });
        if (item.op === 'delete') b.push(s, OP.delete, key) && expected.replies.set(s, { ok: true, value: state.delete(key) });
        if (item.op === 'set') {
          b.push(s, OP.set, key, item.value);
          state.set(key, item.value);
          expected.replies.set(s, { ok: true, value: undefined, revision: true });
        }
        if (item.op === 'incr') {
          b.push(s, OP.incr, key, item.by);
          if (old !== undefined && typeof old !== 'number') fail(s, ['ERR_TYPE']);
          else {
            state.set(key, ((old as number | undefined) ?? 0) + item.by);
            expected.replies.set(s, { ok: true, value: state.get(key) });
          }
        }
        if (item.brk) flush();
        break;
      }
      case 'invalid': {
        const s = errorSeq++;
        const bad = item.bad;
        const request = [
          [s, OP.get, pick(BAD_KEYS, bad)],
          [s, OP.has, pick(BAD_KEYS, bad)],
          [s, OP.delete, pick(BAD_KEYS, bad)],
          [s, OP.incr, 'fz:a', pick(BAD_NUMBERS, bad)],
          [s, OP.incr, pick(BAD_KEYS, bad), 1],
          [s, OP.set, pick(BAD_KEYS, bad), 1],
          [s, OP.set, 'fz:a', undefined],
          [
            s,
            OP.setWithOptions,
            'fz:a',
            1,
            bad % 2 === 0 ? [pick([0, -1, Number.NaN, 'x', Number.POSITIVE_INFINITY], bad)] : [undefined, pick([-1, 1.5, 'x'], bad)],
          ],
        ][item.op]!;
        open().push(...request);
        expected.malformed++;
        fail(s);
        if (item.brk) flush();
        break;
      }
      case 'unframable': {
        const s = item.seqBad ? pick(BAD_SEQS, item.seq) : item.seq === 0 ? 1e300 : item.seq === 1 ? Number.MAX_SAFE_INTEGER : errorSeq++;
        const b = open();
        if (item.opcode % 7 === 0) b.push(s, OP.setWithOptions, 'fz:a', 1, 'options that are not an array');
        else b.push(s, pick(BAD_OPCODES, item.opcode), 'fz:a');
        b.push(...item.junk);
        expected.malformed++;
        if (!item.seqBad) fail(s as number, ['ERR_BAD_ARGUMENT']);
        flush();
        break;
      }
      case 'notBatch':
        flush();
        messages.push({ message: item.value });
        expected.malformed++;
        break;
      case 'short': {
        // Too few fields, at the end of a batch: the missing ones read as undefined.
        const s = errorSeq++;
        open().push(
          ...[
            [s, OP.get],
            [s, OP.set, 'fz:a'],
            [s, OP.incr, 'fz:b'],
          ][item.op]!,
        );
        expected.malformed++;
        fail(s);
        flush();
        break;
      }
      case 'extra': {
        // One field too many: the get is answered; the extra slot starts a request that cannot be framed.
        const s = ++seq;
        const key = keyOf(item.key);
        open().push(s, OP.get, key, 'one too many', item.junk);
        expected.replies.set(s, { ok: true, value: state.get(key) });
        expected.malformed++;
        flush();
        break;
      }
      case 'big': {
        flush();
        if (item.where === 'tag') {
          messages.push({ message: [null, 0, 0, errorSeq++, OP.get, 'fz:a'], patches: [{ path: [0], big: MB10 }] });
          expected.malformed++;
        } else if (item.where === 'opcode') {
          messages.push({ message: [Q, 0, 0, -1, null], patches: [{ path: [4], big: MB10 }] });
          expected.malformed++;
        } else {
          // A 10 MB key is a key: that get is valid (and finds nothing).
          const s = ++seq;
          messages.push({ message: [Q, 0, 0, s, OP.get, null], patches: [{ path: [5], big: MB10 }] });
          expected.replies.set(s, { ok: true, value: undefined });
        }
        break;
      }
      case 'deep': {
        flush();
        const s = errorSeq++;
        if (item.where === 'key') {
          messages.push({ message: [Q, 0, 0, s, OP.get, null], patches: [{ path: [5], deep: DECODABLE_DEPTH }] });
          expected.malformed++;
          fail(s, ['ERR_BAD_KEY']);
        } else {
          messages.push({ message: [Q, 0, 0, s, OP.set, 'fz:deep', null], patches: [{ path: [6], deep: UNDECODABLE_DEPTH }] });
          expected.lost.add(s);
          expected.undecodable++;
        }
        break;
      }
    }
  }
  flush();
  return { plan: { first: firstMessages, messages, expect: [...expected.replies.keys()] }, expected };
}

const res = new Resources();
afterEach(() => res.cleanup());

async function prepared(): Promise<MainStore> {
  const store = res.store({ requestTimeoutMs: 5000 });
  for (const [key, value] of KEEP) await store.set(key, value);
  return store;
}

/** Checks the replies, the counts and the state against the plan's expectations. */
async function check(store: MainStore, before: number, replies: Array<[number, [boolean, any]]>, expected: Expected) {
  const got = new Map(replies);
  const where = `(FUZZ_SEED=${SEED})`;
  for (const [seq, want] of expected.replies) {
    const reply = got.get(seq);
    expect(reply, `the reply to ${seq} ${where}`).toBeDefined();
    const [ok, value] = reply!;
    if (want.ok) {
      expect(ok, `request ${seq} succeeds ${where}: ${JSON.stringify(value)}`).toBe(true);
      if ('revision' in want) expect(value, `set ${seq} answers a revision`).toBeGreaterThan(0);
      else expect(value, `the reply to ${seq} ${where}`).toEqual(want.value);
    } else {
      expect(ok, `request ${seq} fails ${where}`).toBe(false);
      if (want.codes) expect(want.codes, `the code of ${seq}'s error ${where}`).toContain(value.code);
    }
  }
  // Nothing is answered that was not asked (a lost request may be answered with an error).
  for (const [seq, [ok]] of got) {
    if (expected.replies.has(seq)) continue;
    expect(expected.lost.has(seq) && !ok, `an unexpected reply to ${seq} ${where}`).toBe(true);
  }
  const stats = await waitForStats(store, (s) => s.malformed >= before + expected.malformed, 'the malformed count');
  // An undecodable message counts 1 (the store then asks for it again; this sender gives it up).
  expect(stats.malformed - before, `stats().malformed ${where}`).toBe(expected.malformed + expected.undecodable);
  const entries = await store.getAll();
  expect(new Map([...entries].sort()), `the state ${where}`).toEqual(new Map([...expected.state].sort()));
  expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
}

describe('fuzz: malformed messages from a worker and a child', () => {
  it('from a worker attached with store.attach', async () => {
    const store = await prepared();
    const first = [
      { message: 'a user message, not kvbus’s' },
      { message: { type: 'user', p: 'not kvbus' } },
      { message: [Q, 0, 0, 1, OP.get, 'fz:a'] },
      { message: { p: 'kvbus/3', hello: null } },
      { message: { p: 'kvbus/3' } },
    ];
    // The three kvbus messages among them are refused hellos.
    const { plan, expected } = makePlan(SEED, first, 3);
    const before = (await store.stats()).malformed;
    const worker = res.worker(new Worker(fixtureUrl('faults/fuzz-sender.mjs')));
    store.attach(worker);
    const done = messageFrom<{ replies: Array<[number, [boolean, unknown]]> }>(worker, (m) => m?.type === 'replies', 'the replies', 30_000);
    worker.postMessage(plan);
    const { replies } = await done;
    await check(store, before, replies, expected);
  }, 60_000);

  it('from a child of store.fork, on its pipe', async () => {
    const store = await prepared();
    const first = [
      { message: 'garbage instead of a hello' },
      { message: [Q, 0, 0, 1, OP.get, 'fz:a'] },
      { message: JSON.parse('{"__proto__":{"p":"kvbus/3"}}') },
      { message: null, patches: [{ path: [], deep: UNDECODABLE_DEPTH }] },
    ];
    // On the pipe everything is kvbus's: each of them is refused, the undecodable one too.
    const { plan, expected } = makePlan(SEED + 1, first, 4);
    const before = (await store.stats()).malformed;
    const child: ChildProcess = res.child(store.fork(fixturePath('faults/fuzz-sender.mjs'), [], { execArgv: ['--stack-size=3900'] }));
    const done = messageFrom<{ replies: Array<[number, [boolean, unknown]]> }>(child, (m) => m?.type === 'replies', 'the replies', 30_000);
    child.send(plan);
    const { replies } = await done;
    await check(store, before, replies, expected);
  }, 60_000);
});
