import type { SubEvent } from '../commands/events.js';
import type { Link, SubscriptionHandlers } from '../commands/link.js';
import type { Topic } from '../types.js';
import { IterableObservable, type IterationBuffer } from './iterable-observable.js';

/**
 * @internal An observable of one subscription of `link`: `map` turns each event into what
 * the observer sees (or nothing).
 * @param buffer - the bound of a `for await` loop's buffer
 */
export function observeTopic<TOut>(
  link: Link,
  topic: Topic,
  map: (event: SubEvent, next: (value: TOut) => void) => void,
  buffer: IterationBuffer,
): IterableObservable<TOut> {
  return new IterableObservable<TOut>((subscriber) => {
    const next = (value: TOut) => subscriber.next(value);
    return link.subscribe(
      topic,
      handlers(subscriber, (event) => map(event, next)),
    );
  }, buffer);
}

/**
 * @internal `store.watch(key)`: the key's value now, then after each change (`undefined`
 * when absent); a `for await` loop over it keeps only the latest value.
 */
export function watchKey<TValue>(link: Link, key: string): IterableObservable<TValue | undefined> {
  return new IterableObservable<TValue | undefined>((subscriber) => {
    // A clear concerns a watched key only if it held a value.
    let present = false;
    // Revisions order what this observer has seen: on a backend whose change events
    // travel apart from its replies (Redis), a change may overtake the first snapshot.
    let seen = -1;
    return link.subscribe(
      { kind: 'key', name: key },
      handlers(subscriber, (event: SubEvent) => {
        if (event.type === 'message' || event.type === 'end' || event.revision <= seen) return;
        seen = event.revision;
        if (event.type === 'snapshot' || event.type === 'set') {
          present = event.value !== undefined;
          subscriber.next(event.value as TValue | undefined);
        } else if (event.type !== 'clear' || present) {
          present = false;
          subscriber.next(undefined);
        }
      }),
    );
  }, 'latest');
}

function handlers(subscriber: { error(error: unknown): void; complete(): void }, next: (event: SubEvent) => void): SubscriptionHandlers {
  return { next, error: (error) => subscriber.error(error), complete: () => subscriber.complete() };
}
