// A BackendContext for tests that open a backend without a store: every hook a
// no-op unless the test gives its own (to record changes, invalidations, losses).
import type { BackendContext } from '../../src/backends/backend.js';
import { systemClock } from '../../src/clock.js';

/**
 * @param namespace - the store's namespace
 * @param hooks - the hooks and flags the test cares about
 * @returns a whole context
 */
export function testContext(namespace: string, hooks: Partial<BackendContext> = {}): BackendContext {
  const none = () => {};
  return {
    namespace,
    clock: systemClock,
    emitChange: none,
    emitMessage: () => 0,
    emitChannelMessage: none,
    emitPatternMessage: none,
    watchingKeys: false,
    invalidated: none,
    requestExpiry: none,
    ...hooks,
  };
}
