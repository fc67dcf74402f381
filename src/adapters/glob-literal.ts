import { escapeGlob } from 'kvbus';

/**
 * The glob of every key under `prefix` (`prefix:` followed by anything), or of every key.
 * @param prefix - the key prefix, without its trailing `:`; empty or absent for the whole store
 * @returns `escaped-prefix:*`, or `undefined` (every key) without a prefix
 */
export function prefixGlob(prefix: string | undefined): string | undefined {
  return prefix ? `${escapeGlob(prefix)}:*` : undefined;
}
