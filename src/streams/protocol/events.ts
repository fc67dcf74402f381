import { EVENT_KINDS, type EventKind, type SubEvent } from '../../commands/events.js';

// An event on the wire is `sid, kind, ...fields` (see EVENT_KINDS); a message
// on a channel subscription, the bulk of the traffic, is only `-sid, data`.

const KIND_BY_TYPE = Object.fromEntries(EVENT_KINDS.map((kind) => [kind.type, kind])) as Record<SubEvent['type'], EventKind>;
const KIND_BY_CODE: Array<EventKind | undefined> = [];
for (const kind of EVENT_KINDS) KIND_BY_CODE[kind.code] = kind;

type Fields = Record<string, unknown>;

/**
 * Appends one subscription event to a batch.
 * @param out - the batch
 * @param sid - the subscription it is for
 * @param event - the event
 * @param channel - the subscription is to one channel, so a message need not repeat its name
 */
export function pushEvent(out: unknown[], sid: number, event: SubEvent, channel: boolean): void {
  if (channel && event.type === 'message') {
    out.push(-sid, event.data);
    return;
  }
  const kind = KIND_BY_TYPE[event.type];
  out.push(sid, kind.code);
  const fields = kind.fields;
  for (let i = 0; i < fields.length; i++) out.push((event as unknown as Fields)[fields[i]!]);
}

/**
 * The subscription an event at `at` is for.
 * @param m - the batch
 * @param at - where the event starts
 * @returns its sid
 */
export function eventSid(m: readonly unknown[], at: number): number {
  const sid = m[at] as number;
  return sid < 0 ? -sid : sid;
}

/**
 * Reads the event at `at`.
 * @param m - the batch
 * @param at - where the event starts
 * @param channel - the subscription's channel, for messages that omit it
 * @returns the event, or undefined for a kind this protocol does not know
 */
export function readEvent(m: readonly unknown[], at: number, channel: string): SubEvent | undefined {
  if ((m[at] as number) < 0) return { type: 'message', channel, data: m[at + 1] };
  const kind = KIND_BY_CODE[m[at + 1] as number];
  if (kind === undefined) return undefined;
  const event: Fields = { type: kind.type, ...kind.fixed };
  const fields = kind.fields;
  for (let i = 0; i < fields.length; i++) event[fields[i]!] = m[at + 2 + i];
  return event as unknown as SubEvent;
}

/**
 * Where the event after the one at `at` starts.
 * @param m - the batch
 * @param at - where the event starts
 * @returns the index of the next event
 */
export function nextEvent(m: readonly unknown[], at: number): number {
  return (m[at] as number) < 0 ? at + 2 : at + 2 + (KIND_BY_CODE[m[at + 1] as number]?.fields.length ?? 0);
}
