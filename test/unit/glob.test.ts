import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileGlob, globMatch } from '../../src/glob.js';

// Expected answers follow Redis 7.x stringmatchlen (src/util.c) and the KEYS tests in
// tests/unit/keyspace.tcl; the quirky ones were checked against the C function itself.

const SPECIAL = new Set(['*', '?', '[', ']', '\\']);
const escapeGlob = (s: string): string => [...s].map((ch) => (SPECIAL.has(ch) ? `\\${ch}` : ch)).join('');

describe('globMatch', () => {
  it('matches * against any run of characters, including none', () => {
    expect(globMatch('*', 'anything at all')).toBe(true);
    expect(globMatch('a*b', 'ab')).toBe(true);
    expect(globMatch('a*b', 'axyzb')).toBe(true);
    expect(globMatch('a*b', 'axyzbc')).toBe(false);
    expect(globMatch('*b', 'aab')).toBe(true);
    expect(globMatch('a*', 'a')).toBe(true);
    expect(globMatch('a*', 'b')).toBe(false);
  });

  it('collapses a run of stars into one', () => {
    expect(globMatch('a***b', 'ab')).toBe(true);
    expect(globMatch('a***b', 'a--b')).toBe(true);
    expect(globMatch('***', 'x')).toBe(true);
  });

  it('does not match a lone * against the empty subject, as Redis does not', () => {
    expect(globMatch('*', '')).toBe(false);
    expect(globMatch('**', '')).toBe(false);
  });

  it('matches ? against exactly one character', () => {
    expect(globMatch('h?llo', 'hello')).toBe(true);
    expect(globMatch('h?llo', 'hallo')).toBe(true);
    expect(globMatch('h?llo', 'hllo')).toBe(false);
    expect(globMatch('h?llo', 'heello')).toBe(false);
    expect(globMatch('?', '')).toBe(false);
  });

  it('matches a [...] class against one of its characters', () => {
    expect(globMatch('h[ae]llo', 'hello')).toBe(true);
    expect(globMatch('h[ae]llo', 'hallo')).toBe(true);
    expect(globMatch('h[ae]llo', 'hillo')).toBe(false);
    expect(globMatch('[]', ']')).toBe(false);
  });

  it('matches a range such as [a-z]', () => {
    expect(globMatch('key[0-9]', 'key7')).toBe(true);
    expect(globMatch('key[0-9]', 'keyx')).toBe(false);
    expect(globMatch('[a-z]', 'm')).toBe(true);
    expect(globMatch('[a-z]', 'M')).toBe(false);
  });

  it('swaps a reversed range such as [z-a]', () => {
    expect(globMatch('[z-a]', 'm')).toBe(true);
    expect(globMatch('[z-a]', 'a')).toBe(true);
    expect(globMatch('[z-a]', 'z')).toBe(true);
    expect(globMatch('[z-a]', 'A')).toBe(false);
  });

  it('negates a class with [^...]', () => {
    expect(globMatch('h[^e]llo', 'hallo')).toBe(true);
    expect(globMatch('h[^e]llo', 'hello')).toBe(false);
    expect(globMatch('[^a]', 'b')).toBe(true);
    expect(globMatch('[^a]', 'a')).toBe(false);
    expect(globMatch('[^a-c]', 'b')).toBe(false);
    expect(globMatch('[^a-c]', 'd')).toBe(true);
    expect(globMatch('[^]', 'x')).toBe(true);
  });

  it('treats \\*, \\? and \\[ as literal characters', () => {
    expect(globMatch('a\\*b', 'a*b')).toBe(true);
    expect(globMatch('a\\*b', 'axb')).toBe(false);
    expect(globMatch('a\\?b', 'a?b')).toBe(true);
    expect(globMatch('a\\?b', 'axb')).toBe(false);
    expect(globMatch('\\[a]', '[a]')).toBe(true);
    expect(globMatch('\\[a]', 'a')).toBe(false);
    expect(globMatch('\\x', 'x')).toBe(true);
  });

  it('honours escapes inside brackets', () => {
    expect(globMatch('[\\]]', ']')).toBe(true);
    expect(globMatch('[\\]]', '\\')).toBe(false);
    expect(globMatch('[a\\-z]', '-')).toBe(true);
    expect(globMatch('[a\\-z]', 'b')).toBe(false);
    expect(globMatch('[\\^a]', '^')).toBe(true);
    expect(globMatch('[\\\\]', '\\')).toBe(true);
  });

  it('does not start a range at an escaped character', () => {
    // `[\a-z]` is the set {a, -, z}: the escape consumes `a` alone, so no range forms.
    expect(globMatch('[\\a-z]', 'a')).toBe(true);
    expect(globMatch('[\\a-z]', '-')).toBe(true);
    expect(globMatch('[\\a-z]', 'z')).toBe(true);
    expect(globMatch('[\\a-z]', 'b')).toBe(false);
  });

  it('lets a range end on the closing bracket, like Redis', () => {
    // `[a-]` is the range `]`..`a` and the class runs on to the end of the pattern.
    expect(globMatch('[a-]', '_')).toBe(true);
    expect(globMatch('[a-]', '-')).toBe(false);
    expect(globMatch('[a-]x', 'a')).toBe(true);
    expect(globMatch('[a-]x', 'ax')).toBe(false);
  });

  it('closes an unterminated [ at the end of the pattern', () => {
    expect(globMatch('[abc', 'a')).toBe(true);
    expect(globMatch('[abc', 'c')).toBe(true);
    expect(globMatch('[abc', 'd')).toBe(false);
    expect(globMatch('x[a-c', 'xb')).toBe(true);
    expect(globMatch('[', '[')).toBe(false);
    expect(globMatch('[^', 'x')).toBe(true);
    expect(globMatch('[\\', '\\')).toBe(true);
  });

  it('matches a trailing backslash against a literal backslash', () => {
    expect(globMatch('a\\', 'a\\')).toBe(true);
    expect(globMatch('a\\', 'a')).toBe(false);
    expect(globMatch('\\', '\\')).toBe(true);
  });

  it('matches the empty pattern against the empty subject only', () => {
    expect(globMatch('', '')).toBe(true);
    expect(globMatch('', 'a')).toBe(false);
    expect(globMatch('a', '')).toBe(false);
  });

  it('selects keys like the KEYS with pattern tests', () => {
    const keys = ['key_x', 'key_y', 'key_z', 'foo_a', 'foo_b', 'foo_c'];
    expect(keys.filter((k) => globMatch('foo*', k))).toEqual(['foo_a', 'foo_b', 'foo_c']);
    expect(keys.filter((k) => globMatch('*', k))).toEqual(keys);
    const tagged = ['{a}x', '{a}y', '{a}z', '{b}a', '{b}b', '{b}c'];
    expect(tagged.filter((k) => globMatch('{a}*', k))).toEqual(['{a}x', '{a}y', '{a}z']);
    expect(tagged.filter((k) => globMatch('*{b}*', k))).toEqual(['{b}a', '{b}b', '{b}c']);
  });

  it('rejects long nested star patterns without backtracking forever', () => {
    // keyspace.tcl "Regression for pattern matching long nested loops".
    expect(globMatch('a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(40))).toBe(false);
    expect(globMatch(`${'*a'.repeat(200)}b`, 'a'.repeat(5000))).toBe(false);
  });

  it('gives up past 1000 levels of star nesting', () => {
    // keyspace.tcl "Regression for pattern matching very long nested loops".
    expect(globMatch('*?'.repeat(50000), 'a'.repeat(50000))).toBe(false);
    expect(globMatch('*?'.repeat(1000), 'a'.repeat(1000))).toBe(true);
    expect(globMatch('*?'.repeat(1001), 'a'.repeat(1001))).toBe(false);
  });

  it('matches any subject exactly once every special character is escaped', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', maxLength: 40 }), (s) => {
        const pattern = escapeGlob(s);
        expect(globMatch(pattern, s)).toBe(true);
        expect(globMatch(pattern, `${s}x`)).toBe(false);
        if (s.length > 0) expect(globMatch(pattern, s.slice(0, -1))).toBe(false);
      }),
    );
  });
});

describe('compileGlob', () => {
  it('compiles literal, prefix, star and general patterns', () => {
    expect(compileGlob('user:42')('user:42')).toBe(true);
    expect(compileGlob('user:42')('user:420')).toBe(false);
    expect(compileGlob('user:*')('user:42')).toBe(true);
    expect(compileGlob('user:**')('user:')).toBe(true);
    expect(compileGlob('user:*')('order:7')).toBe(false);
    expect(compileGlob('*')('x')).toBe(true);
    expect(compileGlob('h[ae]llo')('hallo')).toBe(true);
    expect(compileGlob('\\*')('*')).toBe(true);
    expect(compileGlob('\\*')('x')).toBe(false);
  });

  it('keeps globMatch semantics for a lone * against the empty subject', () => {
    expect(compileGlob('*')('')).toBe(globMatch('*', ''));
  });

  it('reuses the compiled matcher for a recurring pattern', () => {
    expect(compileGlob('recurring:*')).toBe(compileGlob('recurring:*'));
  });

  it('bounds its cache by evicting the oldest pattern', () => {
    const first = compileGlob('evict-me:?');
    for (let i = 0; i < 1000; i++) compileGlob(`filler:${i}:?`);
    expect(compileGlob('evict-me:?')).not.toBe(first);
  });

  it('agrees with globMatch on random patterns and subjects', () => {
    const pattern = fc.string({ unit: fc.constantFrom(...'ab*?[]^-\\'), maxLength: 12 });
    const subject = fc.string({ unit: fc.constantFrom(...'ab[]-\\'), maxLength: 10 });
    fc.assert(
      fc.property(pattern, subject, (p, s) => {
        expect(compileGlob(p)(s)).toBe(globMatch(p, s));
      }),
      { numRuns: 2000 },
    );
  });
});
