interface Straggler {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  type: string;
  tick: number;
}

// Past this many slots the arrays are rebased, and calls still pending far
// behind the newest move to a Map, so one slow call cannot grow the arrays
// without bound.
const REBASE_AT = 4096;

/**
 * The calls of one client that await an answer. Sequence numbers only grow
 * and answers mostly come in order, so the calls live in parallel arrays
 * indexed by `seq - base` rather than in a Map of records: no entry and no
 * record to allocate per call, which is most of a busy worker's garbage.
 */
export class PendingCalls {
  #base = 1;
  #resolves: Array<((value: unknown) => void) | undefined> = [];
  #rejects: Array<((error: unknown) => void) | undefined> = [];
  #types: string[] = [];
  #ticks: number[] = [];
  /** Index of the oldest call that may still be pending in the arrays. */
  #oldest = 0;
  /** Calls pending in the arrays. */
  #inArrays = 0;
  readonly #stragglers = new Map<number, Straggler>();
  /** Calls that no timeout concerns (a lock acquire bounds its own wait). */
  readonly #untimed = new Map<number, Straggler>();

  /** Calls awaiting an answer. */
  get size(): number {
    return this.#inArrays + this.#stragglers.size + this.#untimed.size;
  }

  /**
   * Records a call that {@link PendingCalls.expire} never times out: its answer may
   * rightly come much later (a lock acquire waits its turn, bounded by its own `waitMs`).
   * @param seq - its sequence number
   * @param resolve - settles it with a value
   * @param reject - settles it with an error
   * @param type - the command's type
   */
  addUntimed(seq: number, resolve: (value: unknown) => void, reject: (error: unknown) => void, type: string): void {
    this.#untimed.set(seq, { resolve, reject, type, tick: Number.POSITIVE_INFINITY });
  }

  /**
   * Records a call.
   * @param seq - its sequence number (greater than every one recorded before)
   * @param resolve - settles it with a value
   * @param reject - settles it with an error
   * @param type - the command's type, for a timeout's message
   * @param tick - the timeout tick it was made in
   */
  add(seq: number, resolve: (value: unknown) => void, reject: (error: unknown) => void, type: string, tick: number): void {
    if (this.#inArrays === 0) this.#rebase(seq);
    else if (seq - this.#base >= REBASE_AT) this.#moveStragglers(seq);
    const index = seq - this.#base;
    this.#resolves[index] = resolve;
    this.#rejects[index] = reject;
    this.#types[index] = type;
    this.#ticks[index] = tick;
    this.#inArrays++;
  }

  /**
   * Settles a call, if it is still pending.
   * @param seq - its sequence number
   * @param ok - resolve (true) or reject (false)
   * @param value - the value or the error
   * @returns false when no such call was pending (late, or timed out)
   */
  settle(seq: number, ok: boolean, value: unknown): boolean {
    const index = seq - this.#base;
    const resolve = index >= 0 ? this.#resolves[index] : undefined;
    if (resolve === undefined) return this.#settleStraggler(seq, ok, value) || this.#settleUntimed(seq, ok, value);
    const reject = this.#rejects[index]!;
    this.#resolves[index] = undefined;
    this.#rejects[index] = undefined;
    this.#inArrays--;
    if (ok) resolve(value);
    else reject(value);
    return true;
  }

  /**
   * Rejects the calls made at or before `tick`, oldest first.
   * @param tick - the last tick whose calls are late
   * @param error - builds the error from a call's type
   */
  expire(tick: number, error: (type: string) => Error): void {
    for (const [seq, call] of this.#stragglers) {
      if (call.tick > tick) break;
      this.#settleStraggler(seq, false, error(call.type));
    }
    for (; this.#oldest < this.#resolves.length && this.#inArrays > 0; this.#oldest++) {
      const index = this.#oldest;
      if (this.#resolves[index] === undefined) continue;
      if (this.#ticks[index]! > tick) return;
      this.settle(index + this.#base, false, error(this.#types[index]!));
    }
  }

  /**
   * Rejects every pending call.
   * @param error - the reason
   */
  rejectAll(error: unknown): void {
    const rejects = this.#rejects;
    const stragglers = [...this.#stragglers.values(), ...this.#untimed.values()];
    this.#stragglers.clear();
    this.#untimed.clear();
    this.#rebase(this.#base + rejects.length);
    for (const call of stragglers) call.reject(error);
    for (const reject of rejects) reject?.(error);
  }

  #settleStraggler(seq: number, ok: boolean, value: unknown): boolean {
    return settleFrom(this.#stragglers, seq, ok, value);
  }

  #settleUntimed(seq: number, ok: boolean, value: unknown): boolean {
    return settleFrom(this.#untimed, seq, ok, value);
  }

  #moveStragglers(seq: number): void {
    for (let index = this.#oldest; index < this.#resolves.length; index++) {
      const resolve = this.#resolves[index];
      if (resolve === undefined) continue;
      this.#stragglers.set(index + this.#base, {
        resolve,
        reject: this.#rejects[index]!,
        type: this.#types[index]!,
        tick: this.#ticks[index]!,
      });
    }
    this.#rebase(seq);
  }

  #rebase(base: number): void {
    this.#base = base;
    this.#resolves = [];
    this.#rejects = [];
    this.#types = [];
    this.#ticks = [];
    this.#oldest = 0;
    this.#inArrays = 0;
  }
}

/** Settles call `seq` of `calls` and forgets it; false when it is not there. */
function settleFrom(
  calls: Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>,
  seq: number,
  ok: boolean,
  value: unknown,
): boolean {
  const call = calls.get(seq);
  if (!call) return false;
  calls.delete(seq);
  if (ok) call.resolve(value);
  else call.reject(value);
  return true;
}
