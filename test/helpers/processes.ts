// Workers and child processes: their messages and their exits (bounded waits),
// and hand-shakes with a thread that blocks its own event loop.
import type { ChildProcess } from 'node:child_process';
import type { Worker } from 'node:worker_threads';
import { WAIT_MS } from './wait.js';

/**
 * The first message from a worker or a child that matches (kvbus's own
 * messages share a child's IPC channel and a worker's 'message' event, so
 * always match on the shape). Rejects if the sender exits first or after `ms`.
 */
export function messageFrom<T = any>(
  sender: Worker | ChildProcess,
  match: (message: any) => boolean,
  what = 'a message',
  ms = WAIT_MS,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const emitter = sender as unknown as NodeJS.EventEmitter;
    const done = () => {
      clearTimeout(timer);
      emitter.off('message', onMessage);
      emitter.off('exit', onExit);
      emitter.off('error', onError);
    };
    const onMessage = (message: unknown) => {
      if (!match(message)) return;
      done();
      resolve(message as T);
    };
    const onExit = (code: unknown) => {
      done();
      reject(new Error(`Exited (code ${String(code)}) before sending ${what}`));
    };
    const onError = (error: unknown) => {
      done();
      reject(error);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`Timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    emitter.on('message', onMessage);
    emitter.on('exit', onExit);
    emitter.on('error', onError);
  });
}

/** Resolves with a child's exit code and signal (at once if it already exited); rejects after `ms`. */
export function childExit(child: ChildProcess, ms = WAIT_MS): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Child ${child.pid} did not exit within ${ms} ms`)), ms);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** Resolves with a worker's exit code; rejects after `ms`. */
export function workerExit(worker: Worker, ms = WAIT_MS): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Worker ${worker.threadId} did not exit within ${ms} ms`)), ms);
    worker.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Blocks this thread's event loop (a busy loop, on purpose). */
export function blockFor(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy
  }
}

type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
  timeoutMs?: number,
) => { async: boolean; value: Promise<string> | string };

/**
 * Waits, without blocking this thread, until another thread changes `flags[index]`
 * from 0 (and notifies). For hand-shakes with workers that block their own loop.
 */
export async function flagRaised(flags: Int32Array, index: number, what: string, ms = WAIT_MS): Promise<void> {
  const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
  const result = waitAsync(flags, index, 0, ms);
  const outcome = result.async ? await result.value : result.value;
  if (outcome === 'timed-out') throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
}
