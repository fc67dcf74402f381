// How a thread or process learns that a kvbus store can be reached from it.

/** The environment mark of a child whose `getStore()` should reach its parent's store (`store.fork` sets it). */
export const PARENT_ENV = 'KVBUS_PARENT';

/**
 * The `worker_threads` environment-data key the main thread sets once a store
 * exists, so that every worker spawned afterwards knows it can reach it.
 */
export const REACHABLE = 'kvbus.reachable';

/**
 * The environment mark of a child forked by `store.fork`: `<parent pid>:<fd>`, the
 * file descriptor of kvbus's own pipe to the parent. The pid makes a grandchild
 * that inherited the environment ignore it (its fd of that number is something else).
 */
export const PIPE_ENV = 'KVBUS_PIPE';
