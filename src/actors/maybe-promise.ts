import type { MaybePromise } from '../backends/backend.js';

/** True for a promise or anything shaped like one (an I/O backend's answer). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

/** Maps a result that may or may not be a promise, without adding a tick when it is not. */
export function mapMaybe<TIn, TOut>(value: MaybePromise<TIn>, fn: (value: TIn) => TOut): MaybePromise<TOut> {
  return isThenable(value) ? (value as Promise<TIn>).then(fn) : fn(value as TIn);
}
