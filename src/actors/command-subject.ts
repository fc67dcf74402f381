import { Subject } from 'rxjs';

/**
 * The actor's inbox: an RxJS `Subject` of commands whose first consumer is the
 * actor itself, called directly. A plain `Subject` would route every command
 * through four layers of subscriber wrappers and an error-context check, which
 * cost more than applying a `get` to a `Map`; other observers (a tap for
 * tracing, say) still subscribe and see every command, after the actor.
 */
export class CommandSubject<TCommand> extends Subject<TCommand> {
  readonly #consume: (command: TCommand) => void;

  /** @param consume - the actor's mailbox entry */
  constructor(consume: (command: TCommand) => void) {
    super();
    this.#consume = consume;
  }

  override next(command: TCommand): void {
    this.#consume(command);
    if (this.observed) super.next(command);
  }
}
