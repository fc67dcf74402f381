// The auditor: a child process forked with store.fork. Its getStore() is a
// client of the parent's store over the IPC channel. It follows the results the
// workers write (changes('result:*')), spot-checks each one, and watches the
// failure counters; what it finds it publishes on 'alerts'. On 'audit' it
// answers 'report' with what it saw, and leaves on 'shutdown'.
import { getStore } from 'kvbus';

const store = getStore();
const seen = { set: 0, expire: 0, delete: 0, checked: 0, bad: 0, alerts: 0 };

function isPrime(n) {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/** A cheap check of a result a worker wrote: the auditor trusts nothing it can verify. */
function verify(result) {
  if (result.kind === 'hash') return /^[0-9a-f]{64}$/.test(result.digest);
  if (result.kind === 'primes') return result.count > 0 && isPrime(result.largest);
  if (result.kind === 'image') return Number.isFinite(result.mean) && result.mean > 0 && result.mean < 255;
  return false;
}

let leave;
const left = new Promise((resolve) => (leave = resolve));
// If the parent goes away, the streams error with ERR_DISCONNECTED: nothing is left to audit.
const lost = (error) => {
  process.exitCode = 1;
  console.error(`auditor: ${error.message}`);
  leave();
};

const alert = (level, text) => {
  seen.alerts++;
  store.publish('alerts', { level, text, pid: process.pid }).catch(lost);
};

const subscriptions = [
  store.changes('result:*').subscribe({
    next: (change) => {
      seen[change.type] = (seen[change.type] ?? 0) + 1;
      if (change.type !== 'set') return;
      seen.checked++;
      if (!verify(change.value)) {
        seen.bad++;
        alert('error', `${change.key} does not check out: ${JSON.stringify(change.value)}`);
      }
    },
    error: lost,
  }),
  // A counter moving is the event: `changes` gives the new value, no polling.
  store.changes('count:jobs:failed').subscribe({
    next: ({ value }) => alert('warn', `a job failed (count:jobs:failed = ${value})`),
    error: lost,
  }),
  store.changes('count:jobs:lost').subscribe({
    next: ({ value }) => alert('warn', `a worker died mid-job (count:jobs:lost = ${value})`),
    error: lost,
  }),
];

const stopListening = store.onSubscriberReceive('audit', async (command) => {
  // This client's commands apply in order: every alert above was published before this report.
  if (command.type === 'report') await store.publish('audit:report', { pid: process.pid, ...seen });
  else if (command.type === 'shutdown') leave();
});

// Subscribing is a command: once this publish is answered, everything above is live.
await store.publish('audit:ready', { pid: process.pid });
await left;
stopListening();
for (const subscription of subscriptions) subscription.unsubscribe();
await store.close();
