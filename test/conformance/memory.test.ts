// The conformance suite against the memory backend (the default).
import { createStore, memoryBackend } from '../../src/index.js';
import { conformance } from './suite.js';

conformance('memory', ({ namespace, onError }) =>
  createStore({ backend: memoryBackend(), namespace, ...(onError ? { onError } : {}) }),
);
