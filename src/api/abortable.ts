import { describe, KvbusError } from '../errors.js';

/**
 * @internal Throws `ERR_BAD_ARGUMENT` unless `signal` is absent or an `AbortSignal`.
 * @param signal - the `signal` option of a call
 */
export function assertSignal(signal: unknown): asserts signal is AbortSignal | undefined {
  if (signal === undefined || signal instanceof AbortSignal) return;
  throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`signal\` to be an AbortSignal (from an AbortController), got ${describe(signal)}`);
}

/**
 * @internal The error of a call given up because its signal was aborted; the signal's reason is its cause.
 * @param signal - the aborted signal
 * @param what - the call, for the message (`'update("n")'`)
 * @returns a `KvbusError` with code `ERR_ABORTED`
 */
export function abortError(signal: AbortSignal, what: string): KvbusError {
  return new KvbusError('ERR_ABORTED', `${what} was aborted (its signal fired)`, { cause: signal.reason });
}

/**
 * @internal Throws `ERR_ABORTED` if the signal was aborted.
 * @param signal - the call's signal, if any
 * @param what - the call, for the message
 */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw abortError(signal, what);
}

/**
 * @internal Waits for `promise`, or rejects with `ERR_ABORTED` as soon as `signal`
 * is aborted. The work behind `promise` is not undone: a command already sent
 * to the store may still be applied; only the caller stops waiting for its answer
 * (the answer, or its failure, is then dropped).
 * @param promise - the pending answer
 * @param signal - the call's signal; without one, `promise` is returned as it is
 * @param what - the call, for the message
 * @returns the answer, unless the signal came first
 */
export function abortable<TValue>(promise: Promise<TValue>, signal: AbortSignal | undefined, what: string): Promise<TValue> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(abortError(signal, what));
  }
  return new Promise<TValue>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => {});
      reject(abortError(signal, what));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
