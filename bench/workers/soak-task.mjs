// A pool task of the soak (bench/soak.mjs): one soak client in a piscina worker
// started by createPool, reaching the main thread's store with getStore().
import { getStore } from '../../dist/index.js';
import { runSoakClient } from './soak-load.mjs';

/**
 * @param {{ client: string, seed: number }} options - the client's name and PRNG seed
 * @returns {Promise<object>} the client's report (see runSoakClient)
 */
export default function soakTask(options) {
  return runSoakClient(getStore(), options);
}
