import { appendFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WINDOW_TYPE, field, schemaOf, structType } from '../../../engine/types/data-type.js';
import { batchFromRows } from '../../../engine/types/values.js';
import {
  DeltaLogCorruptError,
  DeltaProtocolError,
  DeltaSchemaMismatchError,
  DeltaTable,
  DeltaTableNotFoundError,
  deltaSchemaString,
  schemaFromDeltaString,
} from '../../../connectors/lakehouse/index.js';
import { encodeLogPath, partitionDir, percentEncode, resolveLogPath } from '../../../connectors/lakehouse/delta-partition.js';
import { ALL_TYPES, allTypeBatch, commitActions, dataFilesOnDisk, eventBatch, readRows, tempDir } from './helpers.js';

let root: string;
let cleanup: () => Promise<void>;
let n = 0;
const fresh = (): string => join(root, `t${n++}`);

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir());
});
afterAll(async () => cleanup());

describe('Delta log format', () => {
  it('writes protocol and metaData with the exact Spark StructType JSON in version 0', async () => {
    const path = fresh();
    await DeltaTable.forPath(path).write([allTypeBatch()], { partitionBy: ['p'] });
    const actions = await commitActions(path, 0);
    expect(Object.keys(actions[0]!)).toEqual(['commitInfo']);
    const protocol = actions.find((a) => a.protocol)!.protocol;
    expect(protocol).toEqual({ minReaderVersion: 1, minWriterVersion: 2 });
    const meta = actions.find((a) => a.metaData)!.metaData;
    expect(meta.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(meta.format).toEqual({ provider: 'parquet', options: {} });
    expect(meta.partitionColumns).toEqual(['p']);
    expect(meta.configuration).toEqual({});
    expect(typeof meta.createdTime).toBe('number');
    const f = (name: string, type: string | object) => ({ name, type, nullable: true, metadata: {} });
    expect(meta.schemaString).toBe(
      JSON.stringify({
        type: 'struct',
        fields: [
          f('id', 'integer'),
          f('s', 'string'),
          f('l', 'long'),
          f('d', 'double'),
          f('b', 'boolean'),
          f('ts', 'timestamp'),
          f('dt', 'date'),
          f('w', { type: 'struct', fields: [f('start', 'timestamp'), f('end', 'timestamp')] }),
          f('bin', 'binary'),
          f('arr', { type: 'array', elementType: 'string', containsNull: true }),
          f('p', 'string'),
        ],
      }),
    );
    const info = actions[0]!.commitInfo;
    expect(info).toMatchObject({ operation: 'WRITE', operationParameters: { mode: 'Append', partitionBy: '["p"]' }, engineInfo: 'sluice/0.1.0' });
    expect(typeof info.timestamp).toBe('number');
  });

  it('maps sluice types to Spark types and back, keeping nullability', () => {
    const s = schemaOf([field('id', 'long', false), field('w', WINDOW_TYPE), field('tags', { kind: 'array', element: structType([field('k', 'int')]) })]);
    const json = deltaSchemaString(s);
    expect(JSON.parse(json).fields[0]).toEqual({ name: 'id', type: 'long', nullable: false, metadata: {} });
    expect(JSON.parse(json).fields[1].type.fields[0]).toEqual({ name: 'start', type: 'timestamp', nullable: false, metadata: {} });
    expect(schemaFromDeltaString(json, 't')).toEqual(s);
    expect(schemaFromDeltaString('{"type":"struct","fields":[{"name":"x","type":"short","nullable":true,"metadata":{}},{"name":"y","type":"decimal(10,2)","nullable":true,"metadata":{}}]}', 't').fields.map((x) => x.type)).toEqual(['int', 'double']);
    expect(() => schemaFromDeltaString('{"type":"struct","fields":[{"name":"m","type":{"type":"map","keyType":"string","valueType":"string","valueContainsNull":true},"nullable":true,"metadata":{}}]}', 't')).toThrow(/Column 'm'.*map/);
  });

  it('writes add actions with partition values, size, dataChange and per-column stats', async () => {
    const path = fresh();
    await DeltaTable.forPath(path).write([allTypeBatch()], { partitionBy: ['p'] });
    const adds = (await commitActions(path, 0)).filter((a) => a.add).map((a) => a.add);
    expect(adds).toHaveLength(3);
    const x = adds.find((a) => a.partitionValues.p === 'x')!;
    expect(x.path).toMatch(/^p=x\/part-\d{5}-[0-9a-f-]{36}\.snappy\.parquet$/);
    expect(x.dataChange).toBe(true);
    expect(x.size).toBeGreaterThan(100);
    expect(typeof x.modificationTime).toBe('number');
    const stats = JSON.parse(x.stats);
    expect(stats.numRecords).toBe(2);
    expect(stats.minValues).toMatchObject({ id: 0, d: -0.25, ts: '1969-12-31T23:59:59.999Z', dt: '1969-12-31', w: { start: '1969-12-31T23:59:00.000Z' } });
    expect(stats.maxValues).toMatchObject({ id: 1, d: 1.5, ts: '2026-05-30T09:55:00.123Z', dt: '2026-05-30', s: '日本語 🎉' });
    // Longs beyond 2^53 are exact in the stats JSON text.
    expect(x.stats).toContain('"l":-9007199254740995');
    expect(x.stats).toContain('"l":9007199254740993');
    expect(stats.nullCount).toEqual({ id: 0, s: 0, l: 0, d: 0, b: 0, ts: 0, dt: 0, w: { start: 0, end: 0 }, bin: 0, arr: 0 });
    expect('p' in stats.nullCount).toBe(false);
    const y = JSON.parse(adds.find((a) => a.partitionValues.p === 'y')!.stats);
    expect(y.nullCount).toMatchObject({ s: 1, w: { start: 1, end: 1 } });
    // A string longer than 32 characters: min cut to 32, max left out.
    expect(y.minValues.s).toBe('x'.repeat(32));
    expect(y.maxValues.s).toBeUndefined();
    const nul = adds.find((a) => a.partitionValues.p === null)!;
    expect(nul.path).toMatch(/^p=__HIVE_DEFAULT_PARTITION__\//);
  });

  it('keeps partition columns out of the Parquet files and puts files in hive-style folders', async () => {
    const path = fresh();
    const t = DeltaTable.forPath(path);
    await t.write([eventBatch([1, 2], '2026-05-30'), eventBatch([3], '2026-05-31')], { partitionBy: ['date'] });
    const files = await t.files();
    expect(files.map((f) => f.split('/')[0])).toEqual(['date=2026-05-30', 'date=2026-05-31']);
    expect(await dataFilesOnDisk(path)).toEqual(files);
    const { readParquetFile } = await import('../../../connectors/parquet/index.js');
    const { schema } = await readParquetFile(join(path, files[0]!));
    expect(schema.fields.map((f) => f.name)).toEqual(['id', 'user', 'amount', 'ts']);
    const rows = await readRows(t);
    expect(rows.map((r) => [r.id, r.date])).toEqual([[1, '2026-05-30'], [2, '2026-05-30'], [3, '2026-05-31']]);
  });

  it('URL-escapes odd partition values in folders and log paths', async () => {
    const path = fresh();
    const odd = ['a b', 'a/b', 'x=y', '100%', 'héllo', '日本', null, "it's", 'q?#'];
    const schema = schemaOf({ id: 'int', p: 'string' });
    const t = DeltaTable.forPath(path);
    await t.write([batchFromRows(odd.map((p, id) => ({ id, p })), schema)], { partitionBy: ['p'] });
    const adds = (await commitActions(path, 0)).filter((a) => a.add).map((a) => a.add);
    const byValue = new Map(adds.map((a) => [a.partitionValues.p, a.path.split('/')[0]]));
    expect(byValue.get('a b')).toBe('p=a%2520b');
    expect(byValue.get('a/b')).toBe('p=a%252Fb');
    expect(byValue.get('x=y')).toBe('p=x%253Dy');
    expect(byValue.get('100%')).toBe('p=100%2525');
    expect(byValue.get('héllo')).toBe('p=h%25C3%25A9llo');
    expect(byValue.get(null)).toBe('p=__HIVE_DEFAULT_PARTITION__');
    const onDisk = (await dataFilesOnDisk(path)).map((f) => f.split('/')[0]);
    expect(onDisk).toContain('p=a%20b');
    expect(onDisk).toContain('p=a%2Fb');
    expect(onDisk).toContain('p=x%3Dy');
    expect(onDisk).toContain('p=100%25');
    expect(onDisk).toContain('p=%E6%97%A5%E6%9C%AC');
    expect(onDisk).toHaveLength(odd.length);
    const rows = await readRows(t);
    expect(rows.map((r) => r.p)).toEqual(odd);
  });

  it('formats partition values per type (dates, ISO timestamps, longs, booleans, doubles)', async () => {
    const path = fresh();
    const schema = schemaOf({ v: 'int', dt: 'date', ts: 'timestamp', l: 'long', b: 'boolean', d: 'double' });
    const t = DeltaTable.forPath(path);
    const rows = [
      { v: 1, dt: '1969-07-20', ts: new Date(Date.UTC(2026, 4, 30, 9, 55, 0, 123)), l: 9007199254740993n, b: true, d: 0.5 },
      { v: 2, dt: null, ts: new Date(-1), l: -3, b: false, d: -2 },
    ];
    await t.write([batchFromRows(rows, schema)], { partitionBy: ['dt', 'ts', 'l', 'b', 'd'] });
    const pvs = (await commitActions(path, 0)).filter((a) => a.add).map((a) => a.add.partitionValues);
    expect(pvs).toContainEqual({ dt: '1969-07-20', ts: '2026-05-30T09:55:00.123000Z', l: '9007199254740993', b: 'true', d: '0.5' });
    expect(pvs).toContainEqual({ dt: null, ts: '1969-12-31T23:59:59.999000Z', l: '-3', b: 'false', d: '-2' });
    const files = await t.files();
    expect(files.some((f) => f.startsWith('dt=1969-07-20/ts=2026-05-30T09%3A55%3A00.123000Z/l=9007199254740993/b=true/d=0.5/'))).toBe(true);
    const back = await readRows(t, {}, 'v');
    expect(back).toEqual([
      { ...rows[0], ts: rows[0]!.ts },
      { ...rows[1], l: -3 },
    ]);
  });

  it('encodes and resolves logged paths', () => {
    expect(percentEncode('a b/c')).toBe('a%20b%2Fc');
    expect(partitionDir(['a', 'b'], { a: '1', b: null })).toBe('a=1/b=__HIVE_DEFAULT_PARTITION__');
    expect(encodeLogPath('p=a%2Fb/part-0.parquet')).toBe('p=a%252Fb/part-0.parquet');
    expect(resolveLogPath('/lake/t', 'p=a%252Fb/part-0.parquet')).toBe('/lake/t/p=a%2Fb/part-0.parquet');
    expect(resolveLogPath('/lake/t', 'file:///data/x.parquet')).toBe('/data/x.parquet');
    expect(() => resolveLogPath('/lake/t', 's3://bucket/x.parquet')).toThrow(/only local files/);
  });
});

describe('DeltaLog errors', () => {
  it('names the file and line of a corrupt log line', async () => {
    const path = fresh();
    const t = DeltaTable.forPath(path);
    await t.write([eventBatch([1])]);
    await t.write([eventBatch([2])]);
    const file = join(path, '_delta_log', '00000000000000000001.json');
    await appendFile(file, '{"add": {"path": "x.parquet", "partitionVal\n');
    const err = await DeltaTable.forPath(path).snapshot().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeltaLogCorruptError);
    expect((err as DeltaLogCorruptError).file).toBe(file);
    expect((err as DeltaLogCorruptError).line).toBe(3);
    expect((err as Error).message).toMatch(/00000000000000000001\.json' is corrupt: line 3 is not valid JSON/);
  });

  it('refuses a table whose protocol needs reader version 3 features it does not know', async () => {
    const path = fresh();
    await mkdir(join(path, '_delta_log'), { recursive: true });
    const meta = { id: 'x', format: { provider: 'parquet', options: {} }, schemaString: deltaSchemaString(schemaOf({ a: 'int' })), partitionColumns: [], configuration: {} };
    await writeFile(
      join(path, '_delta_log', '00000000000000000000.json'),
      `${JSON.stringify({ protocol: { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['deletionVectors'], writerFeatures: ['deletionVectors'] } })}\n${JSON.stringify({ metaData: meta })}\n`,
    );
    await expect(DeltaTable.forPath(path).snapshot()).rejects.toThrow(DeltaProtocolError);
    await expect(DeltaTable.forPath(path).snapshot()).rejects.toThrow(/version 0 requires reader features \[deletionVectors\]/);
    const p4 = fresh();
    await mkdir(join(p4, '_delta_log'), { recursive: true });
    await writeFile(join(p4, '_delta_log', '00000000000000000000.json'), `${JSON.stringify({ protocol: { minReaderVersion: 4, minWriterVersion: 7 } })}\n${JSON.stringify({ metaData: meta })}\n`);
    await expect(DeltaTable.forPath(p4).snapshot()).rejects.toThrow(/requires reader version 4/);
    const p3 = fresh();
    await mkdir(join(p3, '_delta_log'), { recursive: true });
    await writeFile(join(p3, '_delta_log', '00000000000000000000.json'), `${JSON.stringify({ protocol: { minReaderVersion: 3, minWriterVersion: 7 } })}\n${JSON.stringify({ metaData: meta })}\n`);
    const err = await DeltaTable.forPath(p3).read().next().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeltaProtocolError);
    expect((err as Error).message).toMatch(/at version 0 requires reader version 3 .*Read it with Spark or delta-rs/);
  });

  it('refuses to write to a table that needs a newer writer', async () => {
    const path = fresh();
    await mkdir(join(path, '_delta_log'), { recursive: true });
    const meta = { id: 'x', format: { provider: 'parquet', options: {} }, schemaString: deltaSchemaString(schemaOf({ id: 'long' })), partitionColumns: [], configuration: {} };
    await writeFile(join(path, '_delta_log', '00000000000000000000.json'), `${JSON.stringify({ protocol: { minReaderVersion: 1, minWriterVersion: 4 } })}\n${JSON.stringify({ metaData: meta })}\n`);
    await expect(DeltaTable.forPath(path).write([batchFromRows([{ id: 1 }], schemaOf({ id: 'long' }))])).rejects.toThrow(/requires writer version 4/);
  });

  it('refuses an append whose schema differs, listing every difference and the fix', async () => {
    const path = fresh();
    const t = DeltaTable.forPath(path);
    await t.write([eventBatch([1])]);
    const other = batchFromRows([{ id: 1, user: 'a', amount: 1, extra: 'x', date: '2026-01-01' }], schemaOf({ id: 'int', user: 'string', amount: 'double', extra: 'string', date: 'date' }));
    const err = await t.write([other]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeltaSchemaMismatchError);
    expect((err as DeltaSchemaMismatchError).differences).toEqual([
      "column 'id' is long in the table but int in the data",
      "column 'ts' (timestamp) is missing from the data",
      "column 'extra' (string) is not in the table",
    ]);
    expect((err as Error).message).toMatch(/does not evolve schemas silently/);
    expect(await t.version()).toBe(0);
    // Nothing was written for the refused append.
    expect(await dataFilesOnDisk(path)).toHaveLength(1);
  });

  it('matches columns by name, so an append with columns in another order is accepted', async () => {
    const path = fresh();
    const t = DeltaTable.forPath(path);
    await t.write([eventBatch([1])]);
    const s = schemaOf({ date: 'date', ts: 'timestamp', amount: 'double', user: 'string', id: 'long' });
    await t.write([batchFromRows([{ id: 2, user: 'b', amount: 3, ts: new Date(0), date: '2026-01-01' }], s)]);
    expect((await readRows(t)).map((r) => [r.id, r.user, r.date])).toEqual([[1, 'u1', '2026-05-30'], [2, 'b', '2026-01-01']]);
  });

  it('enforces NOT NULL columns of the table', async () => {
    const path = fresh();
    const t = DeltaTable.forPath(path);
    await t.create(schemaOf([field('id', 'long', false), field('v', 'string')]));
    await expect(t.write([batchFromRows([{ id: null, v: 'a' }], schemaOf({ id: 'long', v: 'string' }))])).rejects.toThrow(
      /column 'id' is NOT NULL in the table but 1 value\(s\) in the data are null/,
    );
  });

  it('reports a folder without a log, and a version that does not exist', async () => {
    const path = fresh();
    await expect(DeltaTable.forPath(path).snapshot()).rejects.toThrow(DeltaTableNotFoundError);
    const t = DeltaTable.forPath(path);
    await t.write([eventBatch([1])]);
    await expect(t.snapshot(5)).rejects.toThrow(/has versions 0..0; version 5 does not exist/);
    expect(await readdir(join(path, '_delta_log'))).toEqual(['00000000000000000000.json']);
  });
});

describe('DeltaTable round trip', () => {
  it('reads back every type with nulls, longs beyond 2^53, times before 1970 and the window struct', async () => {
    const path = fresh();
    const t = DeltaTable.forPath(path);
    await t.write([allTypeBatch()], { partitionBy: ['p'] });
    const rows = await readRows(t);
    const { allTypeRows } = await import('./helpers.js');
    const expected = allTypeRows().map((r) => ({ ...r, l: typeof r.l === 'bigint' ? r.l : r.l, p: r.p === '' ? null : r.p }));
    expect(rows).toEqual(expected);
    expect((await t.schema()).fields.map((f) => f.name)).toEqual(ALL_TYPES.fields.map((f) => f.name));
  });

  it('reads selected columns in the order asked, partition columns included, and filters partitions', async () => {
    const path = fresh();
    const t = DeltaTable.forPath(path);
    await t.write([allTypeBatch()], { partitionBy: ['p'] });
    const rows = await readRows(t, { columns: ['p', 'id'] });
    expect(rows).toEqual([{ p: 'x', id: 0 }, { p: 'x', id: 1 }, { p: 'y', id: 2 }, { p: null, id: 3 }, { p: 'y', id: 4 }]);
    expect(Object.keys(rows[0]!)).toEqual(['p', 'id']);
    expect((await readRows(t, { where: { p: { eq: 'y' } } })).map((r) => r.id)).toEqual([2, 4]);
    expect((await readRows(t, { where: { p: { isNull: true } } })).map((r) => r.id)).toEqual([3]);
    const onlyP: unknown[] = [];
    for await (const b of t.read({ columns: ['p'] })) onlyP.push(b.numRows);
    expect(onlyP.reduce((a: number, b) => a + (b as number), 0)).toBe(5);
  });
});

describe('reading tables other writers evolved', () => {
  it('returns null for a column older files do not have', async () => {
    const path = fresh();
    const t = DeltaTable.forPath(path);
    await t.write([batchFromRows([{ id: 1 }], schemaOf({ id: 'long' }))]);
    // Another writer (e.g. Spark with mergeSchema) added a column in version 1.
    const meta = (await commitActions(path, 0)).find((a) => a.metaData)!.metaData;
    const evolved = { ...meta, schemaString: deltaSchemaString(schemaOf({ id: 'long', extra: 'string' })) };
    await writeFile(join(path, '_delta_log', '00000000000000000001.json'), `${JSON.stringify({ metaData: evolved })}\n`);
    const reader = DeltaTable.forPath(path);
    expect(await readRows(reader)).toEqual([{ id: 1, extra: null }]);
    expect(await readRows(reader, { columns: ['extra', 'id'] })).toEqual([{ extra: null, id: 1 }]);
  });
});

describe('StatsCollector', () => {
  it('skips min/max it cannot state exactly: NaN, ±Infinity, all-null columns; merges batches', async () => {
    const { StatsCollector } = await import('../../../connectors/lakehouse/delta-stats.js');
    const s = schemaOf({ nan: 'double', inf: 'double', none: 'string', n: 'long', z: 'double' });
    const c = new StatsCollector(s);
    c.add(batchFromRows([{ nan: 1, inf: 1, none: null, n: 5, z: -0 }, { nan: NaN, inf: Infinity, none: null, n: -2, z: 1 }], s));
    c.add(batchFromRows([{ nan: 2, inf: 0, none: null, n: 9223372036854775807n, z: null }], s));
    const stats = JSON.parse(c.toJson());
    expect(stats.numRecords).toBe(3);
    expect(stats.minValues).toEqual({ n: -2, z: 0 });
    expect(stats.maxValues).toEqual({ n: 9223372036854776000, z: 1 });
    expect(c.toJson()).toContain('"n":9223372036854775807');
    expect(stats.nullCount).toEqual({ nan: 0, inf: 0, none: 3, n: 0, z: 1 });
  });
});
