/**
 * The data messages one side has posted and the other side may not have read
 * yet, so that a message reported lost (see framing.ts) can be sent again item
 * by item. Messages are numbered from 1 in the order they were posted; each
 * record keeps the message (not a copy: it is not touched after posting) and a
 * number the owner chooses (the client: the message's first seq; the store:
 * how many events it carried). Records live in parallel arrays with a moving
 * head, so keeping and forgetting one costs O(1) and allocates nothing.
 */
export class SentLog {
  #posted = 0;
  #numbers: number[] = [];
  #messages: Array<unknown[] | undefined> = [];
  #marks: number[] = [];
  #head = 0;

  /** Data messages posted so far (the number of the last one). */
  get posted(): number {
    return this.#posted;
  }

  /** Records kept. */
  get size(): number {
    return this.#numbers.length - this.#head;
  }

  /**
   * Counts one more message posted.
   * @param message - the message, to keep; undefined when losing it would lose nothing
   * @param mark - the owner's number for it
   * @returns the message's number
   */
  add(message: unknown[] | undefined, mark: number): number {
    const number = ++this.#posted;
    if (message !== undefined) {
      this.#numbers.push(number);
      this.#messages.push(message);
      this.#marks.push(mark);
    }
    return number;
  }

  /**
   * Forgets the records of the messages numbered up to `number` (the other side read them).
   * @param number - the last message the other side has received
   * @param forget - called with the mark of each record forgotten (not of those taken)
   */
  forgetThrough(number: number, forget?: (mark: number) => void): void {
    const numbers = this.#numbers;
    let head = this.#head;
    for (; head < numbers.length && numbers[head]! <= number; head++) {
      if (forget && this.#messages[head] !== undefined) forget(this.#marks[head]!);
      this.#messages[head] = undefined;
    }
    this.#moveHead(head);
  }

  /**
   * Forgets the records, oldest first, while their mark is at most `mark` (marks must grow with numbers).
   * @param mark - the largest mark to forget
   */
  forgetMarksThrough(mark: number): void {
    const marks = this.#marks;
    let head = this.#head;
    for (; head < marks.length && marks[head]! <= mark; head++) this.#messages[head] = undefined;
    this.#moveHead(head);
  }

  /**
   * Takes the record of message `number` out of the log, to send it again.
   * @param number - the message's number
   * @returns the message and its mark, or undefined when it is not kept (forgotten, taken, never kept)
   */
  take(number: number): [message: unknown[], mark: number] | undefined {
    const numbers = this.#numbers;
    for (let i = this.#head; i < numbers.length; i++) {
      if (numbers[i] !== number) continue;
      const message = this.#messages[i];
      if (message === undefined) return undefined;
      this.#messages[i] = undefined;
      return [message, this.#marks[i]!];
    }
    return undefined;
  }

  #moveHead(head: number): void {
    if (head === this.#numbers.length) {
      // Emptied (the usual case: everything sent was read): reuse the arrays, allocate nothing.
      if (head > 0) {
        this.#numbers.length = 0;
        this.#messages.length = 0;
        this.#marks.length = 0;
      }
      this.#head = 0;
    } else if (head > 1024 && head * 2 > this.#numbers.length) {
      this.#numbers = this.#numbers.slice(head);
      this.#messages = this.#messages.slice(head);
      this.#marks = this.#marks.slice(head);
      this.#head = 0;
    } else {
      this.#head = head;
    }
  }
}
