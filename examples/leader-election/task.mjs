// A candidate for leader, run on a worker thread of the pool. It waits for the
// `leader` lock (first come, first served), takes the next term, and does the
// leader's exclusive work: appending to a shared log with a read-modify-write
// that is only safe while it alone leads. Each write is fenced by the lock, and
// each job renews the lease. Which term does what is fixed so that one run
// shows every case: term 2 stalls past its lease (a stand-in for a long GC
// pause) and is deposed; term 3 crashes; the others step down cleanly.
import { threadId } from 'node:worker_threads';
import { getStore } from 'kvbus';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Tells the main thread what happened (it prints the channel). */
function say(store, event) {
  return store.publish('election', { ...event, thread: threadId });
}

/** One job of the leader: read the log, work a little, write it back, fenced by the lock. */
async function job(store, lock, term, n) {
  const log = (await store.get('work:log')) ?? [];
  await sleep(10); // the work itself
  await store.set('work:log', [...log, { term, job: n, token: lock.token }], { fence: lock });
}

export default async function candidate({ id, leaseMs, jobsPerTerm }) {
  const store = getStore();
  const lock = await store.lock('leader', { ttlMs: leaseMs });
  const term = await store.incr('term', 1, { fence: lock });
  await say(store, { type: 'elected', id, term, token: lock.token });
  const plan = term === 2 ? 'stall' : term === 3 ? 'crash' : 'work';
  const jobs = plan === 'work' ? jobsPerTerm : 2;
  for (let n = 1; n <= jobs; n++) {
    await lock.extend(); // the leader's heartbeat: its lease runs from now again
    await job(store, lock, term, n);
  }

  if (plan === 'crash') {
    await say(store, { type: 'crashing', term, jobs });
    process.exit(7); // the worker thread ends holding the lock: the store frees it at once
  }

  if (plan === 'stall') {
    const ms = leaseMs * 3;
    await say(store, { type: 'stalling', term, jobs, ms });
    // This thread runs nothing else meanwhile: no heartbeat, no I/O, as in a long GC pause.
    const until = Date.now() + ms;
    while (Date.now() < until) {
      // stalled
    }
    try {
      // It still believes it leads; the store knows better.
      await job(store, lock, term, jobs + 1);
      await say(store, { type: 'not-deposed', term });
      return { id, term, deposed: false };
    } catch (error) {
      if (error?.code !== 'ERR_CONFLICT') throw error;
      await say(store, { type: 'deposed', term, code: error.code });
      return { id, term, deposed: true };
    }
  }

  const released = await lock.release();
  await say(store, { type: 'stepped-down', term, jobs, released });
  return { id, term, jobs };
}
