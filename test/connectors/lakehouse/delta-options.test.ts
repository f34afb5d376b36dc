import { describe, expect, it } from 'vitest';
import { schemaOf } from '../../../engine/types/data-type.js';
import { DeltaOptionsError, describePredicate, parseDeltaOptions, resolvePredicate } from '../../../connectors/lakehouse/index.js';
import { deltaWriteFromOptions } from '../../../connectors/lakehouse/delta-sink.js';

describe('parseDeltaOptions', () => {
  it('parses sink options from strings, keys case-insensitive', () => {
    expect(
      parseDeltaOptions(
        { PATH: '/lake/t', partitionby: '["date","country"]', maxRecordsPerFile: '100_000', targetFileSize: '128MB', compression: 'UNCOMPRESSED', mode: 'Overwrite', replaceWhere: '{"date":{"eq":"2026-05-30"}}', overwriteSchema: 'true' },
        'sink',
      ),
    ).toEqual({
      path: '/lake/t',
      partitionBy: ['date', 'country'],
      maxRecordsPerFile: 100000,
      targetFileSize: 128 * 1024 * 1024,
      compression: 'none',
      mode: 'overwrite',
      replaceWhere: { date: { eq: '2026-05-30' } },
      overwriteSchema: true,
    });
    expect(parseDeltaOptions({ path: '/t', partitionBy: 'date, country' }, 'sink').partitionBy).toEqual(['date', 'country']);
  });

  it('parses scan and source options', () => {
    expect(parseDeltaOptions({ path: '/t', versionAsOf: '3', columns: 'a,b' }, 'scan')).toEqual({ path: '/t', versionAsOf: 3, columns: ['a', 'b'] });
    expect(parseDeltaOptions({ path: '/t', maxFilesPerTrigger: '10', startingVersion: 'latest', ignoreDeletes: 'false' }, 'source')).toEqual({
      path: '/t',
      maxFilesPerTrigger: 10,
      startingVersion: 'latest',
      ignoreDeletes: false,
    });
  });

  it('refuses bad values with the accepted ones', () => {
    expect(() => parseDeltaOptions({}, 'sink')).toThrow(/needs option 'path'/);
    expect(() => parseDeltaOptions({ path: '/t', compression: 'gzip' }, 'sink')).toThrow(/snappy, zstd or none/);
    expect(() => parseDeltaOptions({ path: '/t', maxRecordsPerFile: '0' }, 'sink')).toThrow(/whole number ≥ 1, got '0'/);
    expect(() => parseDeltaOptions({ path: '/t', versionAsOf: '-1' }, 'scan')).toThrow(DeltaOptionsError);
    expect(() => parseDeltaOptions({ path: '/t', targetFileSize: 'big' }, 'sink')).toThrow(/128MB/);
    expect(() => parseDeltaOptions({ path: '/t', replaceWhere: "date = '2026-05-30'" }, 'sink')).toThrow(/SQL text is not accepted/);
    expect(() => parseDeltaOptions({ path: '/t', partitionBy: 'a,,b' }, 'sink')).toThrow(/empty column name/);
    expect(() => parseDeltaOptions({ path: '/t', partitonBy: 'a' }, 'sink')).toThrow(/Unknown Delta sink option 'partitonBy'. Known options: path, partitionBy/);
    expect(() => parseDeltaOptions({ path: '/t', maxFilesPerTrigger: '1' }, 'sink')).toThrow(/applies to the Delta source, not the sink/);
  });

  it('builds batch write options with Spark’s default mode', () => {
    const { table, write } = deltaWriteFromOptions({ path: '/lake/t', partitionBy: 'date' });
    expect(table.path).toBe('/lake/t');
    expect(write).toEqual({ mode: 'errorIfExists', partitionBy: ['date'] });
  });
});

describe('partition predicates', () => {
  const schema = schemaOf({ id: 'long', date: 'date', ts: 'timestamp', n: 'long', s: 'string', b: 'boolean' });
  const parts = ['date', 'ts', 'n', 's', 'b'];

  it('match logged partition values by type', () => {
    const p = resolvePredicate({ date: { gte: '2026-05-01', lt: '2026-06-01' }, s: { in: ['a', 'é'] } }, schema, parts, 'where');
    expect(p.matchesPartition({ date: '2026-05-30', s: 'é' })).toBe(true);
    expect(p.matchesPartition({ date: '2026-06-01', s: 'a' })).toBe(false);
    expect(p.matchesPartition({ date: null, s: 'a' })).toBe(false);
    const ts = resolvePredicate({ ts: { gt: new Date(0) } }, schema, parts, 'where');
    expect(ts.matchesPartition({ ts: '1970-01-01 00:00:00.001' })).toBe(true);
    expect(ts.matchesPartition({ ts: '1970-01-01T00:00:00.000000Z' })).toBe(false);
    const big = resolvePredicate({ n: { eq: '9007199254740993' } }, schema, parts, 'where');
    expect(big.matchesPartition({ n: '9007199254740993' })).toBe(true);
    expect(big.matchesPartition({ n: '9007199254740992' })).toBe(false);
    // A logged value beyond int64 is refused, not wrapped into a long.
    expect(() => big.matchesPartition({ n: '9223372036854775808' })).toThrow("Partition value '9223372036854775808' of column 'n' is not a valid long");
    expect(() => big.matchesPartition({ n: '1e3' })).toThrow("Partition value '1e3' of column 'n' is not a valid long");
    expect(resolvePredicate({ b: { eq: false } }, schema, parts, 'where').matchesPartition({ b: 'false' })).toBe(true);
    expect(resolvePredicate({ s: { isNull: true } }, schema, parts, 'where').matchesPartition({ s: null })).toBe(true);
  });

  it('print as SQL-like text', () => {
    expect(describePredicate({ date: { gte: '2026-05-01', lt: '2026-06-01' }, s: { in: ["it's", 'b'] }, b: { isNull: true } })).toBe(
      "date >= '2026-05-01' AND date < '2026-06-01' AND s IN ('it''s', 'b') AND b IS NULL",
    );
  });

  it('refuse null literals and non-partition columns', () => {
    expect(() => resolvePredicate({ s: { eq: null } }, schema, parts, 'where')).toThrow(/use \{"isNull": true\}/);
    expect(() => resolvePredicate({ id: { eq: 1 } }, schema, parts, 'where')).toThrow(/which is a data column/);
    expect(() => resolvePredicate({ zz: { eq: 1 } }, schema, parts, 'where')).toThrow(/not a column of the table/);
  });
});
