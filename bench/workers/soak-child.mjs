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
// kvbus unrefs the IPC channel while no call is pending, so without this the
// child would end as soon as its load is done, before the parent's last heap figure.
const keepAlive = setInterval(() => {}, 60_000);
const exit = new Promise((resolve) => process.on('message', (message) => message?.soakExit && resolve()));
try {
  const report = await runSoakClient(store, { client, seed: Number(seed) });
  process.send({ soakReport: report });
} catch (error) {
  process.send({ soakError: String(error?.stack ?? error) });
}
await exit;
clearInterval(keepAlive);
await store.close();
process.disconnect();
