import { Subject } from 'rxjs';
import type { Mailbox } from './mailbox.js';

/**
 * The actor's inbox: an RxJS `Subject` of commands whose first consumer is the
 * actor itself, called directly. A plain `Subject` would route every command
 * through four layers of subscriber wrappers and an error-context check, which
 * cost more than applying a `get` to a `Map`; other observers (a tap for
 * tracing, say) still subscribe and see every command, after the actor.
 */
export class CommandSubject<TCommand> extends Subject<TCommand> {
  readonly #mailbox: Mailbox<TCommand>;

  /** @param mailbox - the actor's mailbox, where every command goes first */
  constructor(mailbox: Mailbox<TCommand>) {
    super();
    this.#mailbox = mailbox;
  }

  override next(command: TCommand): void {
    this.#mailbox.post(command);
    if (this.observed) super.next(command);
  }
}
