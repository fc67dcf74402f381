// Past this many slots an emptied log starts over (and a long one drops the records it forgot).
const RESET_AT = 3 * 1024;

/**
 * The data messages one side has posted and the other side may not have read
 * yet, so that a message reported lost (see framing.ts) can be sent again item
 * by item. Messages are numbered from 1 in the order they were posted; each
 * record keeps the message (not a copy: it is not touched after posting) and a
 * number the owner chooses (the client: the message's first seq; the store:
 * how many events it carried). Records are flat (number, message, mark)
 * triples in one array with a moving head, so keeping and forgetting one costs
 * O(1) and allocates nothing: this runs once per message on the hot path.
 */
export class SentLog {
  #posted = 0;
  #records: unknown[] = [];
  #head = 0;

  /** Data messages posted so far (the number of the last one). */
  get posted(): number {
    return this.#posted;
  }

  /** Records kept. */
  get size(): number {
    return (this.#records.length - this.#head) / 3;
  }

  /**
   * Counts one more message posted.
   * @param message - the message, to keep; undefined when losing it would lose nothing
   * @param mark - the owner's number for it
   * @returns the message's number
   */
  add(message: unknown[] | undefined, mark: number): number {
    const number = ++this.#posted;
    if (message !== undefined) this.#records.push(number, message, mark);
    return number;
  }

  /**
   * Forgets the records of the messages numbered up to `number` (the other side read them).
   * @param number - the last message the other side has received
   * @param forget - called with the mark of each record forgotten (not of those taken)
   */
  forgetThrough(number: number, forget?: (mark: number) => void): void {
    const records = this.#records;
    let head = this.#head;
    for (; head < records.length && (records[head] as number) <= number; head += 3) {
      if (forget && records[head + 1] !== undefined) forget(records[head + 2] as number);
      records[head + 1] = undefined;
    }
    this.#moveHead(head);
  }

  /**
   * Forgets the records, oldest first, while their mark is at most `mark` (marks grow with numbers,
   * but for messages sent again, which wait behind the ones before them).
   * @param mark - the largest mark to forget
   */
  forgetMarksThrough(mark: number): void {
    const records = this.#records;
    let head = this.#head;
    for (; head < records.length && (records[head + 2] as number) <= mark; head += 3) records[head + 1] = undefined;
    this.#moveHead(head);
  }

  /**
   * Takes the record of message `number` out of the log, to send it again.
   * @param number - the message's number
   * @returns the message and its mark, or undefined when it is not kept (forgotten, taken, never kept)
   */
  take(number: number): [message: unknown[], mark: number] | undefined {
    const records = this.#records;
    for (let i = this.#head; i < records.length; i += 3) {
      if (records[i] !== number) continue;
      const message = records[i + 1] as unknown[] | undefined;
      if (message === undefined) return undefined;
      records[i + 1] = undefined;
      return [message, records[i + 2] as number];
    }
    return undefined;
  }

  #moveHead(head: number): void {
    const length = this.#records.length;
    if (head < RESET_AT) {
      this.#head = head;
    } else if (head === length) {
      this.#records = [];
      this.#head = 0;
    } else if (head * 2 > length) {
      this.#records = this.#records.slice(head);
      this.#head = 0;
    } else {
      this.#head = head;
    }
  }
}
