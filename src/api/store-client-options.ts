// The options a StoreClient is made with: where it is, and how it copies.
import type { Observable } from 'rxjs';
import type { PeerEvent, SubscriberBufferOptions, SyncStore } from '../types.js';

/** Options of a {@link StoreClient}. */
export interface StoreClientOptions {
  /**
   * Copy values at the call. Every client does, except a main-thread store with
   * `copy: false`: a worker copies too (the stream would clone only when the
   * batch leaves, and a value mutated after `set` in the same tick must not leak in).
   * `'wire'` (workers, children): a large value's copy is the post that sends it, at the call.
   */
  copyIn: boolean | 'wire';
  /** Where errors of `onSubscriberReceive` handlers go. */
  onError: (error: unknown, context: string) => void;
  /** The blocking API of this place. */
  sync: SyncStore;
  /** Peer events, where this client can see them (the main thread). */
  peers?: () => Observable<PeerEvent>;
  /** Where this client is, as `kvbus:command` trace events name it. @defaultValue `'main'` */
  kind?: 'main' | 'worker' | 'process';
  /** The buffer of a `for await` loop over an observable. @defaultValue 10 000 messages, drop-oldest */
  iterationBuffer?: SubscriberBufferOptions;
}
