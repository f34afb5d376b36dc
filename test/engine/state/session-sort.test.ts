import { describe, expect, it } from 'vitest';
import { sortByStart } from '../../../engine/state/session-state.js';
import { prng } from '../../helpers/prng.js';

/** The reference: a stable sort of the bucket by start, ties by the order value. */
function reference(order: Int32Array, a: number, b: number, starts: Float64Array): number[] {
  return Array.from(order.subarray(a, b)).sort((x, y) => starts[x]! - starts[y]! || x - y);
}

describe('sortByStart (session buckets)', () => {
  it('sorts every kind of bucket like a stable comparator sort: sorted, nearly sorted, shuffled, fractional, wide', () => {
    const r = prng(5);
    const cases: [string, (i: number) => number][] = [
      ['in order', (i) => 1_767_225_600_000 + i * 10],
      ['nearly sorted', (i) => 1_767_225_600_000 + i * 10 - (i % 50 === 0 ? 30 : 0)],
      ['shuffled with ties', () => 1_767_225_600_000 + Math.floor(r() * 200)],
      ['shuffled, before 1970', () => -86_400_000 + Math.floor(r() * 5000)],
      ['fractional milliseconds', () => 1_767_225_600_000 + r() * 1000],
      ['wider than 2^30 ms', () => Math.floor(r() * 2 ** 40)],
    ];
    for (const [name, f] of cases) {
      for (const n of [5, 24, 25, 300, 5000]) {
        const starts = new Float64Array(n + 10);
        for (let i = 0; i < starts.length; i++) starts[i] = f(i);
        // A bucket in the middle of `order`, ascending as the counting sort leaves it.
        const order = new Int32Array(n + 10);
        for (let i = 0; i < order.length; i++) order[i] = i;
        const want = reference(order, 5, 5 + n, starts);
        sortByStart(order, 5, 5 + n, starts);
        expect(Array.from(order.subarray(5, 5 + n)), `${name} n=${n}`).toEqual(want);
        expect(Array.from(order.subarray(0, 5))).toEqual([0, 1, 2, 3, 4]);
        expect(Array.from(order.subarray(5 + n))).toEqual(Array.from({ length: 5 }, (_, i) => n + 5 + i));
      }
    }
  });
});
