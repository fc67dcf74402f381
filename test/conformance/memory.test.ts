// The conformance suite against the memory backend (the default).
import { describe, expect, it } from 'vitest';
import { createStore, memoryBackend } from '../../src/index.js';
import { conformance } from './suite.js';

const makeStore = ({ namespace, onError }: { namespace: string; onError?: ((error: unknown, context: string) => void) | undefined }) =>
  createStore({ backend: memoryBackend(), namespace, ...(onError ? { onError } : {}) });

describe('memory backend', () => {
  it('is what the suite below runs on', async () => {
    const store = makeStore({ namespace: 'which' });
    expect(store.config.backend.kind).toBe('memory');
    await store.close();
  });
});

conformance('memory', makeStore);
