import { describe, expect, it } from 'vitest';
import { Accumulators, aggOutputType, type AggSpec } from '../../../engine/kernels/agg-kernel.js';
import type { AggFn } from '../../../engine/logical/expr.js';
import { vecFromData, type Vec } from '../../../engine/kernels/vec.js';
import { ColumnBuilder, valueAt } from '../../../engine/types/values.js';
import type { DataType } from '../../../engine/types/data-type.js';

function column(type: DataType, values: unknown[]): Vec {
  const b = new ColumnBuilder(type, values.length);
  for (const v of values) expect(b.append(v)).toBe(true);
  return vecFromData(b.finish(), type);
}

const FNS: AggFn[] = ['count', 'countDistinct', 'sum', 'avg', 'min', 'max', 'first', 'last'];

function specsFor(type: DataType): AggSpec[] {
  const fns = FNS.filter((f) => (f !== 'sum' && f !== 'avg') || type === 'int' || type === 'long' || type === 'double');
  return [{ fn: 'count', input: null, output: 'long' }, ...fns.map((fn) => ({ fn, input: type, output: aggOutputType(fn, type) }))];
}

/** Output rows (one object per group) of accumulators. */
function out(acc: Accumulators, groups: number): Record<string, unknown>[] {
  const gids = Int32Array.from({ length: groups }, (_, i) => i);
  const cols = acc.output(gids);
  return [...gids].map((g) => Object.fromEntries(acc.specs.map((s, k) => [`${s.fn}${s.input === null ? '*' : ''}`, valueAt(cols[k]!, g)])));
}

/** Aggregates `values` (arrival order = index) into the groups `gids`, feeding rows in the order `order`. */
function run(type: DataType, values: unknown[], gids: number[], groups: number, order?: number[]): Accumulators {
  const acc = new Accumulators(specsFor(type));
  acc.ensure(groups);
  const v = column(type, values);
  const rows = Int32Array.from(order ?? values.map((_, i) => i));
  acc.update(Int32Array.from(rows, (r) => gids[r]!), rows, rows.length, acc.specs.map((s) => (s.input === null ? null : v)), 1000);
  return acc;
}

describe('Accumulators', () => {
  it('every aggregate over numbers with nulls and NaN', () => {
    const acc = run('double', [3, null, NaN, -1, 2, null], [0, 0, 0, 1, 1, 2], 3);
    expect(out(acc, 3)).toEqual([
      { 'count*': 3, count: 2, countDistinct: 2, sum: NaN, avg: NaN, min: 3, max: NaN, first: 3, last: NaN },
      { 'count*': 2, count: 2, countDistinct: 2, sum: 1, avg: 0.5, min: -1, max: 2, first: -1, last: 2 },
      { 'count*': 1, count: 0, countDistinct: 0, sum: null, avg: null, min: null, max: null, first: null, last: null },
    ]);
  });

  it('strings: min/max by code point (UTF-8 bytes), first/last keep nulls', () => {
    const acc = run('string', ['b', 'ü', null, 'z', '', 'b'], [0, 0, 0, 1, 1, 1], 2);
    expect(out(acc, 2)).toEqual([
      { 'count*': 3, count: 2, countDistinct: 2, min: 'b', max: 'ü', first: 'b', last: null },
      { 'count*': 3, count: 3, countDistinct: 3, min: '', max: 'z', first: 'z', last: 'b' },
    ]);
  });

  it('first/last follow arrival order even when rows come sorted otherwise (session merges sort by time)', () => {
    for (const type of ['string', 'double'] as const) {
      const values = type === 'string' ? ['x0', 'x1', 'x2', 'x3'] : [0, 1, 2, 3];
      const acc = run(type, values, [0, 0, 0, 0], 1, [2, 3, 0, 1]);
      const o = out(acc, 1)[0]!;
      expect([o['first'], o['last']]).toEqual([values[0], values[3]]);
    }
  });

  it('countDistinct counts a value repeated within one batch once', () => {
    const acc = run('long', [5, 7, 5, 5, null, 7], [0, 0, 0, 0, 0, 1], 2);
    expect(out(acc, 2).map((o) => o['countDistinct'])).toEqual([2, 1]);
  });

  it('countDistinct of longs: a value counts once whether or not its batch carries exact values', () => {
    const acc = new Accumulators([{ fn: 'countDistinct', input: 'long', output: 'long' }]);
    acc.ensure(1);
    const withBig = column('long', [5, 2n ** 60n]);
    const plain = column('long', [5, 6]);
    acc.update(Int32Array.of(0, 0), null, 2, [withBig], 0);
    acc.update(Int32Array.of(0, 0), null, 2, [plain], 2);
    expect(valueAt(acc.output(Int32Array.of(0))[0]!, 0)).toBe(3);
  });

  it('countDistinct forgets its pairs when every group is freed (truncate(0)): a reused set stays its size', () => {
    const acc = new Accumulators([{ fn: 'countDistinct', input: 'long', output: 'long' }]);
    const sizes: number[] = [];
    for (let round = 0; round < 12; round++) {
      acc.truncate(0);
      acc.ensure(4);
      // 4000 new distinct values per round over 4 groups.
      const v = column('long', Array.from({ length: 4000 }, (_, i) => round * 4000 + i));
      acc.update(Int32Array.from({ length: 4000 }, (_, i) => i % 4), null, 4000, [v], 0);
      expect([0, 1, 2, 3].map((g) => valueAt(acc.output(Int32Array.of(g))[0]!, 0))).toEqual([1000, 1000, 1000, 1000]);
      sizes.push(acc.memoryBytes());
    }
    expect(sizes[11]).toBe(sizes[1]);
  });

  it('min/max/first/last of booleans', () => {
    const acc = run('boolean', [true, false, null], [0, 0, 0], 1);
    expect(out(acc, 1)[0]).toEqual({ 'count*': 3, count: 2, countDistinct: 2, min: false, max: true, first: true, last: null });
  });

  it('sum of longs is exact beyond 2^53 and wraps at 64 bits (Spark non-ANSI)', () => {
    const acc = run('long', [2 ** 53, 1, 1, 2n ** 62n, 2n ** 62n], [0, 0, 0, 1, 1], 2);
    const o = out(acc, 2);
    expect(o[0]!['sum']).toBe(2n ** 53n + 2n);
    expect(o[1]!['sum']).toBe(-(2n ** 63n));
    expect(o[1]!['max']).toBe(2n ** 62n);
  });

  it('sum of ints is a long', () => {
    const acc = run('int', [2147483647, 2147483647], [0, 0], 1);
    expect(out(acc, 1)[0]!['sum']).toBe(4294967294);
    expect(acc.output(Int32Array.of(0))[2]!.type).toBe('long');
  });

  describe('merging groups (session windows)', () => {
    for (const type of ['double', 'long', 'string'] as const) {
      it(`merging two groups equals aggregating their rows together (${type})`, () => {
        const values =
          type === 'string' ? ['c', null, 'a', 'c', 'b', 'a'] : type === 'long' ? [3, null, 2n ** 60n, 3, -4, 2n ** 60n] : [3, null, -1.5, 3, NaN, -1.5];
        // Rows 0–2 in group 1, rows 3–5 in group 0; then group 1 folds into group 0.
        const split = run(type, values, [1, 1, 1, 0, 0, 0], 2);
        split.mergeFrom(split, Int32Array.of(1), Int32Array.of(0), 1);
        const whole = run(type, values, [0, 0, 0, 0, 0, 0], 1);
        expect(out(split, 1)).toEqual(out(whole, 1));
      });

      it(`partial aggregates cross threads as state columns and merge to the same answer (${type})`, () => {
        const values = type === 'string' ? ['c', null, 'a', 'c', 'b', 'a'] : type === 'long' ? [3, null, 2n ** 60n, 3, -4, 5] : [3, null, -1.5, 3, NaN, 2];
        const a = new Accumulators(specsFor(type));
        const b = new Accumulators(specsFor(type));
        a.ensure(1);
        b.ensure(1);
        const v = column(type, values);
        const inputs = (acc: Accumulators) => acc.specs.map((s) => (s.input === null ? null : v));
        a.update(Int32Array.of(0, 0, 0), Int32Array.of(0, 1, 2), 3, inputs(a), 0);
        b.update(Int32Array.of(0, 0, 0), Int32Array.of(3, 4, 5), 3, inputs(b), 0);
        // b's state goes through columns (as between worker threads) into a scratch set, then merges into a.
        const state = b.toState(Int32Array.of(0));
        expect(state.length).toBe(b.stateFields().length);
        const scratch = new Accumulators(specsFor(type));
        scratch.ensure(1);
        scratch.fromState(state, Int32Array.of(0));
        a.mergeFrom(scratch, Int32Array.of(0), Int32Array.of(0), 1);
        const whole = run(type, values, [0, 0, 0, 0, 0, 0], 1);
        const got = out(a, 1)[0]!;
        const want = out(whole, 1)[0]!;
        expect(got).toEqual({ ...want, 'count*': want['count*'] });
      });
    }

    it('a group id reused after a reset starts empty (countDistinct forgets its old values)', () => {
      const acc = run('string', ['a', 'b'], [0, 0], 1);
      acc.resetGroup(0);
      const v = column('string', ['a']);
      acc.update(Int32Array.of(0), null, 1, acc.specs.map((s) => (s.input === null ? null : v)), 5000);
      expect(out(acc, 1)[0]).toEqual({ 'count*': 1, count: 1, countDistinct: 1, min: 'a', max: 'a', first: 'a', last: 'a' });
    });
  });

  it('compaction keeps the surviving groups and their values', () => {
    const values = Array.from({ length: 30 }, (_, i) => `v${i % 7}`);
    const gids = values.map((_, i) => i % 10);
    const acc = run('string', values, gids, 10);
    const before = out(acc, 10);
    const remap = Int32Array.from({ length: 10 }, (_, g) => (g % 2 === 0 ? g / 2 : -1));
    acc.compact(remap, 5);
    expect(out(acc, 5)).toEqual(before.filter((_, g) => g % 2 === 0));
    // New rows for a surviving group still see its old distinct values.
    const v = column('string', ['v0', 'v6']);
    acc.update(Int32Array.of(0, 0), null, 2, acc.specs.map((s) => (s.input === null ? null : v)), 9000);
    expect(out(acc, 1)[0]!['countDistinct']).toBe(new Set([...values.filter((_, i) => i % 10 === 0), 'v0', 'v6']).size);
  });
});
