import { describe, expect, it } from 'vitest';
import { GlobIndex, MATCH_CACHE_LIMIT } from '../../src/actors/glob-index.js';
import { compileGlob, literalPrefix } from '../../src/glob.js';

/** An index whose matchers count their calls, per glob. */
function countingIndex() {
  const calls = new Map<string, number>();
  const index = new GlobIndex<string>((pattern) => {
    const match = compileGlob(pattern);
    return (subject) => {
      calls.set(pattern, (calls.get(pattern) ?? 0) + 1);
      return match(subject);
    };
  });
  const total = () => [...calls.values()].reduce((a, b) => a + b, 0);
  return { index, calls, total };
}

const patternsOf = (entries: readonly { pattern: string }[]) => entries.map((e) => e.pattern).sort();

describe('literalPrefix', () => {
  it('stops at the first *, ? or [ and resolves escapes', () => {
    expect(literalPrefix('user:*')).toEqual({ prefix: 'user:', whole: false });
    expect(literalPrefix('a?b')).toEqual({ prefix: 'a', whole: false });
    expect(literalPrefix('[ab]c')).toEqual({ prefix: '', whole: false });
    expect(literalPrefix('a\\*b*')).toEqual({ prefix: 'a*b', whole: false });
    expect(literalPrefix('news')).toEqual({ prefix: 'news', whole: true });
    // A trailing backslash stands for itself, as in Redis.
    expect(literalPrefix('a\\')).toEqual({ prefix: 'a\\', whole: true });
  });
});

describe('GlobIndex', () => {
  it('a subject no glob shares a prefix with tries no matcher, among 1 000 globs', () => {
    const { index, total } = countingIndex();
    for (let i = 0; i < 1000; i++) index.add(`room:${i}:*`, 'v');
    expect(index.match('lobby:1')).toEqual([]);
    expect(total()).toBe(0);
  });

  it('a subject tries only the globs with its own prefix', () => {
    const { index, calls } = countingIndex();
    for (let i = 0; i < 1000; i++) index.add(`room:${i}:*`, 'v');
    index.add('room:7:?', 'v');
    expect(patternsOf(index.match('room:7:x'))).toEqual(['room:7:*', 'room:7:?']);
    expect(Object.fromEntries(calls)).toEqual({ 'room:7:*': 1, 'room:7:?': 1 });
  });

  it('literal globs are one lookup, globs with an empty prefix are tried for every subject', () => {
    const { index, calls } = countingIndex();
    index.add('exact', 'v');
    index.add('*x', 'v');
    index.add('[ab]*', 'v');
    expect(patternsOf(index.match('exact'))).toEqual(['exact']);
    expect(Object.fromEntries(calls)).toEqual({ '*x': 1, '[ab]*': 1 });
    expect(patternsOf(index.match('ax'))).toEqual(['*x', '[ab]*']);
  });

  it('remembers a subject’s answer until a glob is added or removed', () => {
    const { index, total } = countingIndex();
    index.add('a*', 'v');
    index.match('ab');
    index.match('ab');
    expect(total()).toBe(1);
    index.add('ab*', 'v');
    expect(patternsOf(index.match('ab'))).toEqual(['a*', 'ab*']);
    index.delete('a*');
    expect(patternsOf(index.match('ab'))).toEqual(['ab*']);
  });

  it('remembers at most MATCH_CACHE_LIMIT subjects (then starts over)', () => {
    const { index, total } = countingIndex();
    index.add('s*', 'v');
    for (let i = 0; i < MATCH_CACHE_LIMIT; i++) index.match(`s${i}`);
    expect(total()).toBe(MATCH_CACHE_LIMIT);
    index.match('s0'); // remembered
    expect(total()).toBe(MATCH_CACHE_LIMIT);
    index.match('s-new'); // the memory is full: it is dropped, and this one remembered
    index.match('s0'); // forgotten, asked again
    expect(total()).toBe(MATCH_CACHE_LIMIT + 2);
  });

  it('keeps one entry per glob, and forgets a glob’s prefix group when its last glob leaves', () => {
    const { index, total } = countingIndex();
    const first = index.add('p:*', 'one');
    expect(index.add('p:*', 'two')).toBe(first);
    expect(index.size).toBe(1);
    expect(index.delete('p:*')).toBe(true);
    expect(index.delete('p:*')).toBe(false);
    expect(index.size).toBe(0);
    expect(index.match('p:1')).toEqual([]);
    expect(total()).toBe(0);
  });
});
