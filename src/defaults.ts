// Defaults that more than one part needs, written once.

/** How long a remote client waits for an answer (`requestTimeoutMs`). */
export const REQUEST_TIMEOUT_MS = 30_000;

/** Messages each remote subscriber may have waiting (`subscriberBuffer.size`). */
export const SUBSCRIBER_BUFFER_SIZE = 10_000;

/** What a full subscriber buffer does (`subscriberBuffer.overflow`). */
export const SUBSCRIBER_OVERFLOW = 'drop-oldest';

/** The namespace of a store created without one. */
export const NAMESPACE = 'kvbus';
