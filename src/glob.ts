// A port of Redis 7.x `stringmatchlen` (src/util.c), the glob behind KEYS, SCAN MATCH
// and PSUBSCRIBE, kept structurally close to the C so the two can be diffed by eye.
// Redis matches bytes; this matches UTF-16 code units, so `?` eats half of a surrogate
// pair and ranges compare unsigned units where C compares (signed) chars. For ASCII
// the answers are identical. No RegExp: Redis's quirks do not map onto one.

// Char codes of * ? [ ] \ ^ -
const [STAR, QMARK, LBRACKET, RBRACKET, BACKSLASH, CARET, DASH] = [0x2a, 0x3f, 0x5b, 0x5d, 0x5c, 0x5e, 0x2d];
/** Redis gives up (no match) past this recursion depth, against abusive patterns. */
const MAX_NESTING = 1000;
const CACHE_LIMIT = 1000;

// Shared by the whole recursion, like the `int *skipLongerMatches` in C.
type MatchState = { skipLongerMatches: boolean };

// `pi`/`si` are offsets; C's patternLen/stringLen are `length - offset`. charCodeAt
// past the end yields NaN, which equals nothing, as C's NUL terminator equals no
// special character.
function matchImpl(p: string, pi: number, s: string, si: number, state: MatchState, nesting: number): boolean {
  if (nesting > MAX_NESTING) return false;
  const pl = p.length;
  const sl = s.length;
  // Runs only while both sides have input, so `*` does not match "" (KEYS and SCAN
  // special-case a lone `*` before calling stringmatchlen; PSUBSCRIBE does not).
  while (pi < pl && si < sl) {
    const pc = p.charCodeAt(pi);
    if (pc === STAR) {
      while (p.charCodeAt(pi + 1) === STAR) pi++;
      if (pi === pl - 1) return true;
      for (; si < sl; si++) {
        if (matchImpl(p, pi + 1, s, si, state, nesting + 1)) return true;
        if (state.skipLongerMatches) return false;
      }
      // The rest of the pattern matched nowhere in the rest of the subject, so letting
      // an earlier `*` eat more characters cannot help: every enclosing loop stops too.
      state.skipLongerMatches = true;
      return false;
    } else if (pc === QMARK) {
      si++;
    } else if (pc === LBRACKET) {
      const c = s.charCodeAt(si);
      pi++;
      const not = p.charCodeAt(pi) === CARET;
      if (not) pi++;
      let match = false;
      for (;;) {
        const cc = p.charCodeAt(pi);
        if (cc === BACKSLASH && pl - pi >= 2) {
          pi++;
          if (p.charCodeAt(pi) === c) match = true;
        } else if (cc === RBRACKET) {
          break;
        } else if (pi === pl) {
          // Unterminated class: it ends with the pattern; step back so the shared
          // `pi++` below lands exactly on the end.
          pi--;
          break;
        } else if (pl - pi >= 3 && p.charCodeAt(pi + 1) === DASH) {
          let lo = cc;
          let hi = p.charCodeAt(pi + 2);
          if (lo > hi) [lo, hi] = [hi, lo];
          pi += 2;
          if (c >= lo && c <= hi) match = true;
        } else if (cc === c) {
          match = true;
        }
        pi++;
      }
      if (not) match = !match;
      if (!match) return false;
      si++;
    } else {
      // A trailing backslash has nothing to escape and stands for itself.
      if (pc === BACKSLASH && pl - pi >= 2) pi++;
      if (p.charCodeAt(pi) !== s.charCodeAt(si)) return false;
      si++;
    }
    pi++;
    if (si === sl) {
      while (p.charCodeAt(pi) === STAR) pi++;
      break;
    }
  }
  return pi === pl && si === sl;
}

/**
 * Matches `subject` against a Redis glob `pattern`, exactly as Redis 7 `stringmatchlen` does.
 * @param pattern - the glob: `*`, `?`, `[...]` / `[^...]` classes with ranges, `\` escapes
 * @param subject - the key or channel name to test
 * @returns true when the whole of `subject` matches; note `*` does not match ""
 */
export function globMatch(pattern: string, subject: string): boolean {
  return matchImpl(pattern, 0, subject, 0, { skipLongerMatches: false }, 0);
}

function isSpecial(code: number): boolean {
  return code === STAR || code === QMARK || code === LBRACKET || code === BACKSLASH;
}

// Insertion-ordered, so the first key is the oldest: FIFO keeps hits free of Map churn.
const cache = new Map<string, (subject: string) => boolean>();

function build(pattern: string): (subject: string) => boolean {
  let i = 0;
  while (i < pattern.length && !isSpecial(pattern.charCodeAt(i))) i++;
  if (i === pattern.length) return (subject) => subject === pattern;
  let j = i;
  while (j < pattern.length && pattern.charCodeAt(j) === STAR) j++;
  if (j === pattern.length && j > i) {
    // Stars only match non-empty input (the loop in matchImpl never runs on ""),
    // so an empty prefix must still reject "" to agree with globMatch.
    if (i === 0) return (subject) => subject.length > 0;
    const prefix = pattern.slice(0, i);
    return (subject) => subject.startsWith(prefix);
  }
  return (subject) => globMatch(pattern, subject);
}

/**
 * Compiles a glob into a matcher, short-cutting literal, `prefix*` and `*` patterns.
 * @param pattern - the glob, with the same syntax and semantics as {@link globMatch}
 * @returns a function answering `globMatch(pattern, subject)` for any subject
 * @example
 * const isUser = compileGlob('user:*');
 * isUser('user:42'); // true
 * isUser('order:7'); // false
 */
export function compileGlob(pattern: string): (subject: string) => boolean {
  let matcher = cache.get(pattern);
  if (matcher === undefined) {
    matcher = build(pattern);
    if (cache.size >= CACHE_LIMIT) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    cache.set(pattern, matcher);
  }
  return matcher;
}

/**
 * The literal text every subject matched by `pattern` starts with: the pattern up to
 * its first `*`, `?` or `[`, with `\\` escapes resolved. An index of patterns keyed by it
 * only has to try the patterns whose prefix a subject starts with.
 * @param pattern - a glob, as for {@link globMatch}
 * @returns the prefix, and whether it is the whole pattern (the glob matches only that literal)
 * @example
 * literalPrefix('user\\*:*'); // { prefix: 'user*:', whole: false }
 */
export function literalPrefix(pattern: string): { prefix: string; whole: boolean } {
  let prefix = '';
  let i = 0;
  const pl = pattern.length;
  while (i < pl) {
    const c = pattern.charCodeAt(i);
    if (c === STAR || c === QMARK || c === LBRACKET) return { prefix, whole: false };
    // As in matchImpl: a backslash escapes the next character; a trailing one stands for itself.
    if (c === BACKSLASH && pl - i >= 2) i++;
    prefix += pattern[i];
    i++;
  }
  return { prefix, whole: true };
}

/**
 * Escapes the glob characters of a literal (`*`, `?`, `[`, `]`, `\`), so that it
 * matches only itself in kvbus's Redis-style globs (`keys`, `scan`, `changes`,
 * `pattern`) and in Redis's own (`SCAN MATCH`, `PSUBSCRIBE`).
 * @param literal - a key prefix, such as a namespace
 * @returns the literal, safe to put in front of a `*`
 * @example
 * escapeGlob('a*b'); // 'a\\*b': `${escapeGlob(ns)}:*` matches `a*b:x`, not `aXb:x`
 */
export function escapeGlob(literal: string): string {
  return literal.replace(/[*?[\]\\]/g, '\\$&');
}
