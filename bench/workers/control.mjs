// The control channel of a bench worker: `call(op, args)` asks the worker to
// run one of its ops and resolves to its result; a worker that fails or exits
// rejects every call at once, so a broken bench never hangs.

/**
 * @param {import('node:worker_threads').Worker} worker
 * @param {import('node:worker_threads').MessagePort} port - this side of the worker's control channel
 * @param {string} label - names the worker in errors
 */
export function controlCalls(worker, port, label) {
  let nextId = 0;
  const waiting = new Map();
  port.on('message', ({ id, result, error }) => {
    const { resolve, reject } = waiting.get(id);
    waiting.delete(id);
    if (error) reject(new Error(`${label}: ${error}`));
    else resolve(result);
  });
  const failed = new Promise((_, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`${label} exited with code ${code}`)));
  });
  failed.catch(() => {});
  return (op, args) =>
    Promise.race([
      new Promise((resolve, reject) => {
        waiting.set(++nextId, { resolve, reject });
        port.postMessage({ id: nextId, op, args });
      }),
      failed,
    ]);
}
