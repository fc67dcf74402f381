import type { Observable, Subscriber } from 'rxjs';
import type { SubEvent } from '../commands/events.js';
import type { Link, SubscriptionHandlers } from '../commands/link.js';
import type { Topic } from '../types.js';
import { IterableObservable, type IterationBuffer } from './iterable-observable.js';

// Heap per subscription: a store with 100 000 subscriptions must not pay for a
// closure (and its context) per callback. Each observable keeps its link, topic
// and map as fields and subscribes through one shared function; each
// subscription's handlers are one object whose methods live on its prototype.

/** How a topic's events become what the observer sees: `next` zero or more times per event. */
type TopicMap<TOut> = (event: SubEvent, next: (value: TOut) => void) => void;

/** The observable of one topic: what its subscriptions need, as fields instead of a closure. */
class TopicObservable<TOut> extends IterableObservable<TOut> {
  constructor(
    readonly link: Link,
    readonly topic: Topic,
    readonly map: TopicMap<TOut>,
    buffer: IterationBuffer,
  ) {
    super(subscribeTopic as (subscriber: Subscriber<TOut>) => void, buffer);
  }
}

// RxJS calls the subscribe function with `this` bound to the observable.
function subscribeTopic<TOut>(this: Observable<TOut>, subscriber: Subscriber<TOut>): () => void {
  const { link, topic, map } = this as TopicObservable<TOut>;
  return link.subscribe(topic, new TopicHandlers(subscriber, map));
}

/** The subscriber `emit` feeds: the one whose `map` is running (delivery is synchronous). */
let emitting: Subscriber<unknown> | undefined;

// The `next` every map is handed: one function for all subscriptions, not one per subscription.
function emit(value: unknown): void {
  emitting!.next(value);
}

/** The handlers of one subscription of a topic. */
class TopicHandlers<TOut> implements SubscriptionHandlers {
  readonly #subscriber: Subscriber<TOut>;
  readonly #map: TopicMap<TOut>;

  constructor(subscriber: Subscriber<TOut>, map: TopicMap<TOut>) {
    this.#subscriber = subscriber;
    this.#map = map;
  }

  next(event: SubEvent): void {
    // An observer may cause another delivery from inside its callback: restore the outer one after.
    const outer = emitting;
    emitting = this.#subscriber as Subscriber<unknown>;
    try {
      this.#map(event, emit);
    } finally {
      emitting = outer;
    }
  }

  error(error: unknown): void {
    this.#subscriber.error(error);
  }

  complete(): void {
    this.#subscriber.complete();
  }
}

/**
 * @internal An observable of one subscription of `link`: `map` turns each event into what
 * the observer sees (or nothing).
 * @param buffer - the bound of a `for await` loop's buffer
 */
export function observeTopic<TOut>(link: Link, topic: Topic, map: TopicMap<TOut>, buffer: IterationBuffer): IterableObservable<TOut> {
  return new TopicObservable<TOut>(link, topic, map, buffer);
}

/**
 * @internal `store.watch(key)`: the key's value now, then after each change (`undefined`
 * when absent); a `for await` loop over it keeps only the latest value.
 */
export function watchKey<TValue>(link: Link, key: string): IterableObservable<TValue | undefined> {
  return new IterableObservable<TValue | undefined>(
    (subscriber) => link.subscribe({ kind: 'key', name: key }, new WatchHandlers(subscriber)),
    'latest',
  );
}

/** The handlers of one `watch`. */
class WatchHandlers<TValue> implements SubscriptionHandlers {
  readonly #subscriber: Subscriber<TValue | undefined>;
  // A clear concerns a watched key only if it held a value.
  #present = false;
  // Revisions order what this observer has seen: on a backend whose change events
  // travel apart from its replies (Redis), a change may overtake the first snapshot.
  #seen = -1;

  constructor(subscriber: Subscriber<TValue | undefined>) {
    this.#subscriber = subscriber;
  }

  next(event: SubEvent): void {
    if (event.type === 'message' || event.type === 'end' || event.revision <= this.#seen) return;
    this.#seen = event.revision;
    if (event.type === 'snapshot' || event.type === 'set') {
      this.#present = event.value !== undefined;
      this.#subscriber.next(event.value as TValue | undefined);
    } else if (event.type !== 'clear' || this.#present) {
      this.#present = false;
      this.#subscriber.next(undefined);
    }
  }

  error(error: unknown): void {
    this.#subscriber.error(error);
  }

  complete(): void {
    this.#subscriber.complete();
  }
}
