/**
 * Values that come now or later: a show() that takes no lock answers in the call, one that waits
 * answers with a promise. Mapping keeps the first kind promise-free (a read then needs no promise,
 * no timer: npm run bench, reads).
 */
export type MaybeAsync<T> = T | Promise<T>;

/** `f` of `v`: at once when `v` is there, after it when it is a promise. */
export function mapMaybe<T, U>(v: MaybeAsync<T>, f: (x: T) => U): MaybeAsync<U> {
  return v instanceof Promise ? v.then(f) : f(v);
}
