// The timeout scan runs at least 4 times per requestTimeoutMs (and at least once a
// second), in ticks that divide the timeout evenly; a call times out within one
// tick after its time, so within 1.25 × the timeout (timeouts under 20 ms: within
// 5 ms of it, the shortest tick).
const MIN_TICKS_PER_TIMEOUT = 4;
const MAX_PERIOD_MS = 1000;
const MIN_PERIOD_MS = 5;

/**
 * One coarse, unreferenced timer for all of a client's call timeouts, made
 * once: a timer per call would cost more than the call. Calls remember the
 * tick they were made in; each tick, those older than the timeout expire.
 */
export class CallTimer {
  readonly #onTick: (lateTick: number) => void;
  #timeoutMs: number;
  #tick = 0;
  #ticksPerTimeout = MIN_TICKS_PER_TIMEOUT;
  #timer: NodeJS.Timeout | undefined;

  /**
   * @param timeoutMs - the timeout until {@link CallTimer.setTimeout} says otherwise
   * @param onTick - called each tick with the last tick whose calls are late
   */
  constructor(timeoutMs: number, onTick: (lateTick: number) => void) {
    this.#timeoutMs = timeoutMs;
    this.#onTick = onTick;
  }

  /** The current tick, to remember with a call. */
  get tick(): number {
    return this.#tick;
  }

  /** The timeout in force. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /** Changes the timeout (the store says what it is); the timer re-arms at the new pace when next started. */
  setTimeout(timeoutMs: number): void {
    this.#timeoutMs = timeoutMs;
    this.stop();
  }

  /** Starts ticking, if not already. */
  start(): void {
    if (this.#timer) return;
    const ticks = Math.max(MIN_TICKS_PER_TIMEOUT, Math.ceil(this.#timeoutMs / MAX_PERIOD_MS));
    const period = Math.max(MIN_PERIOD_MS, this.#timeoutMs / ticks);
    this.#ticksPerTimeout = Math.ceil(this.#timeoutMs / period);
    this.#timer = setInterval(() => this.#onTick(++this.#tick - this.#ticksPerTimeout - 1), period);
    this.#timer.unref();
  }

  /** Stops ticking. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
