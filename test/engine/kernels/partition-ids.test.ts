import { describe, expect, it } from 'vitest';
import { partitionIds, rowsByPartition } from '../../../engine/kernels/hash-kernel.js';
import type { Vec } from '../../../engine/kernels/vec.js';

// Partition ids are part of the checkpoint format: a restart with the same parallelism loads partition p's state
// folder straight into worker p, so the function must give the same ids in every release. These values were
// computed by the first released implementation; a change here breaks existing checkpoints.
const longs = [0, 1, -1, 2, 1000, 123456, -123456, 2147483647, -2147483648, 2147483648, -2147483649, 4294967296, 9007199254740991, -9007199254740991, 1717027200000, 1717027210000, 5e15, -42];
const doubles = [0, -0, 1.5, -2.25, 1e300, NaN, Infinity, -Infinity, 0.1, 3];
const strs = ['', 'a', 'abc', 'abcd', 'Ünïcødé', 'x'.repeat(41)];

function strVec(xs: string[]): Vec {
  const bs = xs.map((x) => new TextEncoder().encode(x));
  const offsets = new Int32Array(xs.length + 1);
  bs.forEach((b, i) => (offsets[i + 1] = offsets[i]! + b.length));
  const bytes = new Uint8Array(offsets[xs.length]!);
  bs.forEach((b, i) => bytes.set(b, offsets[i]!));
  return { kind: 'str', type: 'string', length: xs.length, offsets, bytes, valid: null };
}
const num = (type: 'long' | 'double', xs: number[], valid: Uint8Array | null = null): Vec => ({ kind: 'num', type, length: xs.length, values: Float64Array.from(xs), big: null, valid });

const cases: [string, Vec[], Record<number, string>][] = [
  ['long', [num('long', longs)], { 2: '101011001011010000', 3: '101210122222012011', 4: '103211021233232022', 8: '103611061273636422' }],
  ['double', [num('double', doubles)], { 2: '1100101010', 3: '1120122001', 4: '1120101012', 8: '1120545416' }],
  ['string', [strVec(strs)], { 2: '110010', 3: '211010', 4: '132010', 8: '572050' }],
  ['long (one null) + string', [num('long', longs.slice(0, 6), Uint8Array.of(1, 1, 0, 1, 1, 1)), strVec(strs)], { 2: '010110', 3: '002212', 4: '030332', 8: '470376' }],
];

describe('partitionIds', () => {
  for (const [name, cols, want] of cases) {
    it(`gives the released ids for ${name} keys`, () => {
      for (const [p, ids] of Object.entries(want)) expect(Array.from(partitionIds(cols, null, cols[0]!.length, Number(p))).join(''), `${p} partitions`).toBe(ids);
    });
  }

  it('hashes the selected rows when given a selection, and sends every row to partition 0 without keys', () => {
    const col = num('long', longs);
    const sel = Int32Array.of(17, 3, 9, 0);
    const all = partitionIds([col], null, longs.length, 3);
    expect(Array.from(partitionIds([col], sel, 4, 3))).toEqual(Array.from(sel, (r) => all[r]));
    expect(Array.from(partitionIds([], null, 3, 4))).toEqual([0, 0, 0]);
  });

  it('splits rows by partition in row order', () => {
    expect(rowsByPartition(Int32Array.of(1, 0, 1, 2, 1), 3).map((s) => Array.from(s))).toEqual([[1], [0, 2, 4], [3]]);
  });
});
