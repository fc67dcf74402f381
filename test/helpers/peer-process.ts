// The test side of test/fixtures/redis-peer.mjs: a separate Node process with
// its own store on the shared Redis, driven over its IPC channel.
import { type ChildProcess, fork } from 'node:child_process';
import { fixturePath } from './fixtures.js';
import { childExit } from './processes.js';
import { WAIT_MS, waitUntil } from './wait.js';

export interface PeerEvent {
  type: 'event';
  id: string;
  /** `changes-error`: a `changes()` subscription ended (the peer follows again). */
  kind: 'message' | 'change' | 'changes-error';
  channel?: string;
  data?: unknown;
  event?: { type: string; key: string; value?: unknown; revision: number };
  error?: { code?: string; message: string; oldestRevision?: number };
}

export class Peer {
  readonly events: PeerEvent[] = [];
  readonly child: ChildProcess;
  readonly id: string;
  #seq = 0;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  #output = '';
  #ready: Promise<void>;

  constructor(id: string, url: string, namespace: string, withPool: boolean) {
    this.id = id;
    const { KVBUS_PARENT: _parent, ...env } = process.env;
    this.child = fork(fixturePath('redis-peer.mjs'), [url, namespace, id, withPool ? 'pool' : 'plain'], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
      env,
    });
    this.child.stdout!.on('data', (chunk) => (this.#output = (this.#output + String(chunk)).slice(-4000)));
    this.child.stderr!.on('data', (chunk) => (this.#output = (this.#output + String(chunk)).slice(-4000)));
    this.child.on('error', () => {});
    this.#ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Peer ${id} not ready within ${WAIT_MS * 2} ms:\n${this.#output}`)), WAIT_MS * 2);
      this.child.on('message', (message: any) => {
        if (message?.type === 'ready') {
          clearTimeout(timer);
          resolve();
        } else if (message?.type === 'reply') {
          const pending = this.#pending.get(message.seq);
          this.#pending.delete(message.seq);
          if (message.ok) pending?.resolve(message.value);
          else pending?.reject(Object.assign(new Error(`peer ${id}: ${message.error.message}`), { code: message.error.code }));
        } else if (message?.type === 'event') {
          this.events.push(message as PeerEvent);
        }
      });
      this.child.once('exit', (code, signal) => {
        clearTimeout(timer);
        const error = new Error(`Peer ${id} exited (code ${code}, signal ${signal}):\n${this.#output}`);
        reject(error);
        for (const pending of this.#pending.values()) pending.reject(error);
        this.#pending.clear();
      });
    });
    this.#ready.catch(() => {});
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  get output(): string {
    return this.#output;
  }

  /** Sends one op and resolves with the peer's answer (bounded). */
  request<T = unknown>(op: string, args: Record<string, unknown> = {}, ms = WAIT_MS * 2): Promise<T> {
    const seq = ++this.#seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(seq);
        reject(new Error(`Peer ${this.id} did not answer ${op} within ${ms} ms`));
      }, ms);
      this.#pending.set(seq, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      if (!this.child.connected) {
        clearTimeout(timer);
        this.#pending.delete(seq);
        reject(new Error(`Peer ${this.id} is not connected`));
        return;
      }
      this.child.send({ seq, op, ...args });
    });
  }

  /** Waits until some event matches. */
  async event(match: (event: PeerEvent) => boolean, what: string, ms = WAIT_MS): Promise<PeerEvent> {
    await waitUntil(() => this.events.some(match), `peer ${this.id}: ${what}`, ms);
    return this.events.find(match)!;
  }

  /** Asks the peer to exit cleanly; SIGKILLs it if it does not within `ms`. Never throws. */
  async stop(ms = 3_000): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = childExit(child, ms + WAIT_MS).catch(() => {});
    if (child.connected) this.request('exit', {}, ms).catch(() => {});
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    await exited;
    clearTimeout(timer);
  }
}
