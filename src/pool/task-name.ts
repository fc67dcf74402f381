import { fileURLToPath } from 'node:url';

// How a pool made by createPool names a task to piscina: piscina loads kvbus's
// task entry (task-entry.ts) and asks it for the export named
// `kvbus:["<the user's file>","<the user's export>"]`.

const PREFIX = 'kvbus:';

/**
 * The name under which the task entry serves one export of one user module.
 * @param filename - the user's task module, a path or a `file:` URL
 * @param name - the export
 * @returns the name to give piscina
 */
export function taskName(filename: string, name: string): string {
  return PREFIX + JSON.stringify([filename.startsWith('file:') ? fileURLToPath(filename) : filename, name]);
}

/**
 * Reads a name made by {@link taskName}.
 * @param encoded - the name
 * @returns the user's module (a path) and export
 */
export function readTaskName(encoded: string): { filename: string; name: string } {
  const [filename, name] = JSON.parse(encoded.slice(PREFIX.length)) as [string, string];
  return { filename, name };
}
