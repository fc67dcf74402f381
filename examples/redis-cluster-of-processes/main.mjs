// Two node processes, each with its own store on Redis and its own worker pool,
// sharing counters and events through Redis only — as if on two machines.
//
// Uses REDIS_URL when set; otherwise starts a private redis-server on a free
// loopback port (no persistence) and stops it at the end.
//
//   npx tsup && node examples/redis-cluster-of-processes/main.mjs
//   REDIS_URL=redis://127.0.0.1:6379 node examples/redis-cluster-of-processes/main.mjs

import { fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { createStore } from 'kvbus';
import { redisBackend } from 'kvbus/redis';
import { auditTime } from 'rxjs';

const NODES = ['alpha', 'beta'];
const TASKS = 4; // per node, on 2 worker threads
const STEPS = 120; // per task, each step incr's 2 counters
const EVERY = 20; // a task publishes an event every EVERY steps
const DEADLINE_MS = 20_000;

const t0 = performance.now();
const log = (...parts) => console.log(`t+${((performance.now() - t0) / 1000).toFixed(2)}s`.padEnd(8), ...parts);

// ---------------------------------------------------------------------------
// A Redis to share.

async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  return port;
}

function ping(port) {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => (socket.destroy(), resolve(data.toString().startsWith('+PONG'))));
    socket.once('error', () => resolve(false));
  });
}

async function startRedis() {
  const port = await freePort();
  // No persistence: a throwaway server that leaves no file behind.
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir()],
    { stdio: 'ignore' },
  );
  const failed = once(server, 'error').then(([error]) => error);
  for (let i = 0; i < 100; i++) {
    const outcome = await Promise.race([failed, sleep(50).then(() => ping(port))]);
    if (outcome instanceof Error) {
      if (outcome.code === 'ENOENT') return undefined;
      throw outcome;
    }
    if (outcome === true) {
      return {
        url: `redis://127.0.0.1:${port}`,
        async stop() {
          if (server.exitCode !== null || server.signalCode !== null) return;
          server.kill('SIGTERM');
          await once(server, 'exit');
        },
      };
    }
  }
  server.kill('SIGKILL');
  throw new Error(`redis-server did not answer on port ${port}`);
}

// Fail fast, with a clear message, before starting two processes (the stores would each
// report ERR_BACKEND after commandTimeoutMs). Only a TCP connect: the server may want auth or TLS.
function reachable(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || 6379) });
    socket.setTimeout(3_000, () => (socket.destroy(), resolve(false)));
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

let redis;
if (process.env.REDIS_URL) {
  redis = { url: process.env.REDIS_URL, stop: async () => {} };
  if (!(await reachable(redis.url))) {
    console.error(`Cannot reach REDIS_URL ${redis.url}: is Redis running there?`);
    process.exit(1);
  }
  log(`using REDIS_URL ${redis.url} (namespace 'example' will be cleared)`);
} else {
  redis = await startRedis();
  if (!redis) {
    console.log('redis-server is not installed, so this example cannot run. Install it (Debian/Ubuntu:');
    console.log('`sudo apt-get install redis-server`) or point REDIS_URL at a Redis you may use.');
    process.exit(0);
  }
  log(`started a private redis-server at ${redis.url}`);
}

// ---------------------------------------------------------------------------
// main.mjs has its own store on the same Redis too: to start from a clean
// namespace, show the counters live, and check the totals at the end.

const store = createStore({ backend: redisBackend({ url: redis.url }), namespace: 'example' });
await store.clear(); // this namespace only: other apps on the same Redis are untouched
const live = store
  .changes('counter:total')
  .pipe(auditTime(200))
  .subscribe(({ value }) => log(`counter:total = ${value}`));

const deadline = setTimeout(() => {
  console.error(`Did not finish within ${DEADLINE_MS / 1000}s`);
  for (const child of children) child.kill('SIGKILL');
  redis.stop().finally(() => process.exit(1));
}, DEADLINE_MS);

// Plain child_process.fork, not store.fork: each node must have its OWN store on
// Redis, as on another machine. The IPC channel only carries its final report.
const reports = new Map();
const children = NODES.map((me, i) => {
  const other = NODES[1 - i];
  const child = fork(new URL('./node.mjs', import.meta.url), [redis.url, me, other, String(TASKS), String(STEPS), String(EVERY)]);
  child.on('message', (message) => {
    if (message.type === 'log') log(`[${message.node}] ${message.text}`);
    else if (message.type === 'report') reports.set(message.node, message);
  });
  log(`forked node '${me}' (pid ${child.pid}): ${TASKS} tasks on a pool of 2 threads`);
  return child;
});
const codes = await Promise.all(
  children.map((child) =>
    once(child, 'exit').then(([code]) => {
      // A node that failed would leave the other one waiting at the finish line forever.
      if (code !== 0) for (const peer of children) if (peer !== child && peer.exitCode === null) peer.kill('SIGTERM');
      return code;
    }),
  ),
);
live.unsubscribe();
clearTimeout(deadline);

// ---------------------------------------------------------------------------
// What each node saw, and whether it all adds up.

const counters = await store.getAll('counter:*');
log(`counter:total = ${counters.get('counter:total')} (final, read back from Redis)`);
const perNode = TASKS * STEPS;
const total = NODES.length * perNode;
console.log('');
console.log('Summary');
for (const node of NODES) {
  const r = reports.get(node);
  if (!r) {
    console.log(`  ${node}: no report`);
    continue;
  }
  const changes = Object.entries(r.seen.changes)
    .sort()
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  console.log(
    `  ${node} (pid ${r.pid}): ${TASKS} tasks in ${r.ms} ms on threads ${r.threads.join(', ')}; ${r.incrs} incrs, ${r.published} events published`,
  );
  console.log(`    heard ${r.seen.events} events from the other node (${r.seen.outOfOrder} out of order)`);
  console.log(`    saw ${Object.values(r.seen.changes).reduce((a, b) => a + b, 0)} counter changes (${changes}), ${r.seen.gaps} gaps`);
}
console.log(
  `  counters in Redis: ${[...counters]
    .sort()
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')}`,
);

const checks = [
  ['both nodes exited with code 0', codes.every((code) => code === 0) && reports.size === NODES.length],
  [
    `counter:total = ${total}, each node's counter = ${perNode}`,
    counters.get('counter:total') === total && NODES.every((n) => counters.get(`counter:${n}`) === perNode),
  ],
  [
    'each node heard every event of the other, in order',
    [...reports.values()].every((r) => r.seen.events === TASKS * Math.floor(STEPS / EVERY) && r.seen.outOfOrder === 0),
  ],
  [
    'each node saw every counter change, with no gap',
    [...reports.values()].every(
      (r) =>
        r.seen.changes['counter:total'] === total && NODES.every((n) => r.seen.changes[`counter:${n}`] === perNode) && r.seen.gaps === 0,
    ),
  ],
];
for (const [what, ok] of checks) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);

await store.clear();
await store.close();
await redis.stop();
console.log(process.env.REDIS_URL ? 'Store closed.' : 'Store closed, redis-server stopped.');
if (checks.some(([, ok]) => !ok)) process.exitCode = 1;
