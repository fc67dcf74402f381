/**
 * Escapes the glob characters of a literal (`*`, `?`, `[`, `]`, `\`), so that it
 * matches only itself in kvbus's Redis-style globs (`keys`, `scan`, `changes`).
 * @param literal - a key prefix, such as a namespace
 * @returns the literal, safe to put in front of a `*`
 * @example
 * escapeGlob('a*b'); // 'a\\*b': `${escapeGlob(ns)}:*` matches `a*b:x`, not `aXb:x`
 */
export function escapeGlob(literal: string): string {
  return literal.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * The glob of every key under `prefix` (`prefix:` followed by anything), or of every key.
 * @param prefix - the key prefix, without its trailing `:`; empty or absent for the whole store
 * @returns `escaped-prefix:*`, or `undefined` (every key) without a prefix
 */
export function prefixGlob(prefix: string | undefined): string | undefined {
  return prefix ? `${escapeGlob(prefix)}:*` : undefined;
}
