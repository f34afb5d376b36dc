import { describe, expect, it } from 'vitest';
import { schemaOf } from '../../../engine/types/data-type.js';
import { numVec } from '../../../engine/kernels/vec.js';
import {
  ColumnBuilder,
  RowConversionError,
  TimestampRangeError,
  batchFromRows,
  batchFromVecs,
  castWholeNumber,
  formatDate,
  formatTimestamp,
  parseTimestamp,
  parseWholeNumber,
  rowsFromBatch,
} from '../../../engine/types/values.js';

describe('parseWholeNumber', () => {
  it('parses digits exactly, beyond 2^53 as bigint, and refuses everything that is not a whole number in range', () => {
    expect(parseWholeNumber(' 42 ', 64)).toBe(42);
    expect(parseWholeNumber('+7', 64)).toBe(7);
    expect(parseWholeNumber('-0', 64)).toBe(-0);
    expect(parseWholeNumber('9007199254740993', 64)).toBe(9007199254740993n);
    expect(parseWholeNumber('0000000000000000000042', 64)).toBe(42);
    expect(parseWholeNumber('9223372036854775807', 64)).toBe(9223372036854775807n);
    expect(parseWholeNumber('-9223372036854775808', 64)).toBe(-9223372036854775808n);
    for (const bad of ['9223372036854775808', '-9223372036854775809', '1e20', '1e3', '1.0', '1.5', '0x10', '', '-', '1 2', 'NaN']) {
      expect(parseWholeNumber(bad, 64)).toBeNull();
    }
    expect(parseWholeNumber('2147483647', 32)).toBe(2147483647);
    expect(parseWholeNumber('2147483648', 32)).toBeNull();
    expect(parseWholeNumber('00000000000000002147483647', 32)).toBe(2147483647);
  });

  it('castWholeNumber follows Spark\'s string casts: a fraction is dropped, exponents and overflow are null', () => {
    expect(castWholeNumber(' 4.7 ', 32)).toBe(4);
    expect(castWholeNumber('-4.7', 64)).toBe(-4);
    expect(castWholeNumber('1.', 64)).toBe(1);
    expect(castWholeNumber('.5', 64)).toBe(0);
    expect(castWholeNumber('1e3', 64)).toBeNull();
    expect(castWholeNumber('.', 64)).toBeNull();
    expect(castWholeNumber('9223372036854775808', 64)).toBeNull();
    expect(castWholeNumber('9223372036854775807.9', 64)).toBe(9223372036854775807n);
  });
});

describe('ColumnBuilder', () => {
  const accepts = (type: 'int' | 'long' | 'timestamp' | 'date', v: unknown) => new ColumnBuilder(type).append(v);

  it('a long takes safe integers, exact digit strings and bigints in int64; never wraps (1e20) or takes fractions', () => {
    for (const ok of [0, -5, 2 ** 53 - 1, 1e18, '42', '9223372036854775807', -9223372036854775808n]) expect(accepts('long', ok)).toBe(true);
    for (const bad of [1e20, 2 ** 63, 1.5, NaN, Infinity, '1e20', '1.0', '1e3', '9223372036854775808', 9223372036854775808n, true]) {
      expect(accepts('long', bad)).toBe(false);
    }
    const schema = schemaOf({ id: 'long' });
    expect(() => batchFromRows([{ id: 1 }, { id: 1e20 }], schema)).toThrow(RowConversionError);
    expect(() => batchFromRows([{ id: 1 }, { id: 1e20 }], schema)).toThrow("Row 1, column 'id': 100000000000000000000 is not a valid long");
    expect(rowsFromBatch(batchFromRows([{ id: 1e18 }, { id: '-9223372036854775808' }, { id: 3 }], schema), schema)).toEqual([
      { id: 1000000000000000000n },
      { id: -9223372036854775808n },
      { id: 3 },
    ]);
  });

  it('an int refuses values beyond int32, exponents and fractions in text', () => {
    for (const ok of [2147483647, -2147483648, '12', ' -3 ']) expect(accepts('int', ok)).toBe(true);
    for (const bad of [2147483648, 1.5, '2147483648', '1e3', '1.0']) expect(accepts('int', bad)).toBe(false);
  });

  it('a timestamp outside a Date\'s range is refused, as epoch ms, bigint, text or Date', () => {
    for (const ok of [8.64e15, -8.64e15, '8640000000000000', '+275760-09-13T00:00:00Z']) expect(accepts('timestamp', ok)).toBe(true);
    for (const bad of [8.64e15 + 1, -9e15, 9000000000000000n, '9000000000000000', '+275760-09-13T00:00:00.001Z', new Date(NaN), Infinity]) {
      expect(accepts('timestamp', bad)).toBe(false);
    }
    expect(parseTimestamp('-271821-04-20T00:00:00Z')).toBe(-8.64e15);
    expect(parseTimestamp('-271821-04-19T23:59:59.999Z')).toBeNull();
  });

  it('a date beyond ±1e8 days is refused, as a number of days or as text', () => {
    for (const ok of [1e8, -1e8, 0, '+275760-09-13', '-271821-04-20']) expect(accepts('date', ok)).toBe(true);
    for (const bad of [1e8 + 1, -1e8 - 1, 2147483647, 1.5, '+275760-09-14']) expect(accepts('date', bad)).toBe(false);
  });
});

describe('Timestamps out of range on the way out', () => {
  it('collect names the column and the row instead of returning an Invalid Date', () => {
    const schema = schemaOf({ id: 'long', ts: 'timestamp' });
    const batch = batchFromVecs(schema, [numVec('long', new Float64Array([1, 2])), numVec('timestamp', new Float64Array([0, 9e15]))]);
    expect(() => rowsFromBatch(batch, schema)).toThrow(TimestampRangeError);
    expect(() => rowsFromBatch(batch, schema)).toThrow(/^Column 'ts', row 1: the timestamp 9000000000000000 ms is outside the range/);
    expect(() => formatTimestamp(-9e15)).toThrow(TimestampRangeError);
  });

  it('a date beyond ±1e8 days names the column and the row instead of a bare RangeError', () => {
    const schema = schemaOf({ id: 'long', d: 'date' });
    const batch = batchFromVecs(schema, [numVec('long', new Float64Array([1, 2])), numVec('date', new Float64Array([0, 2e8]))]);
    expect(() => rowsFromBatch(batch, schema)).toThrow(TimestampRangeError);
    expect(() => rowsFromBatch(batch, schema)).toThrow(
      "Column 'd', row 1: the date 200000000 days since 1970-01-01 is outside the range of dates (±1e8 days, years −271821 to 275760). Filter such rows, or keep the value as an int (days) instead of a date.",
    );
    expect(formatDate(1e8)).toBe('+275760-09-13');
    expect(() => formatDate(-1e8 - 1)).toThrow(TimestampRangeError);
  });
});
