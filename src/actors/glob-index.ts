import { compileGlob, literalPrefix } from '../glob.js';

/** One glob of a {@link GlobIndex}, with what is kept for it (its subscribers). */
export interface GlobEntry<TValue> {
  readonly pattern: string;
  readonly match: (subject: string) => boolean;
  readonly value: TValue;
}

/** Subjects whose matching globs are remembered; past this the memory is dropped and refilled. */
export const MATCH_CACHE_LIMIT = 4096;

const NONE: readonly never[] = Object.freeze([]);

/**
 * Globs indexed by their literal prefix, so that finding the globs a subject
 * matches costs work proportional to the globs that share a prefix with it, not
 * to every glob held: globs are grouped by prefix length, and a subject looks
 * up its own prefix of each length present (a `Map` lookup per distinct length).
 * A literal glob (no `*`, `?` or `[`) is one lookup by the whole subject. The
 * answers that took matchers to find are remembered per subject (a repeated
 * channel then costs one lookup) and forgotten whenever a glob is added or
 * removed; the memory holds at most {@link MATCH_CACHE_LIMIT} subjects.
 * @example
 * const index = new GlobIndex<Set<string>>();
 * index.add('user:*', new Set());
 * index.match('user:1'); // [the entry of 'user:*']
 * index.match('order:1'); // []
 */
export class GlobIndex<TValue> {
  readonly #byPattern = new Map<string, GlobEntry<TValue>>();
  /** Literal globs, by the only subject they match. */
  readonly #literal = new Map<string, GlobEntry<TValue>>();
  /** Prefix length → prefix → the globs with that prefix. */
  readonly #byPrefix = new Map<number, Map<string, GlobEntry<TValue>[]>>();
  /** The prefix lengths present, ascending (the order subjects are sliced in). */
  #lengths: number[] = [];
  /** First character of a non-empty prefix → how many globs have such a prefix: most subjects are ruled out by it, with no slice. */
  readonly #firsts = new Map<number, number>();
  readonly #matches = new Map<string, readonly GlobEntry<TValue>[]>();
  readonly #compile: (pattern: string) => (subject: string) => boolean;
  /** Set by #find when it ran a matcher. */
  #tried = false;

  /** @param compile - turns a glob into its matcher (tests count the matchers' calls through it) */
  constructor(compile: (pattern: string) => (subject: string) => boolean = compileGlob) {
    this.#compile = compile;
  }

  /** Number of globs held. */
  get size(): number {
    return this.#byPattern.size;
  }

  /** The entry of a glob, if held. */
  get(pattern: string): GlobEntry<TValue> | undefined {
    return this.#byPattern.get(pattern);
  }

  /** Every entry, in the order added. */
  values(): IterableIterator<GlobEntry<TValue>> {
    return this.#byPattern.values();
  }

  /**
   * Adds a glob (a glob already held keeps its entry).
   * @param pattern - the glob
   * @param value - what to keep with it
   * @returns the glob's entry
   */
  add(pattern: string, value: TValue): GlobEntry<TValue> {
    const held = this.#byPattern.get(pattern);
    if (held) return held;
    const entry: GlobEntry<TValue> = { pattern, match: this.#compile(pattern), value };
    this.#byPattern.set(pattern, entry);
    this.#matches.clear();
    const { prefix, whole } = literalPrefix(pattern);
    if (whole) {
      this.#literal.set(prefix, entry);
      return entry;
    }
    let table = this.#byPrefix.get(prefix.length);
    if (!table) {
      table = new Map();
      this.#byPrefix.set(prefix.length, table);
      this.#lengths = [...this.#byPrefix.keys()].sort((a, b) => a - b);
    }
    const group = table.get(prefix);
    if (group) group.push(entry);
    else table.set(prefix, [entry]);
    if (prefix.length > 0) {
      const first = prefix.charCodeAt(0);
      this.#firsts.set(first, (this.#firsts.get(first) ?? 0) + 1);
    }
    return entry;
  }

  /**
   * Removes a glob.
   * @returns true when it was held
   */
  delete(pattern: string): boolean {
    const entry = this.#byPattern.get(pattern);
    if (!entry) return false;
    this.#byPattern.delete(pattern);
    this.#matches.clear();
    const { prefix, whole } = literalPrefix(pattern);
    if (whole) {
      this.#literal.delete(prefix);
      return true;
    }
    if (prefix.length > 0) {
      const first = prefix.charCodeAt(0);
      const left = this.#firsts.get(first)! - 1;
      if (left === 0) this.#firsts.delete(first);
      else this.#firsts.set(first, left);
    }
    const table = this.#byPrefix.get(prefix.length)!;
    const group = table.get(prefix)!;
    group.splice(group.indexOf(entry), 1);
    if (group.length > 0) return true;
    table.delete(prefix);
    if (table.size === 0) {
      this.#byPrefix.delete(prefix.length);
      this.#lengths = this.#lengths.filter((length) => length !== prefix.length);
    }
    return true;
  }

  /**
   * The globs `subject` matches (as `compileGlob(pattern)(subject)` answers), in no set order.
   * The array is shared: do not change it; it stays valid after globs change (it is not updated).
   */
  match(subject: string): readonly GlobEntry<TValue>[] {
    if (this.#byPattern.size === 0) return NONE;
    let found = this.#matches.get(subject);
    if (found !== undefined) return found;
    this.#tried = false;
    found = this.#find(subject);
    // Only an answer that took matchers is worth remembering: one made of lookups
    // alone costs about what remembering it would.
    if (this.#tried) {
      if (this.#matches.size >= MATCH_CACHE_LIMIT) this.#matches.clear();
      this.#matches.set(subject, found);
    }
    return found;
  }

  #find(subject: string): readonly GlobEntry<TValue>[] {
    let found: GlobEntry<TValue>[] | undefined;
    const literal = this.#literal.get(subject);
    if (literal) found = [literal];
    // No non-empty prefix starts as the subject does: only the empty one can match.
    const some = this.#firsts.has(subject.charCodeAt(0));
    for (const length of this.#lengths) {
      if (length > subject.length || (length > 0 && !some)) break;
      const group = this.#byPrefix.get(length)!.get(length === 0 ? '' : subject.slice(0, length));
      if (!group) continue;
      this.#tried = true;
      for (const entry of group) {
        if (entry.match(subject)) (found ??= []).push(entry);
      }
    }
    return found ?? NONE;
  }
}
