// The wire protocol, part by part: requests (generic over the command
// descriptors), subscription events, errors, and the descriptor table itself.
// Every round trip is also checked through a structured clone, as the real
// transports (MessagePort, advanced-serialization IPC) deliver it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CommandSpec } from '../../src/commands/define.js';
import type { SubEvent } from '../../src/commands/events.js';
import { COMMANDS, type Command, SPEC_BY_CODE, SPEC_BY_TYPE, specOf } from '../../src/commands/table.js';
import { ERROR_CODES, isKvbusError, KvbusError, type KvbusErrorCode } from '../../src/errors.js';
import { Arrivals } from '../../src/streams/protocol/arrivals.js';
import { eventSid, nextEvent, pushEvent, readEvent } from '../../src/streams/protocol/events.js';
import {
  ANSWER_HEADER,
  ANSWERS,
  isProtocolMessage,
  REQUEST_HEADER,
  REQUESTS,
  RESENT_ANSWERS,
  RESENT_REQUESTS,
} from '../../src/streams/protocol/framing.js';
import { nextRequest, pushRequest, readRequest } from '../../src/streams/protocol/requests.js';
import { SentLog } from '../../src/streams/protocol/sent-log.js';
import { decodeError, encodeError, type WireError } from '../../src/streams/protocol/wire-error.js';

const ALL_SPECS = COMMANDS as readonly unknown[] as readonly CommandSpec[];
/** The descriptors a client may send: those with a wire code. */
const WIRED = ALL_SPECS.filter((spec) => spec.code !== undefined);
/** The actor's own commands (a TTL expiry): no wire code, so no client may send them. */
const CODELESS = ALL_SPECS.filter((spec) => spec.code === undefined);

/** Any value a structured clone carries (and that compares equal to its clone). */
const cloneable: fc.Arbitrary<unknown> = fc.anything({
  maxDepth: 2,
  maxKeys: 4,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withTypedArray: true,
  withSparseArray: true,
});

/** Optional-field values: anything but undefined, which means "not set". */
const setOption = cloneable.filter((value) => value !== undefined);

/**
 * A valid command of one descriptor, derived from its `fields` and `options`:
 * every field with any cloneable value; each option absent, explicitly
 * undefined, or set.
 */
function commandOf(spec: CommandSpec): fc.Arbitrary<Command> {
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  for (const name of spec.fields) fields[name] = cloneable;
  const options: Record<string, fc.Arbitrary<{ value: unknown } | null>> = {};
  for (const name of spec.options ?? []) {
    options[name] = fc.oneof(
      fc.constant(null),
      fc.constant({ value: undefined }),
      setOption.map((value) => ({ value })),
    );
  }
  return fc.record({ fields: fc.record(fields), options: fc.record(options) }).map(({ fields, options }) => {
    const cmd: Record<string, unknown> = { type: spec.type, ...fields };
    for (const [name, option] of Object.entries(options)) if (option !== null) cmd[name] = option.value;
    return cmd as unknown as Command;
  });
}

/** One generator per wire descriptor, built by walking the table. */
const GENERATORS = new Map<string, fc.Arbitrary<Command>>(WIRED.map((spec) => [spec.type, commandOf(spec)]));

const anyCommand: fc.Arbitrary<Command> = fc.oneof(...GENERATORS.values());

/** What a command reads back as: options left undefined do not travel. */
function expectedRead(cmd: Command): Record<string, unknown> {
  const options = new Set(SPEC_BY_TYPE[cmd.type].options ?? []);
  return Object.fromEntries(Object.entries(cmd).filter(([name, value]) => !(options.has(name) && value === undefined)));
}

/** Pushes commands with increasing (gapped) seqs into one batch; returns the batch and the seqs. */
function batchOf(commands: readonly Command[], gaps: readonly number[]): { batch: unknown[]; seqs: number[] } {
  const batch: unknown[] = [REQUESTS, 0, 0];
  const seqs: number[] = [];
  let seq = 0;
  commands.forEach((cmd, i) => {
    seq += 1 + (gaps[i] ?? 0);
    seqs.push(seq);
    pushRequest(batch, seq, cmd);
  });
  return { batch, seqs };
}

/** Reads a whole batch back as (seq, command) pairs. */
function readBatch(batch: readonly unknown[]): Array<[unknown, Command | undefined]> {
  const read: Array<[unknown, Command | undefined]> = [];
  for (let at = REQUEST_HEADER; at < batch.length; at = nextRequest(batch, at)) read.push([batch[at], readRequest(batch, at)]);
  return read;
}

const batches = fc.array(fc.tuple(anyCommand, fc.nat(3)), { maxLength: 30 });

function expectBadArgument(fn: () => unknown): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(KvbusError);
  expect((thrown as KvbusError).code).toBe('ERR_BAD_ARGUMENT');
}

describe('protocol: the command table', () => {
  it('gives every wired command a unique, non-negative integer code, and SPEC_BY_CODE maps each code back', () => {
    const codes = WIRED.map((spec) => spec.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const spec of WIRED) {
      expect(Number.isInteger(spec.code)).toBe(true);
      expect(spec.code).toBeGreaterThanOrEqual(0);
      expect(SPEC_BY_CODE[spec.code!]).toBe(spec);
    }
    expect(SPEC_BY_CODE.filter((spec) => spec !== undefined)).toHaveLength(WIRED.length);
    expect(new Set(ALL_SPECS.map((spec) => spec.type)).size).toBe(ALL_SPECS.length);
  });

  it('has a round-trip generator for every wired descriptor, shaped by its fields and options', () => {
    // Walks the table, so a descriptor added to COMMANDS is covered or this fails.
    expect(WIRED.length).toBeGreaterThan(0);
    for (const spec of ALL_SPECS) {
      const generator = GENERATORS.get(spec.type);
      if (spec.code === undefined) {
        expect(generator, `${spec.type} has no wire code and must have no generator`).toBeUndefined();
        continue;
      }
      expect(generator, `no generator for ${spec.type}`).toBeDefined();
      const allowed = new Set<string>(['type', ...spec.fields, ...(spec.options ?? [])]);
      for (const cmd of fc.sample(generator!, { numRuns: 30, seed: 42 })) {
        expect(cmd.type).toBe(spec.type);
        for (const field of spec.fields) expect(Object.hasOwn(cmd, field), `${spec.type}.${field}`).toBe(true);
        for (const key of Object.keys(cmd)) expect(allowed.has(key), `${spec.type} has no field ${key}`).toBe(true);
      }
    }
    // The mixed generator reaches every wired command.
    const seen = new Set(fc.sample(anyCommand, { numRuns: 2000, seed: 7 }).map((cmd) => cmd.type));
    expect([...seen].sort()).toEqual(WIRED.map((spec) => spec.type).sort());
  });

  it('specOf returns the descriptor of every command a client may send', () => {
    for (const spec of WIRED) expect(specOf({ type: spec.type })).toBe(spec);
  });

  it("specOf rejects non-objects, unknown types, prototype names and the actor's code-less commands with ERR_BAD_ARGUMENT", () => {
    const bad: unknown[] = [
      null,
      undefined,
      42,
      'kv.get',
      true,
      Symbol('kv.get'),
      () => {},
      {},
      { type: 42 },
      { type: 'kv.nope' },
      { type: 'KV.GET' },
      { type: '' },
      { type: 'toString' },
      { type: '__proto__' },
      { type: 'constructor' },
      { type: 'hasOwnProperty' },
      { type: 'valueOf' },
      ...CODELESS.map((spec) => ({ type: spec.type })),
    ];
    expect(CODELESS.length, 'the table has the TTL expiry, which has no wire code').toBeGreaterThan(0);
    for (const value of bad) expectBadArgument(() => specOf(value));
  });

  it('pushRequest refuses a command that has no wire code', () => {
    for (const spec of CODELESS) {
      const batch: unknown[] = [REQUESTS, 0, 0];
      expectBadArgument(() => pushRequest(batch, 1, { type: spec.type } as unknown as Command));
      expect(batch).toEqual([REQUESTS, 0, 0]);
    }
  });
});

describe('protocol: requests', () => {
  it.each([
    ['as written', (batch: unknown[]) => batch],
    ['after a structured clone, as a port or IPC delivers it', (batch: unknown[]) => structuredClone(batch)],
  ])('read back every command of a batch, in order, with its seq (%s)', (_, deliver) => {
    fc.assert(
      fc.property(batches, (written) => {
        const commands = written.map(([cmd]) => cmd);
        const { batch, seqs } = batchOf(
          commands,
          written.map(([, gap]) => gap),
        );
        expect(batch.slice(0, REQUEST_HEADER)).toEqual([REQUESTS, 0, 0]);
        const read = readBatch(deliver(batch));
        expect(read.map(([seq]) => seq)).toEqual(seqs);
        expect(read.map(([, cmd]) => cmd)).toStrictEqual(commands.map(expectedRead));
      }),
      { numRuns: 200 },
    );
  });

  it('send a command exactly as its fields, plus one options array only when an option is set', () => {
    fc.assert(
      fc.property(anyCommand, (cmd) => {
        const spec = SPEC_BY_TYPE[cmd.type];
        const batch: unknown[] = [REQUESTS, 0, 0];
        pushRequest(batch, 1, cmd);
        const values = cmd as unknown as Record<string, unknown>;
        const optionSet = (spec.options ?? []).some((name) => values[name] !== undefined);
        expect(batch[REQUEST_HEADER + 1]).toBe(spec.code! * 2 + (optionSet ? 1 : 0));
        expect(batch.length).toBe(REQUEST_HEADER + 2 + spec.fields.length + (optionSet ? 1 : 0));
        expect(batch.slice(REQUEST_HEADER + 2, REQUEST_HEADER + 2 + spec.fields.length)).toEqual(spec.fields.map((f) => values[f]));
        if (optionSet) expect(batch.at(-1)).toEqual(spec.options!.map((name) => values[name]));
      }),
      { numRuns: 300 },
    );
  });

  it('read a command whose options are all undefined back without those keys', () => {
    const withOptions = WIRED.filter((spec) => spec.options !== undefined);
    expect(withOptions.length).toBeGreaterThan(0);
    for (const spec of withOptions) {
      const cmd: Record<string, unknown> = { type: spec.type };
      for (const field of spec.fields) cmd[field] = `${field}-value`;
      for (const option of spec.options!) cmd[option] = undefined;
      const batch: unknown[] = [REQUESTS, 0, 0];
      pushRequest(batch, 9, cmd as unknown as Command);
      expect(batch[REQUEST_HEADER + 1]).toBe(spec.code! * 2);
      const read = readRequest(structuredClone(batch), REQUEST_HEADER);
      expect(Object.keys(read!).sort()).toEqual(['type', ...spec.fields].sort());
      expect(nextRequest(batch, REQUEST_HEADER)).toBe(batch.length);
    }
  });

  it('readRequest returns undefined for an opcode the protocol does not know', () => {
    const beyond = SPEC_BY_CODE.length * 2;
    const opcodes: unknown[] = [
      -1,
      -2,
      0.5,
      2.5,
      beyond,
      beyond + 1,
      2 ** 31,
      2 ** 32,
      2 ** 53,
      Number.MAX_VALUE,
      Number.POSITIVE_INFINITY,
      Number.NaN,
      '0',
      null,
      undefined,
      [0],
    ];
    for (const opcode of opcodes)
      expect(readRequest([REQUESTS, 0, 0, 1, opcode, 'key', 'value'], REQUEST_HEADER), String(opcode)).toBeUndefined();
  });

  it('readRequest returns undefined for an options-flagged opcode of a command without options', () => {
    const withoutOptions = WIRED.filter((spec) => spec.options === undefined);
    expect(withoutOptions.length).toBeGreaterThan(0);
    for (const spec of withoutOptions) {
      const batch = [REQUESTS, 0, 0, 1, spec.code! * 2 + 1, 'a', 'b', 'c', ['x']];
      expect(readRequest(batch, REQUEST_HEADER), spec.type).toBeUndefined();
      // The same slots with the plain opcode do read.
      batch[REQUEST_HEADER + 1] = spec.code! * 2;
      expect(readRequest(batch, REQUEST_HEADER)?.type).toBe(spec.type);
    }
  });

  it('readRequest returns undefined when the options slot is not an array', () => {
    const withOptions = WIRED.filter((spec) => spec.options !== undefined);
    for (const spec of withOptions) {
      for (const slot of [undefined, null, 5, 'ttl', { 0: 1, length: 1 }]) {
        const batch: unknown[] = [REQUESTS, 0, 0, 1, spec.code! * 2 + 1];
        for (const field of spec.fields) batch.push(field);
        batch.push(slot);
        expect(readRequest(batch, REQUEST_HEADER), `${spec.type} with options ${String(slot)}`).toBeUndefined();
      }
    }
  });

  it('readRequest never throws on arbitrary slots, and reads only commands a client may send', () => {
    const wiredTypes = new Set(WIRED.map((spec) => spec.type));
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: -4, max: 40 }), cloneable), { maxLength: 8 }), (slots) => {
        const cmd = readRequest([REQUESTS, 0, 0, 1, ...slots], REQUEST_HEADER);
        if (cmd !== undefined) expect(wiredTypes.has(cmd.type)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

// The wire form of subscription events: a run of events read back must give
// the events that were written, whatever their kinds and however they mix,
// and a reader must be able to step over events of subscriptions it no longer has.
const CHANNEL = 'ticks';

const events: fc.Arbitrary<SubEvent> = fc.oneof(
  fc.record({ type: fc.constant('message' as const), channel: fc.constant(CHANNEL), data: fc.jsonValue() }),
  fc.record({ type: fc.constant('message' as const), channel: fc.string({ minLength: 1 }), data: fc.jsonValue() }),
  fc.record({
    type: fc.constantFrom('set' as const, 'snapshot' as const),
    key: fc.string({ minLength: 1 }),
    value: fc.jsonValue(),
    revision: fc.nat(),
  }),
  fc.record({ type: fc.constantFrom('delete' as const, 'expire' as const), key: fc.string({ minLength: 1 }), revision: fc.nat() }),
  fc.record({ type: fc.constant('clear' as const), key: fc.constant('*'), revision: fc.nat() }),
  fc.record({
    type: fc.constant('end' as const),
    error: fc.record({ name: fc.constant('KvbusError'), code: fc.constant('ERR_DISCONNECTED' as const), message: fc.string() }),
  }),
);

describe('protocol: subscription events', () => {
  it('read back what was written, in order, with messages on a channel subscription in two slots', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 5 }), events), { maxLength: 40 }), fc.boolean(), (written, cloned) => {
        const batch: unknown[] = [ANSWERS, 0];
        // Subscriptions 1 and 2 are to the channel CHANNEL; the others are patterns, keys or globs.
        const channelKnown = (sid: number) => sid <= 2;
        const usable = written.filter(([sid, event]) => !(channelKnown(sid) && event.type === 'message' && event.channel !== CHANNEL));
        for (const [sid, event] of usable) pushEvent(batch, sid, event, channelKnown(sid) && event.type === 'message');
        const received = cloned ? structuredClone(batch) : batch;
        const read: Array<[number, SubEvent]> = [];
        for (let at = ANSWER_HEADER; at < received.length; at = nextEvent(received, at))
          read.push([eventSid(received, at), readEvent(received, at, CHANNEL)!]);
        expect(read).toEqual(usable);
      }),
    );
  });

  it('carry a message on a channel subscription as (-sid, data) only', () => {
    const batch: unknown[] = [ANSWERS, 0];
    pushEvent(batch, 7, { type: 'message', channel: CHANNEL, data: { seq: 1 } }, true);
    pushEvent(batch, 8, { type: 'message', channel: 'other', data: 2 }, false);
    expect(batch.slice(ANSWER_HEADER, ANSWER_HEADER + 2)).toEqual([-7, { seq: 1 }]);
    expect(nextEvent(batch, ANSWER_HEADER)).toBe(ANSWER_HEADER + 2);
    expect(eventSid(batch, ANSWER_HEADER + 2)).toBe(8);
    expect(readEvent(batch, ANSWER_HEADER + 2, 'unused')).toEqual({ type: 'message', channel: 'other', data: 2 });
  });

  it('read an event of an unknown kind as undefined', () => {
    expect(readEvent([ANSWERS, 0, 3, 99, 'x'], ANSWER_HEADER, CHANNEL)).toBeUndefined();
  });
});

describe('protocol: errors', () => {
  const code = fc.constantFrom(...ERROR_CODES);

  it("round-trip a KvbusError's code and message, through a structured clone", () => {
    fc.assert(
      fc.property(code, fc.string(), (errorCode: KvbusErrorCode, message) => {
        const wire = structuredClone(encodeError(new KvbusError(errorCode, message)));
        expect(wire).toEqual({ name: 'KvbusError', code: errorCode, message });
        const decoded = decodeError(wire);
        expect(decoded).toBeInstanceOf(KvbusError);
        expect((decoded as KvbusError).code).toBe(errorCode);
        expect(decoded.message).toBe(message);
        expect(decoded.name).toBe('KvbusError');
      }),
    );
  });

  it("keep a plain Error's name and message, without making it a KvbusError", () => {
    for (const error of [new TypeError('bad type'), new RangeError('too far'), new Error('plain')]) {
      const wire = structuredClone(encodeError(error));
      expect(wire.code).toBeUndefined();
      const decoded = decodeError(wire);
      expect(decoded).not.toBeInstanceOf(KvbusError);
      expect(decoded.name).toBe(error.name);
      expect(decoded.message).toBe(error.message);
    }
    expect(encodeError('boom')).toEqual({ name: 'Error', message: 'boom' });
    expect(encodeError(undefined)).toEqual({ name: 'Error', message: 'undefined' });
  });

  it('drop a code that is not a kvbus code (a system error) when encoding', () => {
    const system = Object.assign(new Error('broken pipe'), { code: 'EPIPE' });
    const wire = encodeError(system);
    expect(wire).toEqual({ name: 'Error', code: undefined, message: 'broken pipe' });
    expect(isKvbusError(decodeError(wire))).toBe(false);
  });

  it('never build a KvbusError for a code outside ERROR_CODES', () => {
    const known = new Set<string>(ERROR_CODES);
    const foreign = fc.oneof(
      fc.constantFrom('toString', '__proto__', 'constructor', 'ERR_FOO', 'err_closed', 'EPIPE', ''),
      fc.string().filter((s) => !known.has(s)),
    );
    fc.assert(
      fc.property(foreign, fc.string(), fc.string(), (wireCode, name, message) => {
        const wire: WireError = { name, code: wireCode, message };
        const decoded = decodeError(wire);
        expect(decoded).not.toBeInstanceOf(KvbusError);
        expect(isKvbusError(decoded)).toBe(false);
        expect(decoded.message).toBe(message);
        expect(decoded.name).toBe(name);
      }),
    );
  });
});

describe('lost messages', () => {
  it('tags messages sent again as kvbus messages', () => {
    expect(isProtocolMessage([RESENT_REQUESTS, 0, 0])).toBe(true);
    expect(isProtocolMessage([RESENT_ANSWERS, 1, 1, 'x'])).toBe(true);
    expect(isProtocolMessage(['kvbus/3:x'])).toBe(false);
  });

  it('SentLog numbers every message, keeps those it is given, and forgets by number or by mark', () => {
    const log = new SentLog();
    const m1 = ['one'];
    const m3 = ['three'];
    const m4 = ['four'];
    expect(log.add(m1, 10)).toBe(1);
    expect(log.add(undefined, 0)).toBe(2); // counted, nothing to keep
    expect(log.add(m3, 20)).toBe(3);
    expect(log.add(m4, 30)).toBe(4);
    expect(log.size).toBe(3);
    expect(log.take(2)).toBeUndefined();
    expect(log.take(3)).toEqual([m3, 20]);
    expect(log.take(3)).toBeUndefined(); // taken once
    const forgotten: number[] = [];
    log.forgetThrough(3, (mark) => forgotten.push(mark));
    expect(forgotten).toEqual([10]); // not the taken one
    expect(log.size).toBe(1);
    log.forgetMarksThrough(29);
    expect(log.take(4)).toEqual([m4, 30]);
    log.forgetMarksThrough(30);
    expect(log.size).toBe(0);
    expect(log.posted).toBe(4);
  });

  it('SentLog stays bounded under a long run of messages forgotten as they go', () => {
    const log = new SentLog();
    for (let i = 1; i <= 100_000; i++) {
      log.add([i], i);
      if (i % 7 === 0) log.forgetThrough(i - 3);
    }
    expect(log.size).toBeLessThan(10);
    expect(log.take(100_000)).toEqual([[100_000], 100_000]);
  });

  it('Arrivals counts every arrival, holds back what follows a lost one until redone, and lets content sent again through', () => {
    const handled: unknown[] = [];
    const arrivals = new Arrivals((m) => handled.push(m[0]));
    arrivals.arrive(['a'], false);
    expect(arrivals.lost()).toBe(2);
    expect(arrivals.holding).toBe(true);
    arrivals.arrive(['b'], false);
    arrivals.arrive(['again'], true);
    expect(arrivals.lost()).toBe(5);
    arrivals.arrive(['c'], false);
    expect(handled).toEqual(['a', 'again']);
    expect(arrivals.redone(5)).toBe(false); // not the one waited for first
    expect(arrivals.redone(2)).toBe(true);
    expect(handled).toEqual(['a', 'again', 'b']);
    expect(arrivals.redone(5)).toBe(true);
    expect(handled).toEqual(['a', 'again', 'b', 'c']);
    expect(arrivals.holding).toBe(false);
    expect(arrivals.count).toBe(6);
  });
});
