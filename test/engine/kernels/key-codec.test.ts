import { describe, expect, it } from 'vitest';
import { GroupTable } from '../../../engine/kernels/hash-kernel.js';
import { KeyCodec } from '../../../engine/kernels/key-codec.js';
import { numVec, strVecFromStrings, type Vec } from '../../../engine/kernels/vec.js';
import { structType, field, WINDOW_TYPE, type DataType } from '../../../engine/types/data-type.js';
import { ColumnBuilder, valueAt } from '../../../engine/types/values.js';
import { vecFromData } from '../../../engine/kernels/vec.js';

/** Groups the rows of the key columns; returns each row's group id and the decoded key values of every group. */
function group(types: DataType[], cols: Vec[]): { ids: number[]; keys: unknown[][] } {
  const codec = new KeyCodec(types);
  const m = cols[0]!.length;
  const table = new GroupTable(codec.width);
  const ids = new Int32Array(m);
  table.findOrInsert(codec.encode(cols, null, m), m, ids);
  const gids = Int32Array.from({ length: table.size }, (_, i) => i);
  const decoded = types.map((_, c) => codec.decode(table.keys, gids, c));
  return { ids: [...ids], keys: [...gids].map((g) => decoded.map((v) => valueAt(v, g))) };
}

function column(type: DataType, values: unknown[]): Vec {
  const b = new ColumnBuilder(type, values.length);
  for (const v of values) expect(b.append(v)).toBe(true);
  return vecFromData(b.finish(), type);
}

describe('KeyCodec', () => {
  it('groups window keys by (start, end) through a typed pair table, nulls and null fields kept apart', () => {
    const w = (start: number | null, end: number | null) => ({ start: start === null ? null : new Date(start), end: end === null ? null : new Date(end) });
    const v = column(WINDOW_TYPE, [w(0, 10), w(5, 15), w(0, 10), null, w(0, 10), w(null, 10), w(0, null), null, w(-0, 10), w(0, 20)]);
    const { ids, keys } = group([WINDOW_TYPE], [v]);
    expect(ids).toEqual([0, 1, 0, 2, 0, 3, 4, 2, 0, 5]);
    expect(keys.map((k) => k[0])).toEqual([w(0, 10), w(5, 15), null, w(null, 10), w(0, null), w(0, 20)]);
  });

  it('keeps long keys beyond 2^53 exact and apart', () => {
    const big = 2n ** 53n;
    const v = column('long', [big + 1n, big + 2n, big + 1n, -(2n ** 63n), 2n ** 63n - 1n, 5, null]);
    const { ids, keys } = group(['long'], [v]);
    expect(ids).toEqual([0, 1, 0, 2, 3, 4, 5]);
    expect(keys.map((k) => k[0])).toEqual([big + 1n, big + 2n, -(2n ** 63n), 2n ** 63n - 1n, 5, null]);
  });

  it('a long key is the same group whether or not its batch carries exact values', () => {
    const codec = new KeyCodec(['long']);
    const table = new GroupTable(codec.width);
    const withBig = column('long', [7, 2n ** 60n]);
    const plain = column('long', [7]);
    expect((withBig as { big: unknown }).big).not.toBeNull();
    const a = new Int32Array(2);
    const b = new Int32Array(1);
    table.findOrInsert(codec.encode([withBig], null, 2), 2, a);
    table.findOrInsert(codec.encode([plain], null, 1), 1, b);
    expect(b[0]).toBe(a[0]);
  });

  it('null is its own group, apart from 0, "" and false, whatever lies under it', () => {
    // Values under the nulls differ (as after arithmetic on garbage or a reused builder): they must not split the group.
    const ints = numVec('int', Float64Array.of(0, 3, 9, 0), Uint8Array.of(1, 0, 0, 1));
    expect(group(['int'], [ints]).ids).toEqual([0, 1, 1, 0]);
    const strs = strVecFromStrings(['', null, 'a', null]);
    expect(group(['string'], [strs])).toEqual({ ids: [0, 1, 2, 1], keys: [[''], [null], ['a']] });
    const bools = { kind: 'bool', type: 'boolean', length: 3, values: Uint8Array.of(0, 1, 0), valid: Uint8Array.of(1, 0, 0) } as const;
    expect(group(['boolean'], [bools]).ids).toEqual([0, 1, 1]);
    const longs = numVec('long', Float64Array.of(1, 2), Uint8Array.of(0, 0), BigInt64Array.of(2n ** 60n, 3n));
    expect(group(['long'], [longs]).ids).toEqual([0, 0]);
  });

  it('nulls in different key columns are different groups', () => {
    const a = strVecFromStrings([null, 'x', null, 'x']);
    const b = numVec('int', Float64Array.of(1, 0, 1, 0), Uint8Array.of(1, 0, 1, 0));
    expect(group(['string', 'int'], [a, b])).toEqual({
      ids: [0, 1, 0, 1],
      keys: [
        [null, 1],
        ['x', null],
      ],
    });
  });

  it('folds −0 into 0 and every NaN into one group', () => {
    const v = numVec('double', Float64Array.of(0, -0, NaN, -NaN, 1.5));
    const { ids, keys } = group(['double'], [v]);
    expect(ids).toEqual([0, 0, 1, 1, 2]);
    expect(Object.is(keys[0]![0], 0)).toBe(true);
    expect(keys[1]![0]).toBeNaN();
  });

  it('strings round-trip: unicode, empty strings, across batches', () => {
    const codec = new KeyCodec(['string']);
    const table = new GroupTable(codec.width);
    const b1 = strVecFromStrings(['日本', '', 'emoji😀']);
    const b2 = strVecFromStrings(['', 'new', '日本']);
    const i1 = new Int32Array(3);
    const i2 = new Int32Array(3);
    table.findOrInsert(codec.encode([b1], null, 3), 3, i1);
    table.findOrInsert(codec.encode([b2], null, 3), 3, i2);
    expect([...i2]).toEqual([1, 3, 0]);
    const dec = codec.decode(table.keys, Int32Array.of(0, 1, 2, 3), 0);
    expect([0, 1, 2, 3].map((i) => valueAt(dec, i))).toEqual(['日本', '', 'emoji😀', 'new']);
  });

  it('reads expanded key columns and selected rows (window starts per pair)', () => {
    const codec = new KeyCodec(['timestamp', 'string']);
    const users = strVecFromStrings(['a', 'b']);
    const starts = Float64Array.of(-60_000, 0, -60_000);
    const keys = codec.encode([starts, users], Int32Array.of(0, 0, 1), 3);
    const table = new GroupTable(codec.width);
    const ids = new Int32Array(3);
    table.findOrInsert(keys, 3, ids);
    expect([...ids]).toEqual([0, 1, 2]);
    expect(valueAt(codec.decode(table.keys, Int32Array.of(2), 0), 0)).toEqual(new Date(-60_000));
  });

  it('struct keys group by value', () => {
    const t = structType([field('a', 'int'), field('b', 'string')]);
    const v = column(t, [{ a: 1, b: 'x' }, { a: 1, b: 'y' }, { a: 1, b: 'x' }, null]);
    const { ids, keys } = group([t], [v]);
    expect(ids).toEqual([0, 1, 0, 2]);
    expect(keys).toEqual([[{ a: 1, b: 'x' }], [{ a: 1, b: 'y' }], [null]]);
  });
});
