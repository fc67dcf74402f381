import { parseArgs } from 'node:util';
import { createStore } from 'kvbus';
import { redisBackend } from 'kvbus/redis';
import { inspect } from './inspect.js';

const USAGE = `usage: kvbus inspect --redis <url> [--namespace <ns>] [--port <n>] [--host <h>] [--allow-writes]

Serves the inspector page for a Redis-backed kvbus store and prints its URL
(with its access token). Ctrl-C stops it.`;

/** Where the CLI writes. */
interface Output {
  write(text: string): unknown;
}

/**
 * Runs the `kvbus` command line: `kvbus inspect --redis <url> ...` serves the
 * inspector for a Redis-backed store until SIGINT/SIGTERM.
 * @param argv - the arguments after the program name
 * @param out - where the URL goes
 * @param err - where errors and usage go
 * @returns the exit code
 */
export async function runCli(argv: string[], out: Output, err: Output): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    err.write(`kvbus: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { positionals, values } = parsed;
  if (values.help) {
    out.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals[0] !== 'inspect' || positionals.length !== 1 || values.redis === undefined) {
    err.write(`kvbus: expected \`inspect --redis <url>\`, got ${JSON.stringify(argv.join(' '))}\n${USAGE}\n`);
    return 2;
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  const store = createStore({ backend: redisBackend({ url: values.redis }), ...(values.namespace ? { namespace: values.namespace } : {}) });
  try {
    await store.stats();
    const inspector = await inspect(store, { port, host: values.host ?? '127.0.0.1', allowWrites: values['allow-writes'] ?? false });
    out.write(`kvbus inspector for ${values.redis}${values.namespace ? ` (namespace ${values.namespace})` : ''}: ${inspector.url}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await inspector.close();
    return 0;
  } catch (error) {
    err.write(`kvbus: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await store.close().catch(() => {});
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      redis: { type: 'string' },
      namespace: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'allow-writes': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
