import type { Observable } from 'rxjs';
import { describe, KvbusError } from '../errors.js';
import type { ReceiveHandler } from '../types.js';

/**
 * Calls `handler` with every message of `messages$` (see {@link Store.onSubscriberReceive}).
 * A failing handler is reported and forgotten: it stops neither the actor nor its siblings.
 * @param messages$ - the channel's messages
 * @param channel - its name, for reports
 * @param handler - the user's handler
 * @param onError - where failures go
 * @returns the function that stops the handler
 */
export function receiveWith<TData>(
  messages$: Observable<TData>,
  channel: string,
  handler: ReceiveHandler<TData>,
  onError: (error: unknown, context: string) => void,
): () => void {
  if (typeof handler !== 'function') {
    throw new KvbusError('ERR_BAD_ARGUMENT', `Expected \`handler\` to be a function, got ${describe(handler)}`);
  }
  const context = `a handler of channel ${JSON.stringify(channel)}`;
  const report = (error: unknown) => onError(error, context);
  const subscription = messages$.subscribe({
    next: (data) => {
      try {
        const result = handler(data);
        if (result && typeof (result as Promise<void>).then === 'function') (result as Promise<void>).then(undefined, report);
      } catch (error) {
        report(error);
      }
    },
    error: report,
  });
  return () => subscription.unsubscribe();
}
