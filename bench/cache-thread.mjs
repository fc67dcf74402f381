// The worker of bench/cache-near.mjs (not a bench itself): attached with a near
// cache on `c:*`, it runs n operations of the op it is asked for and answers.
import { parentPort, workerData } from 'node:worker_threads';
import { getStore } from '../dist/index.js';

const store = getStore();
const map = new Map([
  ['c:num', 42],
  ['c:obj', workerData.obj],
]);
let lmdb;
if (workerData.lmdbPath) {
  const { open } = await import('lmdb');
  lmdb = open({ path: workerData.lmdbPath, readOnly: true });
}
let sink = 0;
const take = (value) => {
  sink = (sink + (typeof value === 'number' ? value : 1)) | 0;
};

const OPS = {
  cachedSyncGet: (n) => {
    for (let i = 0; i < n; i++) take(store.sync.get('c:num'));
  },
  uncachedSyncGet: (n) => {
    for (let i = 0; i < n; i++) take(store.sync.get('u:num'));
  },
  mapGet: (n) => {
    for (let i = 0; i < n; i++) take(map.get('c:num'));
  },
  cachedGet: async (n) => {
    for (let i = 0; i < n; i++) take(await store.get('c:num'));
  },
  uncachedGet: async (n) => {
    for (let i = 0; i < n; i++) take(await store.get('u:num'));
  },
  cachedObject: (n) => {
    for (let i = 0; i < n; i++) take(store.sync.get('c:obj'));
  },
  cloneObject: (n) => {
    const obj = map.get('c:obj');
    for (let i = 0; i < n; i++) take(structuredClone(obj));
  },
  lmdbGet: (n) => {
    for (let i = 0; i < n; i++) take(lmdb.get('c:num'));
  },
  idle: () => {},
};

parentPort.on('message', async ({ op, n }) => {
  await OPS[op](n);
  parentPort.postMessage({ sink });
});
parentPort.postMessage({ ready: true });
