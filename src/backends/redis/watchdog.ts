// Bounding Redis commands in time, and mapping their failures to ERR_BACKEND.
import { isKvbusError, KvbusError } from '../../errors.js';

/**
 * Bounds commands sent while the connection looked up. A command written just
 * as the connection dies can wait in node-redis's queue for the reconnect: past
 * commandTimeoutMs (checked by one coarse timer, not one timer per command),
 * its caller gets ERR_BACKEND (whether Redis applied it is then unknown, as for
 * any timeout).
 */
export class Watchdog {
  readonly #timeout: number;
  readonly #tracked = new Set<{ at: number; reject: (error: unknown) => void }>();
  /** Periods of the timer so far: a command remembers the one it was sent in. */
  #periods = 0;
  #timer: NodeJS.Timeout | undefined;

  /** @param timeout - commandTimeoutMs */
  constructor(timeout: number) {
    this.#timeout = timeout;
  }

  /**
   * Maps the failure of `command` to a KvbusError and, when `track` (the
   * connection was up when it was sent), bounds it by commandTimeoutMs.
   */
  bound<TResult>(command: Promise<TResult>, track: boolean): Promise<TResult> {
    // One promise per command does both jobs: the bound and the error mapping.
    const tracked = track ? { at: this.#periods, reject: (_: unknown) => {} } : undefined;
    if (tracked && !this.#timer) {
      this.#timer = setInterval(() => this.#rejectLate(), this.#timeout / 4);
      this.#timer.unref();
    }
    return new Promise((resolve, reject) => {
      if (tracked) {
        tracked.reject = reject;
        this.#tracked.add(tracked);
      }
      command.then(
        (value) => {
          if (tracked) this.#tracked.delete(tracked);
          resolve(value);
        },
        (error: unknown) => {
          if (tracked) this.#tracked.delete(tracked);
          reject(isKvbusError(error) ? error : backendError(error, 'run a Redis command'));
        },
      );
    });
  }

  #rejectLate(): void {
    const period = ++this.#periods;
    // In the order they were sent: the first that is not late ends the scan.
    for (const tracked of this.#tracked) {
      if (period - tracked.at <= 4) break;
      this.#tracked.delete(tracked);
      tracked.reject(new KvbusError('ERR_BACKEND', `Redis did not answer within ${this.#timeout} ms (commandTimeoutMs): is it reachable?`));
    }
  }

  /** Stops the timer (commands still tracked then wait for node-redis alone). */
  stop(): void {
    clearInterval(this.#timer);
  }
}

/** Rejects with `onTimeout()` unless `promise` settles within `ms`. */
export function withTimeout<TValue>(promise: Promise<TValue>, ms: number, onTimeout: () => Error): Promise<TValue> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A failure of node-redis as ERR_BACKEND, saying what kvbus was doing. */
export function backendError(cause: unknown, doing: string): KvbusError {
  const timedOut = cause instanceof Error && cause.constructor.name === 'TimeoutError';
  const message = timedOut
    ? 'no answer within commandTimeoutMs (is Redis reachable?)'
    : cause instanceof Error
      ? cause.message
      : String(cause);
  return new KvbusError('ERR_BACKEND', `Could not ${doing}: ${message}`, { cause });
}
