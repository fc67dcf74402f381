// The wire form of subscription events: a run of events read back must give
// the events that were written, whatever their kinds and however they mix,
// and a reader must be able to step over events of subscriptions it no longer has.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SubEvent } from '../../src/commands/events.js';
import { eventSid, nextEvent, pushEvent, readEvent } from '../../src/streams/protocol/events.js';
import { ANSWER_HEADER, ANSWERS } from '../../src/streams/protocol/framing.js';

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
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 5 }), events), { maxLength: 40 }), (written) => {
        const batch: unknown[] = [ANSWERS, 0];
        // Subscriptions 1 and 2 are to the channel CHANNEL; the others are patterns, keys or globs.
        const channelKnown = (sid: number) => sid <= 2;
        const usable = written.filter(([sid, event]) => !(channelKnown(sid) && event.type === 'message' && event.channel !== CHANNEL));
        for (const [sid, event] of usable) pushEvent(batch, sid, event, channelKnown(sid) && event.type === 'message');
        const read: Array<[number, SubEvent]> = [];
        for (let at = ANSWER_HEADER; at < batch.length; at = nextEvent(batch, at))
          read.push([eventSid(batch, at), readEvent(batch, at, CHANNEL)!]);
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
});
