import { copyOut, isPrimitive } from '../clone.js';
import { subscribeCommand } from '../commands/bus.js';
import type { Connection } from '../commands/connection.js';
import type { SubEvent } from '../commands/events.js';
import type { Session } from '../commands/gate.js';
import type { Link, SubscriptionHandlers } from '../commands/link.js';
import type { AnySpec, Command } from '../commands/table.js';
import { KvbusError } from '../errors.js';
import { PendingCalls } from '../pending-calls.js';
import type { Topic } from '../types.js';
import type { StoreActor } from './store-actor.js';

const NOTHING = Symbol('nothing');

/**
 * The main thread's own client: a {@link Link} for the store API on one side,
 * a {@link Connection} of the actor on the other. Each observer is its own
 * subscription in the actor (so counts are per observer), and values that
 * would alias the store are copied on their way out.
 */
export class LocalLink implements Link, Connection {
  readonly id = 0;
  readonly kind = 'local';
  readonly trusted = true;
  readonly #actor: StoreActor;
  readonly #session: Session;
  readonly #copyOut: boolean;
  /** Calls whose answer comes later (an I/O backend): arrays indexed by sequence number, no record per call. */
  readonly #pending = new PendingCalls();
  readonly #subs = new Map<number, SubscriptionHandlers>();
  #seq = 0;
  #nextSid = 0;
  // The command being sent right now, and its answer if the actor gave it at
  // once: most commands complete inside commands$.next(), and then the reply
  // needs no pending entry and no `new Promise`.
  #inline = 0;
  #inlineOk = true;
  #inlineValue: unknown = NOTHING;
  /** The command being sent answers with a value made for it (its descriptor says `fresh`): no copy. */
  #inlineFresh = false;
  #answer: unknown = NOTHING;
  #answerOk = true;
  #lastEvent: SubEvent | undefined;
  #lastCopy: SubEvent | undefined;

  /**
   * @param actor - the store actor
   * @param copyOut - copy values that leave the store (copy mode with a backend that shares values)
   */
  constructor(actor: StoreActor, copyOut: boolean) {
    this.#actor = actor;
    this.#copyOut = copyOut;
    this.#session = actor.open(this);
  }

  request(cmd: Command, spec?: AnySpec): Promise<unknown> {
    const seq = this.#dispatch(cmd, spec);
    const value = this.#answer;
    if (value !== NOTHING) return this.#answerOk ? Promise.resolve(value) : Promise.reject(value);
    return new Promise((resolve, reject) => this.#pending.add(seq, resolve, reject, cmd.type, 0));
  }

  /**
   * Runs a command now and returns its reply, for `store.sync` in the main thread.
   * @param cmd - the command
   * @returns the reply's value; throws its error
   */
  requestSync(cmd: Command, spec?: AnySpec): unknown {
    if (this.#actor.busy) {
      // The actor is inside a command (this is a subscriber callback): running this one
      // now would be re-entrant, and waiting for it would block the thread that must run it.
      throw new KvbusError(
        'ERR_WOULD_DEADLOCK',
        'store.sync cannot run inside a subscriber callback of the main thread: use the async API (await store.get(...)) there',
      );
    }
    this.#dispatch(cmd, spec);
    const value = this.#answer;
    if (value === NOTHING) throw new KvbusError('ERR_WOULD_DEADLOCK', 'The store could not answer synchronously: use the async API');
    if (!this.#answerOk) throw value;
    return value;
  }

  /** Sends a command; if the actor answered at once, the answer is in #answer / #answerOk. */
  #dispatch(cmd: Command, spec?: AnySpec): number {
    const seq = ++this.#seq;
    // A request can start inside another one (from a subscriber callback): keep the outer one's state.
    const outer = this.#inline;
    const outerValue = this.#inlineValue;
    const outerOk = this.#inlineOk;
    const outerFresh = this.#inlineFresh;
    this.#inline = seq;
    this.#inlineValue = NOTHING;
    this.#inlineFresh = spec?.fresh === true;
    this.#session.send(seq, cmd, spec);
    this.#answer = this.#inlineValue;
    this.#answerOk = this.#inlineOk;
    this.#inline = outer;
    this.#inlineValue = outerValue;
    this.#inlineOk = outerOk;
    this.#inlineFresh = outerFresh;
    return seq;
  }

  reply(seq: number, ok: boolean, value: unknown): void {
    const inline = seq === this.#inline && this.#inlineValue === NOTHING;
    if (ok && this.#copyOut && !isPrimitive(value) && !(inline && this.#inlineFresh)) value = copyOut(value, 'a reply');
    if (inline) {
      this.#inlineOk = ok;
      this.#inlineValue = value;
      return;
    }
    this.#pending.settle(seq, ok, value);
  }

  subscribe(topic: Topic, handlers: SubscriptionHandlers): () => void {
    const sid = ++this.#nextSid;
    this.#subs.set(sid, handlers);
    this.request(subscribeCommand(sid, topic)).catch((error) => {
      if (this.#subs.delete(sid)) handlers.error(error);
    });
    return () => {
      if (this.#subs.delete(sid) && !this.#actor.closed) this.request({ type: 'sub.remove', sid }).catch(() => {});
    };
  }

  deliver(sid: number, event: SubEvent): void {
    this.#subs.get(sid)?.next(this.#copyEvent(event));
  }

  endSubscription(sid: number, error: unknown): void {
    const handlers = this.#subs.get(sid);
    if (handlers && this.#subs.delete(sid)) handlers.error(error);
  }

  end(): void {
    const error = new KvbusError('ERR_CLOSED', 'The store was closed while this call was pending');
    this.#pending.rejectAll(error);
    const subs = [...this.#subs.values()];
    this.#subs.clear();
    for (const handlers of subs) handlers.complete();
  }

  close(): Promise<void> {
    return this.#actor.close();
  }

  /**
   * Copies the value a change carries, once per event: observers of one event in
   * this thread share the copy (as with any Subject), and none of them aliases the store.
   * Published data needs no copy here: the publisher already copied it.
   */
  #copyEvent(event: SubEvent): SubEvent {
    if (!this.#copyOut || event.type === 'message' || !('value' in event) || isPrimitive(event.value)) return event;
    if (event !== this.#lastEvent) {
      this.#lastEvent = event;
      this.#lastCopy = { ...event, value: copyOut(event.value, `the value of key ${JSON.stringify(event.key)}`) };
    }
    return this.#lastCopy!;
  }
}
