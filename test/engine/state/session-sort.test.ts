import { describe, expect, it } from 'vitest';
import { radixByStart, sortByStart } from '../../../engine/state/session-state.js';
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

describe('radixByStart (a batch in start order)', () => {
  it('orders items like a stable sort by start for every span it takes, and declines the starts it cannot take', () => {
    const r = prng(11);
    const cases: [string, (i: number) => number, boolean][] = [
      ['one value', () => 1_767_225_600_000, true],
      ['span < 2^11 (one pass)', () => 1_767_225_600_000 + Math.floor(r() * 2000), true],
      ['span < 2^22 (two passes)', () => 1_767_225_600_000 + Math.floor(r() * 4_000_000), true],
      ['span < 2^33 (three passes)', () => Math.floor(r() * 2 ** 33 - 1), true],
      ['in order, nearly', (i) => 1_767_225_600_000 + i * 10 - (i % 7 === 0 ? 40 : 0), true],
      ['before 1970', () => -86_400_000 - Math.floor(r() * 100_000), true],
      ['exactly 2^33 wide', (i) => (i === 0 ? 0 : i === 1 ? 2 ** 33 : 5), false],
      ['fractional milliseconds', () => r() * 1000, false],
      ['a NaN', (i) => (i === 3 ? NaN : i), false],
    ];
    for (const [name, f, takes] of cases) {
      for (const m of [1, 7, 2049, 30_000]) {
        const starts = new Float64Array(m + 3).fill(-1e300); // items past m must not be read
        for (let i = 0; i < m; i++) starts[i] = f(i);
        const got = radixByStart(starts, m);
        // One item is always in order; the NaN is item 3.
        const fits = takes || m === 1 || (name === 'a NaN' && m <= 3);
        if (!fits) {
          expect(got, `${name} m=${m}`).toBeNull();
          continue;
        }
        const want = Array.from({ length: m }, (_, i) => i).sort((x, y) => starts[x]! - starts[y]! || x - y);
        expect(Array.from(got!), `${name} m=${m}`).toEqual(want);
      }
    }
  });
});
