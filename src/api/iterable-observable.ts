import { Observable, type Subscriber, type TeardownLogic } from 'rxjs';
import { SUBSCRIBER_BUFFER_SIZE, SUBSCRIBER_OVERFLOW } from '../defaults.js';
import { KvbusError } from '../errors.js';
import type { SubscriberBufferOptions } from '../types.js';

/** The buffer of one `for await` loop: the store's subscriber buffer, or the latest value only (`watch`). */
export type IterationBuffer = SubscriberBufferOptions | 'latest';

/** The default buffer of a loop: the same as a remote subscriber's (10 000 messages, drop-oldest). */
export const DEFAULT_ITERATION_BUFFER: SubscriberBufferOptions = { size: SUBSCRIBER_BUFFER_SIZE, overflow: SUBSCRIBER_OVERFLOW };

/**
 * An `Observable` that can also be consumed with `for await`. Values that
 * arrive while the loop body runs wait in a bounded buffer: when it is full,
 * `'drop-oldest'` forgets the oldest waiting value, `'drop-newest'` the value
 * that arrived, and `'error'` ends the loop with `ERR_DISCONNECTED`. A
 * `'latest'` buffer (a `watch`) keeps only the newest value. An error of the
 * observable rejects the pending `next()`; completion ends the loop.
 * (`pipe()` returns a plain `Observable`, as RxJS's operators build their own.)
 */
export class IterableObservable<T> extends Observable<T> implements AsyncIterable<T> {
  // Satisfies `KvbusObservable<T>` (types.ts), the type the Store interface names.
  readonly #buffer: IterationBuffer;

  /**
   * @param subscribe - as RxJS's `new Observable(subscribe)`
   * @param buffer - how values wait for a slow loop
   */
  constructor(subscribe: (subscriber: Subscriber<T>) => TeardownLogic, buffer: IterationBuffer = DEFAULT_ITERATION_BUFFER) {
    super(subscribe);
    this.#buffer = buffer;
  }

  /**
   * Makes any observable iterable (for `peers()`, which comes from a `Subject`).
   * @param source - the observable
   * @param buffer - how values wait for a slow loop
   * @returns an iterable observable that subscribes to `source`
   */
  static from<T>(source: Observable<T>, buffer?: IterationBuffer): IterableObservable<T> {
    return new IterableObservable<T>((subscriber) => source.subscribe(subscriber), buffer);
  }

  /** Subscribes, and hands out the values one `next()` at a time. */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return iterate(this, this.#buffer);
  }
}

type Settle<T> = { resolve(result: IteratorResult<T>): void; reject(error: unknown): void };

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

function iterate<T>(source: Observable<T>, buffer: IterationBuffer): AsyncIterator<T> {
  const size = buffer === 'latest' ? 1 : buffer.size;
  const overflow = buffer === 'latest' ? 'drop-oldest' : buffer.overflow;
  // A queue read from `head`: shifting a 10 000-long array for every value would copy it each time.
  let queue: T[] = [];
  let head = 0;
  let waiter: Settle<T> | undefined;
  let ended = false;
  let failure: { error: unknown } | undefined;

  const finish = () => {
    ended = true;
    subscription?.unsubscribe();
  };
  const fail = (error: unknown) => {
    if (ended) return;
    if (waiter) {
      const w = waiter;
      waiter = undefined;
      finish();
      return w.reject(error);
    }
    failure = { error };
    finish();
  };
  let subscription: { unsubscribe(): void } | undefined;
  subscription = source.subscribe({
    next(value) {
      if (ended) return;
      if (waiter) {
        const w = waiter;
        waiter = undefined;
        return w.resolve({ done: false, value });
      }
      if (queue.length - head >= size) {
        if (overflow === 'drop-newest') return;
        if (overflow === 'error') {
          return fail(
            new KvbusError(
              'ERR_DISCONNECTED',
              `This loop fell ${size} messages behind and was ended (subscriberBuffer.overflow: 'error'); consume faster or choose 'drop-oldest'`,
            ),
          );
        }
        // Drop the oldest: its slot is cleared (nothing keeps it alive) and the array compacted,
        // so a slow loop holds `size` values, never all it was ever sent.
        queue[head++] = undefined as T;
        if (head > 1024 && head * 2 > queue.length) {
          queue = queue.slice(head);
          head = 0;
        }
      }
      queue.push(value);
    },
    error: fail,
    complete() {
      if (ended) return;
      ended = true;
      if (waiter) {
        const w = waiter;
        waiter = undefined;
        w.resolve(DONE);
      }
    },
  });
  // The observable ended while subscribing (a synchronous error or completion).
  if (ended) subscription.unsubscribe();

  return {
    next(): Promise<IteratorResult<T>> {
      if (head < queue.length) {
        const value = queue[head++] as T;
        if (head === queue.length) {
          queue = [];
          head = 0;
        } else if (head > 1024 && head * 2 > queue.length) {
          queue = queue.slice(head);
          head = 0;
        }
        return Promise.resolve({ done: false, value });
      }
      if (failure) {
        const { error } = failure;
        failure = undefined;
        return Promise.reject(error);
      }
      if (ended) return Promise.resolve(DONE);
      return new Promise((resolve, reject) => {
        waiter = { resolve, reject };
      });
    },
    return(): Promise<IteratorResult<T>> {
      // `break`, `return` or a throw in the loop body: stop listening and drop what waits.
      queue = [];
      head = 0;
      failure = undefined;
      finish();
      if (waiter) {
        const w = waiter;
        waiter = undefined;
        w.resolve(DONE);
      }
      return Promise.resolve(DONE);
    },
  };
}
