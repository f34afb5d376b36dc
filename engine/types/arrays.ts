/**
 * Array helpers for data-sized arrays (rows, points, batches, files).
 *
 * `target.push(...items)`, `Math.min(...values)` and `String.fromCharCode(...bytes)` pass every element as a call
 * argument, on the stack: beyond roughly 100 k elements (fewer on a deeper stack) they throw
 * `RangeError: Maximum call stack size exceeded`. These loop instead, so any size works.
 *
 * @module
 */

/**
 * Appends every element of `items` to `target` (in order) and returns `target`; the loop form of
 * `target.push(...items)`, safe for any number of items.
 *
 * @example
 * const out: number[] = [];
 * appendAll(out, [1, 2]); // out is [1, 2]
 */
export function appendAll<T>(target: T[], items: ArrayLike<T>): T[] {
  for (let i = 0; i < items.length; i++) target.push(items[i]!);
  return target;
}

/**
 * Smallest and largest of `values` as `[min, max]`, as `Math.min(...values)` and `Math.max(...values)` give them
 * (`[Infinity, -Infinity]` when empty, NaN when any value is NaN) but safe for any number of values.
 *
 * @example
 * extent([3, 1, 2]);                 // [1, 3]
 * extent(points, (p) => p[0]);       // over a projection, without a mapped copy
 */
export function extent(values: ArrayLike<number>): [number, number];
export function extent<T>(values: ArrayLike<T>, of: (value: T) => number): [number, number];
export function extent<T>(values: ArrayLike<T>, of?: (value: T) => number): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = of ? of(values[i]!) : (values[i] as number);
    if (Number.isNaN(v)) return [NaN, NaN];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}
