// The conformance suite against the memory backend (the default).
import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/index.js';
import { coordConformance } from './coord-suite.js';
import { feedsConformance } from './feeds-suite.js';
import { scanConformance } from './scan-suite.js';
import { conformance, storesOn } from './suite.js';

const makeStore = storesOn(memoryBackend);

describe('memory backend', () => {
  it('is what the suite below runs on', async () => {
    const store = makeStore({ namespace: 'which' });
    // Only the memory backend answers a blocking call in the main thread.
    expect(store.sync.set('which', 1)).toBeGreaterThan(0);
    await store.close();
  });
});

conformance('memory', makeStore);
scanConformance('memory', makeStore);
coordConformance('memory', makeStore);
feedsConformance('memory', makeStore, (maxEvents) => memoryBackend({ history: { maxEvents } }));
