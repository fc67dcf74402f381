import { pathToFileURL } from 'node:url';
import { encodeTaskError } from './task-errors.js';
import { readTaskName } from './task-name.js';

// The module piscina loads in the workers of a pool made by createPool (its
// own build entry, dist/pool-task.cjs). It stands between piscina and the
// user's task module only to encode the errors a task throws (see
// task-errors.ts). piscina asks a module for its handler by name; the pool
// sends, as that name, the user's file and export (see task-name.ts), and this
// module's exports answer any such name with the user's handler, wrapped.
// It is CommonJS so that its exports can be a Proxy: piscina `require`s it and
// reads `exports[name]` (awaiting it), which an ES module's fixed namespace
// could not answer for names it does not know in advance.

// `import()` that no bundler rewrites into `require()`, as piscina does it.
const importModule = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<Record<string, unknown>>;

/**
 * Loads a task module's handler the way piscina does: `require` first, then `import`.
 * @param filename - the user's task module (a path)
 * @param name - the export
 * @returns the handler, or undefined
 */
async function loadHandler(filename: string, name: string): Promise<unknown> {
  let handler: unknown;
  try {
    const loaded: unknown = require(filename);
    // As piscina's interop reads CommonJS: `module.exports` is the default export, its properties the named ones.
    if (typeof loaded === 'function' && name === 'default') handler = loaded;
    else if (loaded !== null && (typeof loaded === 'object' || typeof loaded === 'function')) {
      handler = await (loaded as Record<string, unknown>)[name];
    }
  } catch {}
  if (typeof handler !== 'function') handler = await (await importModule(pathToFileURL(filename).href))[name];
  return handler;
}

/**
 * The user's handler, wrapped so that the kvbus errors it throws keep their code.
 * @param encodedName - what the pool sent as the export's name
 * @returns the wrapped handler, or null when the module has no such function (piscina says so)
 */
async function wrappedHandler(encodedName: string): Promise<((task: unknown) => Promise<unknown>) | null> {
  const { filename, name } = readTaskName(encodedName);
  const handler = await loadHandler(filename, name);
  if (typeof handler !== 'function') return null;
  return async (task) => {
    try {
      return await handler(task);
    } catch (error) {
      throw encodeTaskError(error);
    }
  };
}

const handlers = new Map<string, Promise<((task: unknown) => Promise<unknown>) | null>>();

module.exports = new Proxy(
  {},
  {
    get(_target, key) {
      // piscina's interop returns a module marked __esModule as it is, so that `exports[name]` reaches this trap.
      if (key === '__esModule') return true;
      if (typeof key !== 'string' || !key.startsWith('kvbus:')) return undefined;
      let handler = handlers.get(key);
      if (!handler) handlers.set(key, (handler = wrappedHandler(key)));
      return handler;
    },
  },
);
