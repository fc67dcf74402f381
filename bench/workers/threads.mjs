// The main-thread side of the worker benches: spawns bench workers (client.mjs)
// attached to a store, and serves the raw baselines from a plain Map holding
// the same keys and values as the store. Each raw server does the least its
// protocol needs: answer a request with one message, a batch with one message.

import { MessageChannel, Worker } from 'node:worker_threads';
import { controlCalls } from './control.mjs';

let comlink; // undefined: not tried yet; null: not installed

/**
 * Loads comlink (a dev-dependency of the benches only), or says it is missing.
 * @returns {Promise<{ Comlink: object, nodeEndpoint: Function } | null>} the modules, or null
 */
export async function loadComlink() {
  if (comlink !== undefined) return comlink;
  try {
    const [Comlink, { default: nodeEndpoint }] = await Promise.all([
      import('comlink/dist/esm/comlink.mjs'),
      import('comlink/dist/esm/node-adapter.mjs'),
    ]);
    comlink = { Comlink, nodeEndpoint };
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    comlink = null;
  }
  return comlink;
}

/**
 * Starts a bench worker attached to `store`, with the raw channels of the baselines.
 * @param {import('../../dist/index.js').MainStore} store - the store the worker reaches with getStore()
 * @param {Map<string, unknown>} map - what the raw servers answer from (the same content as the store)
 * @param {{ execArgv?: string[] }} [options] - worker options (e.g. `--cpu-prof` while profiling)
 * @returns {Promise<{ call: (op: string, args?: object) => Promise<any>, events: import('node:worker_threads').MessagePort, close: () => Promise<void> }>}
 *   `call` runs an op of client.mjs and resolves to its result; `events` is the main end of the raw events channel
 */
export async function startWorker(store, map, options = {}) {
  const control = new MessageChannel();
  const ping = new MessageChannel();
  const batch = new MessageChannel();
  const sync = new MessageChannel();
  const syncReply = new MessageChannel();
  const events = new MessageChannel();
  const flag = new Int32Array(new SharedArrayBuffer(4));

  // a. one request per message
  ping.port1.on('message', ([seq, key]) => ping.port1.postMessage([seq, map.get(key)]));
  // b. a batch of requests, answered with one message
  batch.port1.on('message', (requests) => {
    const replies = new Array(requests.length);
    for (let i = 0; i < requests.length; i += 2) {
      replies[i] = requests[i];
      replies[i + 1] = map.get(requests[i + 1]);
    }
    batch.port1.postMessage(replies);
  });
  // c. a blocking request: the reply on its own port, then wake the worker
  sync.port1.on('message', ([seq, key]) => {
    syncReply.port1.postMessage([seq, map.get(key)]);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  });

  // e. comlink, when installed: the same lookup, exposed on its own channel
  const workerData = {
    control: control.port2,
    rawPing: ping.port2,
    rawBatch: batch.port2,
    rawSync: sync.port2,
    rawSyncReply: syncReply.port2,
    rawSyncFlag: flag,
    rawEvents: events.port2,
    comlinkPort: undefined,
  };
  const transferList = [control.port2, ping.port2, batch.port2, sync.port2, syncReply.port2, events.port2];
  const cl = await loadComlink();
  let comlinkChannel;
  if (cl) {
    comlinkChannel = new MessageChannel();
    cl.Comlink.expose({ get: (key) => map.get(key) }, cl.nodeEndpoint(comlinkChannel.port1));
    workerData.comlinkPort = comlinkChannel.port2;
    transferList.push(comlinkChannel.port2);
  }

  const worker = new Worker(new URL('./client.mjs', import.meta.url), { workerData, transferList, execArgv: options.execArgv });
  store.attach(worker);

  const call = controlCalls(worker, control.port1, 'bench worker');

  await call('ready');
  return {
    call,
    events: events.port1,
    async close() {
      for (const port of [control.port1, ping.port1, batch.port1, sync.port1, syncReply.port1, events.port1, comlinkChannel?.port1])
        port?.close();
      await worker.terminate();
    },
  };
}
