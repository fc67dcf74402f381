// A raw node-redis client for looking at what kvbus does inside Redis.
import { createClient, RESP_TYPES, type RedisClientType } from 'redis';
import { waitUntil } from './wait.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RawClient = RedisClientType<any, any, any, any, any>;

/** Connects a plain node-redis client (its reconnect errors are swallowed: tests look at replies). */
export async function connectRaw(url: string): Promise<RawClient> {
  const client = createClient({ url }) as RawClient;
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** Closes a raw client if it is open, without throwing. */
export async function closeRaw(client: RawClient | undefined): Promise<void> {
  if (!client?.isOpen) return;
  await client.close().catch(() => client.destroy());
}

/**
 * A kvbus value as Redis holds it, read with a plain GET: the string
 * `<t><revision>|<bytes>`, split into its type tag, revision and bytes.
 */
export async function rawStored(client: RawClient, key: string): Promise<{ t: Buffer; r: Buffer; v: Buffer }> {
  const stored = (await client.sendCommand(['GET', key], { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } })) as Buffer;
  const bar = stored.indexOf(0x7c, 1);
  return { t: stored.subarray(0, 1), r: stored.subarray(1, bar), v: stored.subarray(bar + 1) };
}

/** Every key of the server that matches `pattern`, by SCAN (`count` keys a step), sorted. */
export async function rawScan(client: RawClient, pattern: string, count = 1000): Promise<string[]> {
  const found = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = (await client.sendCommand(['SCAN', cursor, 'MATCH', pattern, 'COUNT', String(count)])) as [string, string[]];
    cursor = String(next);
    for (const key of keys) found.add(String(key));
  } while (cursor !== '0');
  return [...found].sort();
}

/** PUBSUB NUMSUB for one channel. */
export async function numSub(client: RawClient, channel: string): Promise<number> {
  const reply = (await client.sendCommand(['PUBSUB', 'NUMSUB', channel])) as unknown[];
  return Number(reply[1]);
}

/** PUBSUB NUMPAT: pattern subscriptions on the whole server. */
export async function numPat(client: RawClient): Promise<number> {
  return Number(await client.sendCommand(['PUBSUB', 'NUMPAT']));
}

/** Lines of MONITOR (every command the server runs, Lua's included) while `fn` runs. */
export async function monitorWhile(url: string, fn: () => Promise<void>): Promise<string[]> {
  const monitor = await connectRaw(url);
  const lines: string[] = [];
  try {
    await monitor.monitor((line) => lines.push(String(line)));
    await fn();
    // A marker, so every earlier command is surely in `lines`.
    const marker = `kvbus-monitor-end-${Date.now()}`;
    const probe = await connectRaw(url);
    await probe.sendCommand(['ECHO', marker]);
    await closeRaw(probe);
    await waitUntil(() => lines.some((line) => line.includes(marker)), 'the MONITOR marker', 3_000);
  } finally {
    monitor.destroy();
  }
  return lines;
}

/** The command name of a MONITOR line: `1700000000.1 [0 127.0.0.1:5000] "SCAN" "0"` → `SCAN`. */
export function monitoredCommand(line: string): string {
  const match = /\] "([^"]*)"/.exec(line);
  return (match?.[1] ?? '').toUpperCase();
}
