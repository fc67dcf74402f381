// Bounded waits: nothing here can hang a test.
import { filter, firstValueFrom, type Observable, type Subscription, throwError, timeout } from 'rxjs';
import type { MainStore, StoreStats } from '../../src/index.js';

/** How long any single wait may take before it fails (the fixtures in test/fixtures wait as long). */
export const WAIT_MS = 8_000;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds (bounded); the failure says what was awaited. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, ms = WAIT_MS, every = 10): Promise<void> {
  const deadline = Date.now() + ms;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError ? ` (last error: ${(lastError as Error).message})` : '';
      throw new Error(`Timed out after ${ms} ms waiting for ${what}${detail}`);
    }
    await sleep(every);
  }
}

/** Retries `fn` until it resolves (bounded); resolves to its value. */
export async function eventually<T>(fn: () => Promise<T>, what: string, ms = WAIT_MS, every = 50): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}; last error: ${(error as Error).message}`);
    }
    await sleep(every);
  }
}

/** Polls `store.stats()` until `check` holds; the failure shows the last stats seen. */
export async function waitForStats(
  store: Pick<MainStore, 'stats'>,
  check: (stats: StoreStats) => boolean,
  what: string,
  ms = WAIT_MS,
): Promise<StoreStats> {
  let last: StoreStats | undefined;
  try {
    await waitUntil(async () => check((last = await store.stats())), what, ms);
  } catch (error) {
    throw new Error(`${(error as Error).message}; last stats: ${JSON.stringify(last)}`);
  }
  return last!;
}

/** The first value of `source` that matches, or a rejection after `ms`. Subscribes at once. */
export function nextValue<T, S extends T>(source: Observable<T>, match: (value: T) => value is S, what?: string, ms?: number): Promise<S>;
export function nextValue<T>(source: Observable<T>, match?: (value: T) => boolean, what?: string, ms?: number): Promise<T>;
export function nextValue<T>(source: Observable<T>, match: (value: T) => boolean = () => true, what = 'a value', ms = WAIT_MS): Promise<T> {
  return firstValueFrom(
    source.pipe(
      filter(match),
      timeout({ first: ms, with: () => throwError(() => new Error(`Timed out after ${ms} ms waiting for ${what}`)) }),
    ),
  );
}

/** Everything an observable emits, kept for assertions, with bounded waits on it. */
export class Recorder<T> {
  readonly values: T[] = [];
  completed = false;
  error: unknown = undefined;
  readonly subscription: Subscription;

  constructor(source: Observable<T>) {
    this.subscription = source.subscribe({
      next: (value) => this.values.push(value),
      error: (error) => (this.error = error),
      complete: () => (this.completed = true),
    });
  }

  /** Waits until at least `n` values arrived. */
  async count(n: number, what = `${n} values`, ms = WAIT_MS): Promise<T[]> {
    await waitUntil(() => this.values.length >= n, `${what} (got ${JSON.stringify(this.values.length)})`, ms);
    return this.values;
  }

  /** Waits until some value matches. */
  async some(match: (value: T) => boolean, what = 'a matching value', ms = WAIT_MS): Promise<T> {
    await waitUntil(() => this.values.some(match), what, ms);
    return this.values.find(match)!;
  }

  unsubscribe(): void {
    this.subscription.unsubscribe();
  }
}

export function record<T>(source: Observable<T>): Recorder<T> {
  return new Recorder(source);
}

/** Recorders made for one test (or one block), all unsubscribed at once by `unsubscribeAll`. Both methods may be passed around unbound. */
export class Recorders {
  readonly #recorders: Array<Recorder<unknown>> = [];

  /** Records `source` (see {@link record}) until `unsubscribeAll`. */
  readonly rec = <T>(source: Observable<T>): Recorder<T> => {
    const recorder = record(source);
    this.#recorders.push(recorder as Recorder<unknown>);
    return recorder;
  };

  readonly unsubscribeAll = (): void => {
    for (const recorder of this.#recorders.splice(0)) recorder.unsubscribe();
  };
}
