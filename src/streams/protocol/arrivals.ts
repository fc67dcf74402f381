/**
 * The data messages that arrive from the other side, counted in arrival order
 * whether they could be read or not (see framing.ts). After one that could not
 * be read, the messages behind it are held back until the other side says it
 * has sent that one's content again (`redone`), so nothing overtakes it; the
 * content sent again is handled at once.
 */
export class Arrivals {
  readonly #handle: (message: unknown[]) => void;
  #count = 0;
  /** While holding: the messages held back, and the numbers of the lost ones in their place. */
  #held: Array<unknown[] | number> | undefined;

  /**
   * @param handle - reads one message
   */
  constructor(handle: (message: unknown[]) => void) {
    this.#handle = handle;
  }

  /** Data messages arrived so far, read or not. */
  get count(): number {
    return this.#count;
  }

  /** True while messages are held back behind a lost one. */
  get holding(): boolean {
    return this.#held !== undefined;
  }

  /** How many messages are held back (lost ones included). */
  get held(): number {
    return this.#held?.length ?? 0;
  }

  /**
   * A data message arrived.
   * @param message - the message
   * @param resent - it is content of a lost message sent again: handled at once
   */
  arrive(message: unknown[], resent: boolean): void {
    this.#count++;
    if (this.#held !== undefined && !resent) this.#held.push(message);
    else this.#handle(message);
  }

  /**
   * A data message arrived that could not be read.
   * @returns its number, for the `lost` notice
   */
  lost(): number {
    const number = ++this.#count;
    (this.#held ??= []).push(number);
    return number;
  }

  /**
   * The other side sent again what lost message `number` carried: handle what was held behind it.
   * @param number - the lost message
   * @returns false when no message of that number was being waited for
   */
  redone(number: number): boolean {
    const held = this.#held;
    if (held === undefined || held[0] !== number) return false;
    held.shift();
    while (held.length > 0 && typeof held[0] !== 'number') this.#handle(held.shift() as unknown[]);
    if (held.length === 0) this.#held = undefined;
    return true;
  }
}
