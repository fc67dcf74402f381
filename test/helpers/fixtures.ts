// Where the files in test/fixtures are: workers and pools take URLs, child processes take paths.
import { fileURLToPath } from 'node:url';

/** The URL of a file in test/fixtures. */
export function fixtureUrl(name: string): URL {
  return new URL(`../fixtures/${name}`, import.meta.url);
}

/** The path of a file in test/fixtures. */
export function fixturePath(name: string): string {
  return fileURLToPath(fixtureUrl(name));
}
