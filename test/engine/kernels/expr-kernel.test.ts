import { describe, expect, it } from 'vitest';
import { col, fromJson, lit, struct, timestampMillis, toJson, type Column } from '../../../engine/index.js';
import { evaluate } from '../../../engine/kernels/expr-kernel.js';
import { bindExpr } from '../../../engine/logical/resolve-expr.js';
import { exprName, exprToString } from '../../../engine/logical/expr.js';
import { exprFromSpec, exprToSpec, IssueSink } from '../../../engine/spec/expr-spec.js';
import { schemaOf, type SchemaSpec } from '../../../engine/types/data-type.js';
import { batchFromRows, batchFromVecs, parseTimestamp, TimestampRangeError, valueAt } from '../../../engine/types/values.js';
import { numVec } from '../../../engine/kernels/vec.js';

/** Evaluates a column over rows with the vectorized evaluator; returns one JS value per row. */
function evalRows(c: Column, rows: Record<string, unknown>[], spec: SchemaSpec): unknown[] {
  const schema = schemaOf(spec);
  const batch = batchFromRows(rows, schema);
  const { bound } = bindExpr(c.expr, schema);
  const v = evaluate(bound, batch, schema, { batchTimestampMs: 0 });
  return rows.map((_, i) => valueAt(v, i));
}

describe('three-valued logic', () => {
  const T = true;
  const F = false;
  const N = null;
  const rows = [
    [T, T],
    [T, F],
    [T, N],
    [F, T],
    [F, F],
    [F, N],
    [N, T],
    [N, F],
    [N, N],
  ].map(([a, b]) => ({ a, b }));
  const spec = { a: 'boolean', b: 'boolean' } as const;

  it('and: false wins over null', () => {
    expect(evalRows(col('a').and(col('b')), rows, spec)).toEqual([T, F, N, F, F, F, N, F, N]);
  });
  it('or: true wins over null', () => {
    expect(evalRows(col('a').or(col('b')), rows, spec)).toEqual([T, T, T, T, F, N, T, N, N]);
  });
  it('not, isNull, and comparisons with null', () => {
    expect(evalRows(col('a').not(), rows.slice(0, 9), spec)).toEqual([F, F, F, T, T, T, N, N, N]);
    expect(evalRows(col('a').isNull(), rows, spec)).toEqual([F, F, F, F, F, F, T, T, T]);
    expect(evalRows(col('a').eq(col('b')), rows, spec)).toEqual([T, F, N, F, T, N, N, N, N]);
    expect(evalRows(col('a').eqNullSafe(col('b')), rows, spec)).toEqual([T, F, F, F, T, F, F, F, T]);
    expect(evalRows(col('a').and(lit(null)), rows.slice(3, 4), spec)).toEqual([F]);
  });
});

describe('arithmetic', () => {
  const rows = [
    { i: 7, j: 0, d: 1.5, z: 0 },
    { i: -7, j: 2, d: -0.5, z: 0 },
    { i: null, j: 3, d: 2, z: 1 },
  ];
  const spec = { i: 'int', j: 'int', d: 'double', z: 'double' } as const;

  it('division and remainder by zero give null (column or literal divisor, ints and doubles)', () => {
    expect(evalRows(col('i').div(col('j')), rows, spec)).toEqual([null, -3.5, null]);
    expect(evalRows(col('i').mod(col('j')), rows, spec)).toEqual([null, -1, null]);
    expect(evalRows(col('d').div(col('z')), rows, spec)).toEqual([null, null, 2]);
    expect(evalRows(col('d').div(0), rows, spec)).toEqual([null, null, null]);
    expect(evalRows(col('i').mod(0), rows, spec)).toEqual([null, null, null]);
  });

  it('int overflow wraps at 32 bits (Spark non-ANSI)', () => {
    const r = [{ a: 2147483647, b: 1 }, { a: -2147483648, b: -1 }, { a: 65536, b: 65536 }];
    const s = { a: 'int', b: 'int' } as const;
    expect(evalRows(col('a').plus(col('b')), r, s)).toEqual([-2147483648, 2147483647, 131072]);
    expect(evalRows(col('a').mul(col('b')), r, s)).toEqual([2147483647, -2147483648, 0]);
    expect(evalRows(col('a').mul(2147483647), r, s)).toEqual([1, -2147483648, -65536]);
    expect(evalRows(col('a').negate(), r.slice(1, 2), s)).toEqual([-2147483648]);
    expect(evalRows(col('a').plus(1), r.slice(0, 1), s)).toEqual([-2147483648]);
  });

  it('long overflow wraps at 64 bits and stays exact beyond 2^53', () => {
    const r = [{ a: 2n ** 63n - 1n }, { a: 2n ** 53n }];
    expect(evalRows(col('a').plus(1), r, { a: 'long' })).toEqual([-(2n ** 63n), 2n ** 53n + 1n]);
    expect(evalRows(col('a').mul(2), r.slice(1), { a: 'long' })).toEqual([2n ** 54n]);
  });

  it('int and long widen to the wider type; / is always a double', () => {
    const r = [{ i: 3, l: 2 ** 40 }];
    expect(evalRows(col('i').plus(col('l')), r, { i: 'int', l: 'long' })).toEqual([2 ** 40 + 3]);
    expect(evalRows(col('i').div(2), r, { i: 'int', l: 'long' })).toEqual([1.5]);
  });
});

describe('comparisons with NaN (Spark: NaN = NaN, NaN above every number)', () => {
  const rows = [{ x: NaN, y: NaN }, { x: NaN, y: 1e308 }, { x: 1, y: NaN }, { x: 1, y: 2 }];
  const spec = { x: 'double', y: 'double' } as const;
  it('between columns', () => {
    expect(evalRows(col('x').eq(col('y')), rows, spec)).toEqual([true, false, false, false]);
    expect(evalRows(col('x').gt(col('y')), rows, spec)).toEqual([false, true, false, false]);
    expect(evalRows(col('x').lt(col('y')), rows, spec)).toEqual([false, false, true, true]);
    expect(evalRows(col('x').geq(col('y')), rows, spec)).toEqual([true, true, false, false]);
  });
  it('against a constant', () => {
    expect(evalRows(col('x').eq(NaN), rows, spec)).toEqual([true, true, false, false]);
    expect(evalRows(col('x').gt(1e308), rows, spec)).toEqual([true, true, false, false]);
    expect(evalRows(col('x').ne(NaN), rows, spec)).toEqual([false, false, true, true]);
  });
});

describe('casts', () => {
  it('timestamp → long/int is epoch seconds rounded down (Spark), → double keeps the fraction', () => {
    const rows = [{ t: 1500 }, { t: -1500 }, { t: -1000 }, { t: 999 }, { t: null }];
    const spec = { t: 'timestamp' } as const;
    expect(evalRows(col('t').cast('long'), rows, spec)).toEqual([1, -2, -1, 0, null]);
    expect(evalRows(col('t').cast('int'), rows, spec)).toEqual([1, -2, -1, 0, null]);
    expect(evalRows(col('t').cast('double'), rows, spec)).toEqual([1.5, -1.5, -1, 0.999, null]);
    expect(evalRows(lit(new Date(-1500)).cast('long'), rows.slice(0, 1), spec)).toEqual([-2]);
  });

  it('long/int → timestamp reads seconds', () => {
    expect(evalRows(col('s').cast('timestamp'), [{ s: -2 }, { s: 1 }], { s: 'long' })).toEqual([new Date(-2000), new Date(1000)]);
  });

  it('double → int/long truncates, NaN → 0, and saturates at the bounds (the JVM casts)', () => {
    const rows = [{ d: 3.9 }, { d: -3.9 }, { d: NaN }, { d: 3e9 }, { d: -3e9 }, { d: Infinity }, { d: -Infinity }, { d: 1e19 }];
    const spec = { d: 'double' } as const;
    expect(evalRows(col('d').cast('int'), rows, spec)).toEqual([3, -3, 0, 2147483647, -2147483648, 2147483647, -2147483648, 2147483647]);
    expect(evalRows(col('d').cast('long'), rows, spec)).toEqual([
      3,
      -3,
      0,
      3e9,
      -3e9,
      2n ** 63n - 1n,
      -(2n ** 63n),
      2n ** 63n - 1n,
    ]);
    // A double literal too (an integral JS number is a long literal, which wraps like a long).
    expect(evalRows(lit(3e9 + 0.5).cast('int'), rows.slice(0, 1), spec)).toEqual([2147483647]);
    expect(evalRows(lit(3e9).cast('int'), rows.slice(0, 1), spec)).toEqual([-1294967296]);
  });

  it('long → int keeps the low 32 bits', () => {
    expect(evalRows(col('l').cast('int'), [{ l: 2 ** 32 + 5 }, { l: 2n ** 62n + 7n }, { l: -1 }], { l: 'long' })).toEqual([5, 7, -1]);
  });

  it('string → timestamp parses ISO-8601 with zones; a time without a zone is UTC; bad text is null', () => {
    const texts = [
      '2026-05-30T09:55:00Z',
      '2026-05-30T09:55:00.123+02:00',
      '2026-05-30 09:55:00-0130',
      '2026-05-30T09:55',
      '2026-05-30',
      '1969-12-31T23:59:59.999Z',
      '2026-02-30T00:00:00Z',
      'not a time',
      '',
      null,
    ];
    const got = evalRows(col('s').cast('timestamp'), texts.map((s) => ({ s })), { s: 'string' });
    expect(got).toEqual([
      new Date('2026-05-30T09:55:00Z'),
      new Date('2026-05-30T07:55:00.123Z'),
      new Date('2026-05-30T11:25:00Z'),
      new Date('2026-05-30T09:55:00Z'),
      new Date('2026-05-30T00:00:00Z'),
      new Date(-1),
      null,
      null,
      null,
      null,
    ]);
    // Years below 100 are not mapped to 19xx; a leap day exists only in leap years.
    expect(parseTimestamp('0099-01-01T00:00:00Z')).toBe(new Date('0099-01-01T00:00:00Z').getTime());
    expect(parseTimestamp('2024-02-29')).toBe(Date.UTC(2024, 1, 29));
    expect(parseTimestamp('2023-02-29')).toBeNull();
  });

  it('string → numbers and booleans: trimmed; bad or out-of-range text is null; longs beyond 2^53 exact', () => {
    const rows = [{ s: ' 42 ' }, { s: '4.7' }, { s: 'x' }, { s: '9007199254740993' }, { s: 'NaN' }, { s: '-2147483648' }, { s: '99999999999999999999' }];
    const spec = { s: 'string' } as const;
    expect(evalRows(col('s').cast('int'), rows, spec)).toEqual([42, 4, null, null, null, -2147483648, null]);
    expect(evalRows(col('s').cast('long'), rows, spec)).toEqual([42, 4, null, 9007199254740993n, null, -2147483648, null]);
    expect(evalRows(col('s').cast('double'), rows, spec)).toEqual([42, 4.7, null, 9007199254740992, NaN, -2147483648, 1e20]);
    expect(evalRows(col('b').cast('boolean'), [{ b: 'true' }, { b: ' F ' }, { b: 'yes' }, { b: 'maybe' }], { b: 'string' })).toEqual([true, false, true, null]);
    // Literals are cast at analysis time, with the same rules.
    const one = rows.slice(0, 1);
    expect(evalRows(lit('99999999999').cast('int'), one, spec)).toEqual([null]);
    expect(evalRows(lit(' 4.7 ').cast('int'), one, spec)).toEqual([4]);
    expect(evalRows(lit('9007199254740993').cast('long'), one, spec)).toEqual([9007199254740993n]);
  });
});

describe('exact whole numbers and timestamps in range', () => {
  it('string → int/long as Spark: a fraction is dropped; exponents, hex and overflow are null (column and literal alike)', () => {
    const texts = ['1e3', '0x10', '1.', '-9223372036854775808', '9223372036854775808', '2147483648', ' +12 ', 'Infinity'];
    const rows = texts.map((s) => ({ s }));
    const spec = { s: 'string' } as const;
    expect(evalRows(col('s').cast('long'), rows, spec)).toEqual([null, null, 1, -9223372036854775808n, null, 2147483648, 12, null]);
    expect(evalRows(col('s').cast('int'), rows, spec)).toEqual([null, null, 1, null, null, null, 12, null]);
    for (const t of texts) {
      expect(evalRows(lit(t).cast('long'), rows.slice(0, 1), spec)).toEqual(evalRows(col('s').cast('long'), [{ s: t }], spec));
    }
  });

  it('a whole-number literal beyond int64 is a double, not a long that wraps', () => {
    const one = [{ l: 1 }];
    expect(evalRows(lit(1e20), one, { l: 'long' })).toEqual([1e20]);
    expect(evalRows(col('l').plus(lit(1e20)), one, { l: 'long' })).toEqual([1e20 + 1]);
    const schema = schemaOf({ l: 'long' });
    expect(bindExpr(lit(2 ** 62).expr, schema).type).toBe('long');
    expect(bindExpr(lit(1e20).expr, schema).type).toBe('double');
  });

  it('numbers → timestamp outside a Date\'s range are null, as cast and as timestampMillis', () => {
    const rows = [{ l: 1 }, { l: 8_640_000_000_000n }, { l: 8_640_000_000_001n }, { l: 2n ** 62n }];
    const spec = { l: 'long' } as const;
    expect(evalRows(col('l').cast('timestamp'), rows, spec)).toEqual([new Date(1000), new Date(8.64e15), null, null]);
    expect(evalRows(timestampMillis(col('l')), [{ l: 5 }, { l: 8.64e15 + 1 }], spec)).toEqual([new Date(5), null]);
    expect(evalRows(lit(9e12).cast('timestamp'), rows.slice(0, 1), spec)).toEqual([null]);
  });

  it('fromJson keeps longs exact and refuses 1e20, fractions and values beyond int64', () => {
    const rows = ['{"id":9223372036854775807}', '{"id":1e20}', '{"id":1.5}', '{"id":9223372036854775808}', '{"id":42}'].map((s) => ({ s }));
    const got = evalRows(fromJson(col('s'), { id: 'long' }), rows, { s: 'string' });
    expect(got).toEqual([{ id: 9223372036854775807n }, null, null, null, { id: 42 }]);
    expect(() => evalRows(fromJson(col('s'), { id: 'long' }, { mode: 'failFast' }), rows, { s: 'string' })).toThrow(
      'Malformed JSON in row 1: "{\\"id\\":1e20}" does not match id: long',
    );
  });

  it('toJson of a timestamp outside a Date\'s range names the row and field instead of throwing a bare RangeError', () => {
    const schema = schemaOf({ ts: 'timestamp' });
    const batch = batchFromVecs(schema, [numVec('timestamp', new Float64Array([0, 9e15]))]);
    const { bound } = bindExpr(toJson(struct(col('ts'))).expr, schema);
    const run = () => evaluate(bound, batch, schema, { batchTimestampMs: 0, rowBase: 10 });
    expect(run).toThrow(TimestampRangeError);
    expect(run).toThrow(/^toJson\(\) in row 11, field 'ts': the timestamp 9000000000000000 ms is outside/);
  });
});

describe('getField on a computed struct', () => {
  it('takes a field of fromJson(…) or struct(…), null where the struct is null, named after the field', () => {
    const rows = [{ s: '{"a":1,"b":"x"}' }, { s: 'bad' }, { s: '{"a":3}' }];
    const parsed = fromJson(col('s'), { a: 'long', b: 'string' });
    expect(evalRows(parsed.getField('b'), rows, { s: 'string' })).toEqual(['x', null, null]);
    expect(evalRows(parsed.getField('a'), rows, { s: 'string' })).toEqual([1, null, 3]);
    expect(evalRows(struct(col('s').as('t')).getField('t'), rows.slice(0, 1), { s: 'string' })).toEqual(['{"a":1,"b":"x"}']);
    expect(exprName(parsed.getField('b').expr)).toBe('b');
    expect(String(parsed.getField('b'))).toBe('fromJson(s).b');
    expect(() => bindExpr(parsed.getField('c').expr, schemaOf({ s: 'string' }))).toThrow("fromJson(s) has no field 'c'; its fields are a, b.");
    expect(() => bindExpr(lit(1).getField('c').expr, schemaOf({ s: 'string' }))).toThrow("getField('c') needs a struct");
  });

  it('survives a pipeline spec round trip', () => {
    const e = fromJson(col('s'), { a: 'long' }).getField('a').expr;
    const issues = new IssueSink();
    const back = exprFromSpec(JSON.parse(JSON.stringify(exprToSpec(e))), [], issues);
    expect(issues.issues).toEqual([]);
    expect(exprToString(back!)).toBe(exprToString(e));
  });
});

