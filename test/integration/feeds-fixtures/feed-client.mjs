// A client of change feeds, for test/integration/feeds-*.test.ts: a worker
// (store.attach, workerData) or a child process (store.fork, argv). It reports
// with postMessage (worker) or process.send (child).
import { parentPort, workerData } from 'node:worker_threads';
import { getStore } from 'kvbus';

const options = workerData ?? JSON.parse(process.argv[2]);
const store = getStore();
const report = (message) => (parentPort ? parentPort.postMessage(message) : process.send(message));
const WAIT_MS = 20_000;

/** Blocks this thread's event loop until flags[index] is raised (or WAIT_MS passed): a subscriber far too slow for its writer. */
function blockUntilRaised(flags, index) {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline && Atomics.load(flags, index) === 0) {}
}

switch (options.mode) {
  case 'compacted': {
    // Follows from a revision history no longer holds: the feed errors.
    store.changes('*', { since: options.since }).subscribe({
      next: (event) => report({ type: 'event', event }),
      error: (error) => report({ type: 'error', code: error.code, oldestRevision: error.oldestRevision, message: error.message }),
    });
    break;
  }

  case 'snapshot': {
    // Reads a snapshot, and reports it (and a bad glob's error).
    const snap = await store.snapshot(options.glob);
    const bad = await store.snapshot('').then(
      () => null,
      (error) => error.code,
    );
    report({ type: 'snapshot', revision: snap.revision, entries: [...snap.entries], bad });
    break;
  }

  case 'slow-changes': {
    // Subscribes, then blocks until the writer is done, then takes in everything, slowly.
    const revisions = [];
    let ended = null;
    store.changes(options.glob).subscribe({
      next: (event) => {
        revisions.push(event.revision);
        // A slow consumer: a millisecond of work every 500 events.
        if (revisions.length % 500 === 0) for (const until = Date.now() + 1; Date.now() < until; );
        if (event.key === options.lastKey) report({ type: 'result', revisions, ended });
      },
      error: (error) => {
        ended = { code: error.code, oldestRevision: error.oldestRevision, message: error.message };
        report({ type: 'result', revisions, ended });
      },
    });
    await store.stats(); // the subscription is active
    report({ type: 'ready' });
    // A child cannot share the flag: it blocks for a while instead.
    if (options.flags) blockUntilRaised(options.flags, 0);
    else for (const until = Date.now() + options.blockMs; Date.now() < until; );
    break;
  }

  case 'slow-mixed': {
    // A channel flooded past its buffer (drop-oldest) next to a feed: the feed must lose nothing.
    const messages = [];
    const revisions = [];
    store.channel(options.channel).subscribe((n) => messages.push(n));
    store.changes(options.glob).subscribe((event) => {
      revisions.push(event.revision);
      if (event.key === options.lastKey) report({ type: 'result', messages, revisions });
    });
    await store.stats();
    report({ type: 'ready' });
    blockUntilRaised(options.flags, 0);
    break;
  }

  case 'slow-watch': {
    // Watches a key, blocks while it is written many times, then reports what it saw.
    const seen = [];
    store.watch(options.key).subscribe((value) => {
      seen.push(value);
      if (value === options.last) report({ type: 'result', seen });
    });
    await store.stats();
    report({ type: 'ready' });
    blockUntilRaised(options.flags, 0);
    break;
  }

  case 'follow': {
    // Snapshot-then-follow while others write: a view of the keyspace, and the revisions followed.
    const snap = await store.snapshot(options.glob);
    const view = new Map([...snap.entries].map(([key, entry]) => [key, entry.value]));
    const revisions = [];
    store.changes(options.glob, { since: snap.revision }).subscribe((event) => {
      revisions.push(event.revision);
      if (event.type === 'set') view.set(event.key, event.value);
      else if (event.type === 'clear') view.clear();
      else view.delete(event.key);
      if (event.key === options.lastKey) report({ type: 'result', from: snap.revision, view: [...view], revisions });
    });
    await store.stats();
    report({ type: 'ready', from: snap.revision });
    break;
  }
}
