// Type-level only: the schema of a typed store, and how a key or a channel
// finds its entry in it. Nothing here exists at run time.

/**
 * The schema of a typed store (see {@link TypedStore}): the value type of each key
 * pattern and the data type of each channel pattern. A pattern may use `*` for
 * any run of characters (`'job:*:progress'`); other glob characters are literal.
 * Leave `keys` (or `channels`) out to keep that half of the API untyped.
 * @example
 * interface AppSchema {
 *   keys: { config: { debug: boolean }; 'job:*:progress': number };
 *   channels: { 'job:*:done': { id: string; ok: boolean } };
 * }
 * const store = createStore<AppSchema>();
 */
export interface StoreSchema {
  /** Value type per key pattern. */
  keys?: object;
  /** Data type per channel pattern. */
  channels?: object;
}

/**
 * The template literal type a `*` pattern stands for: each `*` becomes `${string}`.
 * @example
 * type T = PatternKey<'job:*:progress'>; // `job:${string}:progress`
 */
export type PatternKey<TPattern extends string> = TPattern extends `${infer Head}*${infer Tail}`
  ? `${Head}${string}${PatternKey<Tail>}`
  : TPattern;

/**
 * The keys a schema allows: the union of its key patterns as template literal types.
 * @example
 * type K = SchemaKey<AppSchema>; // 'config' | `job:${string}:progress`
 */
export type SchemaKey<S extends StoreSchema> = PatternKeys<EntriesOf<S, 'keys'>>;
/** The channels a schema allows: the union of its channel patterns as template literal types. */
export type SchemaChannel<S extends StoreSchema> = PatternKeys<EntriesOf<S, 'channels'>>;

/**
 * The value type of a key: the entry of its most specific matching pattern. A
 * pattern is more specific than another when every key it matches also matches
 * the other (`'user:admin'` over `'user:*:settings'` over `'user:*'`); when the
 * matching patterns are not ordered so (`'a:*'` and `'*:b'` for `'a:b'`), the
 * value is the union of their entries. `never` when no pattern matches.
 * @example
 * type V = KeyValue<AppSchema, 'job:7:progress'>; // number
 */
export type KeyValue<S extends StoreSchema, TKey extends string> = EntryOf<EntriesOf<S, 'keys'>, TKey>;
/** The data type of a channel, chosen as {@link KeyValue} chooses a key's value. */
export type ChannelData<S extends StoreSchema, TChannel extends string> = EntryOf<EntriesOf<S, 'channels'>, TChannel>;

/**
 * The values a glob can meet (as in `getAll`, `scan`, `changes`): the entries of
 * every key pattern whose keys may match the glob (`*` and no glob: all of them).
 */
export type GlobValue<S extends StoreSchema, TGlob extends string> = OverlapEntries<EntriesOf<S, 'keys'>, TGlob>;
/** The data a channel glob can meet (as in `pattern`), chosen as {@link GlobValue} chooses values. */
export type GlobData<S extends StoreSchema, TGlob extends string> = OverlapEntries<EntriesOf<S, 'channels'>, TGlob>;

/** True when the schema declares `keys`. */
export type HasKeys<S extends StoreSchema> = [EntriesOf<S, 'keys'>] extends [never] ? false : true;
/** True when the schema declares `channels`. */
export type HasChannels<S extends StoreSchema> = [EntriesOf<S, 'channels'>] extends [never] ? false : true;

// The `keys` or `channels` object of a schema, or never when it has none (or
// only `object`, as StoreSchema itself: the default of createStore<S>, untyped).
type EntriesOf<S, TPart extends 'keys' | 'channels'> = S extends { readonly [P in TPart]?: infer TEntries }
  ? TEntries extends object
    ? object extends TEntries
      ? never
      : TEntries
    : never
  : never;

type PatternsOf<TEntries> = Extract<keyof TEntries, string>;

type PatternKeys<TEntries> = { [P in PatternsOf<TEntries>]: PatternKey<P> }[PatternsOf<TEntries>];

// Distributes over a union of keys: reading `'a' | 'b'` can give either value.
type EntryOf<TEntries, TKey extends string> = TKey extends unknown
  ? TEntries[MostSpecific<MatchingPatterns<TEntries, TKey>> & keyof TEntries]
  : never;

type MatchingPatterns<TEntries, TKey extends string> = {
  [P in PatternsOf<TEntries>]: TKey extends PatternKey<P> ? P : never;
}[PatternsOf<TEntries>];

// The patterns of a union that no other pattern of it is strictly narrower than.
type MostSpecific<TPatterns extends string, TAll extends string = TPatterns> = TPatterns extends unknown
  ? [StrictlyNarrower<Exclude<TAll, TPatterns>, TPatterns>] extends [never]
    ? TPatterns
    : never
  : never;

type StrictlyNarrower<TOthers extends string, TPattern extends string> = TOthers extends unknown
  ? PatternKey<TOthers> extends PatternKey<TPattern>
    ? PatternKey<TPattern> extends PatternKey<TOthers>
      ? never
      : TOthers
    : never
  : never;

type OverlapEntries<TEntries, TGlob extends string> = TEntries[OverlappingPatterns<TEntries, TGlob> & keyof TEntries];

type OverlappingPatterns<TEntries, TGlob extends string> = {
  [P in PatternsOf<TEntries>]: MayOverlap<P, TGlob> extends true ? P : never;
}[PatternsOf<TEntries>];

// Whether some string may match both `*` patterns. Exact for patterns without
// `*`; otherwise compares what they start and end with, which is never too narrow.
type MayOverlap<A extends string, B extends string> = string extends B
  ? true
  : string extends A
    ? true
    : A extends `${string}*${string}`
      ? B extends `${string}*${string}`
        ? Compatible<Head<A>, Head<B>, Last<A>, Last<B>>
        : B extends PatternKey<A>
          ? true
          : false
      : A extends PatternKey<B>
        ? true
        : false;

type Head<P extends string> = P extends `${infer H}*${string}` ? H : P;
type Last<P extends string> = P extends `${string}*${infer T}` ? Last<T> : P;

type Compatible<H1 extends string, H2 extends string, T1 extends string, T2 extends string> = H1 extends `${H2}${string}`
  ? EndsCompatible<T1, T2>
  : H2 extends `${H1}${string}`
    ? EndsCompatible<T1, T2>
    : false;

type EndsCompatible<T1 extends string, T2 extends string> = T1 extends `${string}${T2}` ? true : T2 extends `${string}${T1}` ? true : false;
