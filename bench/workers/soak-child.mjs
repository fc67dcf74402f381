// A forked child of the soak (bench/soak.mjs), started with store.fork: one
// soak client reaching the parent's store with getStore(). It sends its report
// up the IPC channel (beside kvbus's own messages, which ignore it) and stays
// connected until the parent says { soakExit: true }, so the parent's heap is
// measured with every client still attached.
import { getStore } from '../../dist/index.js';
import { runSoakClient } from './soak-load.mjs';

const [client, seed] = process.argv.slice(2);
process.on('disconnect', () => process.exit(0)); // the parent is gone: do not linger

const store = getStore();
const exit = new Promise((resolve) => process.on('message', (message) => message?.soakExit && resolve()));
try {
  const report = await runSoakClient(store, { client, seed: Number(seed) });
  process.send({ soakReport: report });
} catch (error) {
  process.send({ soakError: String(error?.stack ?? error) });
}
await exit;
await store.close();
process.disconnect();
