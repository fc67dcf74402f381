/**
 * One key change, as seen by `store.changes()`: a discriminated union on `type`.
 * Only a `set` carries a value (the others declare `value?: never`, so that
 * `event.value` reads as `TValue | undefined` without narrowing first).
 * @example
 * store.changes('job:*').subscribe((event) => {
 *   if (event.type === 'set') console.log(event.key, '=', event.value);
 *   else console.log(event.key, event.type === 'clear' ? 'cleared' : 'gone');
 * });
 */
export type ChangeEvent<TValue = unknown> =
  | {
      type: 'set';
      /** The key that changed. */
      key: string;
      /** The new value. */
      value: TValue;
      /** The store-wide revision of this write. */
      revision: number;
    }
  | {
      type: 'delete' | 'expire';
      /** The key that was deleted, or that expired. */
      key: string;
      value?: never;
      /** The store-wide revision of this change. */
      revision: number;
    }
  | {
      type: 'clear';
      /** Every key of the namespace: `'*'`. */
      key: '*';
      value?: never;
      /** The store-wide revision of this change. */
      revision: number;
    };
