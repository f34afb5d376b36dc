import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import {
  DateDay,
  Field,
  Int16,
  RecordBatch,
  Schema as ArrowSchema,
  Struct,
  Table,
  TimestampMicrosecond,
  makeData,
  vectorFromArray,
  type Data,
  type DataType as ArrowDataType,
} from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CorruptFileError,
  ParquetError,
  readParquetBytes,
  readParquetFile,
  scanParquetFile,
  writeParquet,
  writeParquetFile,
} from '../../../connectors/parquet/index.js';
import { FileWriteError } from '../../../engine/io/file-write.js';
import {
  SchemaError,
  WINDOW_TYPE,
  schemaOf,
  toArrowType,
  typeToString,
  type DataType,
  type Schema,
} from '../../../engine/types/data-type.js';

// ---------------------------------------------------------------------------------------------------------------
// Fixtures

const DAY = 86_400_000;
const ARRAY_OF_STRING: DataType = { kind: 'array', element: 'string' };

const SCHEMA: Schema = schemaOf({
  s: 'string',
  i: 'int',
  l: 'long',
  d: 'double',
  b: 'boolean',
  ts: 'timestamp',
  dt: 'date',
  w: WINDOW_TYPE,
  bin: 'binary',
  arr: ARRAY_OF_STRING,
});

/** One row per case; row 3 is null in every column. */
const COLUMNS = {
  s: ['', 'héllo', '日本語 🎉', null, 'x'.repeat(1000)],
  i: [0, -2147483648, 2147483647, null, 42],
  l: [2n ** 62n, -(2n ** 63n), 2n ** 63n - 1n, null, 9_007_199_254_740_993n],
  d: [NaN, -0, Infinity, null, -1.5e300],
  b: [true, false, true, null, false],
  ts: [Date.UTC(2024, 0, 1, 12, 30, 45, 123), -1, Date.UTC(1870, 5, 1), null, 0],
  dt: [19723, -1, -40000, null, 0], // days since 1970-01-01
  w: [{ start: 0, end: 5000 }, { start: -5000, end: 0 }, { start: Date.UTC(2024, 0, 1), end: Date.UTC(2024, 0, 1, 0, 0, 5) }, null, { start: -1, end: 1 }],
  bin: [new Uint8Array([0, 255]), new Uint8Array([]), new Uint8Array([7]), null, new Uint8Array([1, 2, 3])],
  arr: [['a', 'b'], [], [null, 'c'], null, ['ü']],
} as const;

function column(name: keyof typeof COLUMNS): Data {
  const type = toArrowType(SCHEMA.fields.find((f) => f.name === name)!.type);
  if (name === 'dt') {
    const days = COLUMNS.dt;
    return makeData({
      type: new DateDay(),
      length: days.length,
      data: Int32Array.from(days, (x) => x ?? 0),
      nullBitmap: bitmapOf(days.map((x) => x !== null)),
    });
  }
  return vectorFromArray(COLUMNS[name] as unknown as never[], type as ArrowDataType).data[0]!;
}

function allTypesBatch(): RecordBatch {
  const arrow = new ArrowSchema(SCHEMA.fields.map((f) => new Field(f.name, toArrowType(f.type), true)));
  const children = SCHEMA.fields.map((f) => column(f.name as keyof typeof COLUMNS));
  return new RecordBatch(arrow, makeData({ type: new Struct(arrow.fields), length: 5, nullCount: 0, children }));
}

function bitmapOf(valid: readonly boolean[]): Uint8Array {
  const out = new Uint8Array((valid.length + 7) >> 3);
  valid.forEach((v, i) => {
    if (v) out[i >> 3]! |= 1 << (i & 7);
  });
  return out;
}

/** Rows as plain JS values (Vectors → arrays, struct rows → objects), for deep comparison. */
function rowsOf(batches: readonly RecordBatch[]): Record<string, unknown>[] {
  const plain = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
    if (Symbol.iterator in v && 'type' in v) return [...(v as Iterable<unknown>)].map(plain);
    const o = (v as { toJSON(): Record<string, unknown> }).toJSON();
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, plain(x)]));
  };
  return batches.flatMap((b) => b.toArray().map((r) => plain(r) as Record<string, unknown>));
}

const EXPECTED_ROWS = rowsOf([allTypesBatch()]);

/** `name: type` per column, ignoring nullability (files come back with every field nullable). */
function typesOf(schema: Schema): string[] {
  return schema.fields.map((f) => `${f.name}: ${typeToString(f.type)}`);
}

let dir: string;
let duck: DuckDBConnection;
let closeDuck: () => void;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-parquet-'));
  const instance = await DuckDBInstance.create(':memory:');
  duck = await instance.connect();
  closeDuck = () => {
    duck.closeSync();
    instance.closeSync();
  };
});

afterAll(async () => {
  closeDuck();
  await rm(dir, { recursive: true, force: true });
});

async function query(sql: string): Promise<Record<string, unknown>[]> {
  return (await duck.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}

let fileNo = 0;
function tmpFile(name = 'f'): string {
  return join(dir, `${name}-${fileNo++}.parquet`);
}

// ---------------------------------------------------------------------------------------------------------------

describe('writeParquet → readParquetBytes', () => {
  it('round-trips every sluice type, with nulls in every column', () => {
    const { schema, batches } = readParquetBytes(writeParquet([allTypesBatch()]));
    expect(typesOf(schema)).toEqual(typesOf(SCHEMA));
    expect(rowsOf(batches)).toEqual(EXPECTED_ROWS);
    // -0 and NaN survive as such (toEqual distinguishes -0 from 0).
    expect(Object.is(rowsOf(batches)[1]!.d, -0)).toBe(true);
    // Every column comes back in the canonical layout.
    for (const f of batches[0]!.schema.fields) {
      expect(String(f.type)).toBe(String(toArrowType(SCHEMA.fields.find((x) => x.name === f.name)!.type)));
    }
  });

  it('keeps long values beyond 2^53 exact', () => {
    const values = [2n ** 53n + 1n, -(2n ** 63n), 2n ** 63n - 1n, 2n ** 62n + 7n];
    const { batches } = readParquetBytes(writeParquet(new Table({ l: vectorFromArray(values, toArrowType('long')) })));
    expect([...batches[0]!.getChild('l')!]).toEqual(values);
  });

  it('round-trips a zero-row batch and an empty input with a schema', () => {
    const empty = allTypesBatch().slice(0, 0);
    const a = readParquetBytes(writeParquet([empty]));
    expect(a.schema.fields.map((f) => f.name)).toEqual(SCHEMA.fields.map((f) => f.name));
    expect(a.batches.reduce((n, b) => n + b.numRows, 0)).toBe(0);

    const b = readParquetBytes(writeParquet([], { schema: SCHEMA }));
    expect(typesOf(b.schema)).toEqual(typesOf(SCHEMA));
    expect(b.batches).toEqual([]);

    const c = readParquetBytes(writeParquet(new Table(allTypesBatch().schema)));
    expect(c.schema.fields.map((f) => f.name)).toEqual(SCHEMA.fields.map((f) => f.name));
  });

  it('asks for a schema when given no batches and none', () => {
    expect(() => writeParquet([])).toThrow(ParquetError);
    expect(() => writeParquet([])).toThrow(/Pass \{ schema \}/);
  });

  it('normalizes non-canonical input before writing', () => {
    const us = makeData({ type: new TimestampMicrosecond(), length: 2, data: new BigInt64Array([-1n, 1_500n]) });
    const narrow = vectorFromArray([1, null], new Int16()).data[0]!;
    const fields = [new Field('ts', us.type), new Field('n', narrow.type)];
    const batch = new RecordBatch(
      new ArrowSchema(fields),
      makeData({ type: new Struct(fields), length: 2, nullCount: 0, children: [us, narrow] }),
    );
    const { schema, batches } = readParquetBytes(writeParquet([batch]));
    expect(schema.fields.map((f) => f.type)).toEqual(['timestamp', 'int']);
    expect(rowsOf(batches)).toEqual([
      { ts: -1, n: 1 },
      { ts: 1, n: null },
    ]);
  });

  it('refuses batches with different columns', () => {
    const a = new Table({ x: vectorFromArray([1], toArrowType('int')) }).batches[0]!;
    const b = new Table({ y: vectorFromArray(['1']) }).batches[0]!;
    expect(() => writeParquet([a, b])).toThrow(/Batch 1 has columns \(y: string\) but batch 0 has \(x: int\)/);
  });

  it('splits rows into row groups of rowGroupSize, and scans one row group at a time', async () => {
    const n = 1000;
    const batches = [0, 1, 2].map(
      (k) =>
        new Table({
          id: vectorFromArray(
            Array.from({ length: n }, (_, i) => BigInt(k * n + i)),
            toArrowType('long'),
          ),
          ts: vectorFromArray(
            Array.from({ length: n }, (_, i) => (k * n + i) * 1000),
            toArrowType('timestamp'),
          ),
        }).batches[0]!,
    );
    const path = tmpFile('groups');
    await writeParquetFile(path, batches, { rowGroupSize: 700 });
    const meta = await query(`select distinct row_group_id, row_group_num_rows from parquet_metadata('${path}') order by 1`);
    expect(meta.map((r) => Number(r.row_group_num_rows))).toEqual([700, 700, 700, 700, 200]);

    const scanned: RecordBatch[] = [];
    for await (const b of scanParquetFile(path)) scanned.push(b);
    expect(scanned.map((b) => b.numRows)).toEqual([700, 700, 700, 700, 200]);
    expect(scanned.flatMap((b) => [...b.getChild('id')!])).toEqual(Array.from({ length: 3 * n }, (_, i) => BigInt(i)));

    const small: number[] = [];
    for await (const b of scanParquetFile(path, { batchSize: 300, columns: ['ts'] })) {
      expect(b.schema.fields.map((f) => f.name)).toEqual(['ts']);
      small.push(b.numRows);
    }
    expect(small.reduce((a, b) => a + b, 0)).toBe(3 * n);
    expect(Math.max(...small)).toBe(300);

    // Stopping early closes the file; it can be read again straight away.
    for await (const b of scanParquetFile(path)) {
      expect(b.numRows).toBe(700);
      break;
    }

    // readParquetFile decodes row group by row group too: a batch never spans two row groups.
    const { batches: whole } = await readParquetFile(path, { batchSize: 500 });
    expect(whole.map((b) => b.numRows)).toEqual([500, 200, 500, 200, 500, 200, 500, 200, 200]);
    const { batches: fromBytes } = readParquetBytes(await readFile(path), { batchSize: 1000 });
    expect(fromBytes.reduce((n, b) => n + b.numRows, 0)).toBe(3 * n);
  });
});

describe('Parquet types written (checked with DuckDB parquet_schema/parquet_metadata)', () => {
  it('writes the physical and logical types Delta Lake expects', async () => {
    const path = tmpFile('types');
    await writeParquetFile(path, [allTypesBatch()]);
    const rows = await query(
      `select name, type, logical_type, converted_type, repetition_type from parquet_schema('${path}') where name <> 'arrow_schema'`,
    );
    const byName = (n: string) => rows.find((r) => r.name === n)!;
    const microsUtc = 'TimestampType(isAdjustedToUTC=1, unit=TimeUnit(MILLIS=<null>, MICROS=MicroSeconds(), NANOS=<null>))';
    expect(byName('ts')).toMatchObject({ type: 'INT64', logical_type: microsUtc, converted_type: 'TIMESTAMP_MICROS' });
    expect(byName('start')).toMatchObject({ type: 'INT64', logical_type: microsUtc });
    expect(byName('end')).toMatchObject({ type: 'INT64', logical_type: microsUtc });
    expect(byName('dt')).toMatchObject({ type: 'INT32', converted_type: 'DATE' });
    expect(byName('s')).toMatchObject({ type: 'BYTE_ARRAY', logical_type: 'StringType()', converted_type: 'UTF8' });
    expect(byName('i')).toMatchObject({ type: 'INT32' });
    expect(byName('l')).toMatchObject({ type: 'INT64', logical_type: null });
    expect(byName('d')).toMatchObject({ type: 'DOUBLE' });
    expect(byName('b')).toMatchObject({ type: 'BOOLEAN' });
    expect(byName('bin')).toMatchObject({ type: 'BYTE_ARRAY', logical_type: null });
    expect(byName('arr')).toMatchObject({ converted_type: 'LIST' });
    for (const r of rows.filter((r) => r.name !== 'duckdb_schema' && r.name !== 'list')) {
      expect([r.name, r.repetition_type]).toEqual([r.name, 'OPTIONAL']);
    }

    const meta = await query(
      `select path_in_schema, compression, stats_min_value, stats_max_value, stats_null_count from parquet_metadata('${path}')`,
    );
    const ts = meta.find((r) => r.path_in_schema === 'ts')!;
    expect(ts.compression).toBe('SNAPPY');
    expect(ts.stats_min_value).toBe('1870-06-01 00:00:00+00');
    expect(ts.stats_max_value).toBe('2024-01-01 12:30:45.123+00');
    expect(ts.stats_null_count).toBe(1n);
    expect(meta.find((r) => r.path_in_schema === 's')!.stats_min_value).toBe('');
  });

  it('compresses with snappy, zstd or nothing, all readable by DuckDB', async () => {
    for (const [compression, name] of [
      ['snappy', 'SNAPPY'],
      ['zstd', 'ZSTD'],
      ['none', 'UNCOMPRESSED'],
    ] as const) {
      const path = tmpFile(compression);
      await writeParquetFile(path, [allTypesBatch()], { compression });
      const codecs = await query(`select distinct compression from parquet_metadata('${path}')`);
      expect(codecs.map((r) => r.compression)).toEqual([name]);
      const rows = await query(`select s, l from read_parquet('${path}')`);
      expect(rows.map((r) => r.s)).toEqual(COLUMNS.s);
      expect(rows.map((r) => r.l)).toEqual(COLUMNS.l);
    }
  });

  it('rejects an unknown compression and a bad row group size', () => {
    expect(() => writeParquet([allTypesBatch()], { compression: 'gzip' as 'zstd' })).toThrow(/Use 'snappy', 'zstd' or 'none'/);
    expect(() => writeParquet([allTypesBatch()], { rowGroupSize: 0 })).toThrow(ParquetError);
  });
});

describe('interop: files sluice writes', () => {
  it('are read by DuckDB with the same values', async () => {
    const path = tmpFile('duck-reads');
    await writeParquetFile(path, [allTypesBatch()], { compression: 'zstd' });
    const rows = await query(
      `select s, i, l, d, b, epoch_ms(ts) as ts, dt::varchar as dt, epoch_ms(w.start) as ws, epoch_ms(w."end") as we,
              w is null as wnull, bin, arr from read_parquet('${path}')`,
    );
    const isoDay = (d: number | null) => (d === null ? null : new Date(d * DAY).toISOString().slice(0, 10));
    expect(rows).toEqual(
      COLUMNS.s.map((_, r) => ({
        s: COLUMNS.s[r],
        i: COLUMNS.i[r],
        l: COLUMNS.l[r],
        d: COLUMNS.d[r],
        b: COLUMNS.b[r],
        ts: COLUMNS.ts[r] === null ? null : BigInt(COLUMNS.ts[r]!),
        dt: isoDay(COLUMNS.dt[r]!),
        ws: COLUMNS.w[r] === null ? null : BigInt(COLUMNS.w[r]!.start),
        we: COLUMNS.w[r] === null ? null : BigInt(COLUMNS.w[r]!.end),
        wnull: COLUMNS.w[r] === null,
        bin: COLUMNS.bin[r] === null ? null : Buffer.from(COLUMNS.bin[r]!),
        arr: COLUMNS.arr[r] === null ? null : [...COLUMNS.arr[r]!],
      })),
    );
    const types = await query(`describe select ts, w from read_parquet('${path}')`);
    expect(types.map((r) => r.column_type)).toEqual([
      'TIMESTAMP WITH TIME ZONE',
      'STRUCT("start" TIMESTAMP WITH TIME ZONE, "end" TIMESTAMP WITH TIME ZONE)',
    ]);
  });

  it('are read by parquetjs-lite with the same values (dictionary encoding off: it cannot decode RLE_DICTIONARY)', async () => {
    const path = tmpFile('parquetjs');
    await writeParquetFile(path, [allTypesBatch()], { dictionary: false });
    const { ParquetReader } = createRequire(import.meta.url)('parquetjs-lite') as ParquetJsLite;
    const reader = await ParquetReader.openFile(path);
    const rows: Record<string, unknown>[] = [];
    const cursor = reader.getCursor();
    for (let row = await cursor.next(); row !== null; row = await cursor.next()) rows.push(row);
    await reader.close();
    // parquetjs-lite leaves null fields out and maps TIMESTAMP_MICROS and DATE to Date objects.
    const date = (ms: number | null) => (ms === null ? undefined : new Date(ms));
    expect(rows.map((r) => [r.s, r.i, r.l, r.d, r.b, r.ts, r.dt])).toEqual(
      COLUMNS.s.map((_, k) => [
        COLUMNS.s[k] ?? undefined,
        COLUMNS.i[k] ?? undefined,
        COLUMNS.l[k] ?? undefined,
        COLUMNS.d[k] ?? undefined,
        COLUMNS.b[k] ?? undefined,
        date(COLUMNS.ts[k]!),
        date(COLUMNS.dt[k] === null ? null : COLUMNS.dt[k]! * DAY),
      ]),
    );
    expect(rows.map((r) => r.w)).toEqual(
      COLUMNS.w.map((w) => (w === null ? undefined : { start: new Date(w.start), end: new Date(w.end) })),
    );
    expect(rows.map((r) => (r.bin === undefined ? null : [...(r.bin as Buffer)]))).toEqual(
      COLUMNS.bin.map((b) => (b === null ? null : [...b])),
    );
    // 3-level LIST: { list: [{ element }] }, a null element as {}.
    expect(rows[0]!.arr).toEqual({ list: [{ element: 'a' }, { element: 'b' }] });
    expect(rows[2]!.arr).toEqual({ list: [{}, { element: 'c' }] });
  });
});

interface ParquetJsLite {
  ParquetReader: {
    openFile(path: string): Promise<{
      getCursor(): { next(): Promise<Record<string, unknown> | null> };
      close(): Promise<void>;
    }>;
  };
}

describe('interop: files DuckDB writes', () => {
  const SELECT = `
    select i::int as id,
           'k' || i || case when i = 1 then ' 日本' else '' end as s,
           case when i = 2 then null else timestamp '2024-03-01 10:00:00.123456' + to_seconds(i) end as ts,
           case when i = 2 then null else timestamptz '1969-12-31 23:59:59.999999+00' - to_seconds(i) end as tz,
           case when i = 2 then null else '1969-12-31 23:59:59.9999995'::timestamp_ns end as tns,
           case when i = 0 then 4611686018427387904 when i = 1 then -9223372036854775808 when i = 2 then null
                else 9007199254740993 end::bigint as big,
           case when i = 2 then null else (i * 1234.567 - 2000)::decimal(10,3) end as dec,
           case when i = 2 then null else 12345678901234567890.0123456789::decimal(38,10) end as wide,
           case when i = 2 then null else date '1960-01-01' + (i * 1000)::int end as d,
           case when i = 2 then null else {'a': i, 'b': 'x' || i} end as st,
           case when i = 2 then null else [i, i + 1] end as arr,
           case when i = 2 then null else i::tinyint end as tiny,
           case when i = 2 then null else (i * 1000000000)::ubigint end as ub,
           case when i = 2 then null else (i / 2)::real end as f32,
           case when i = 2 then null else i % 2 = 0 end as flag
    from range(4) t(i)`;

  it('are read by sluice with the same values', async () => {
    const path = tmpFile('duck-writes');
    await duck.run(`COPY (${SELECT}) TO '${path}' (FORMAT parquet)`);
    const { schema, batches } = await readParquetFile(path);
    expect(Object.fromEntries(schema.fields.map((f) => [f.name, f.type]))).toEqual({
      id: 'int',
      s: 'string',
      ts: 'timestamp',
      tz: 'timestamp',
      tns: 'timestamp',
      big: 'long',
      dec: 'double',
      wide: 'double',
      d: 'date',
      st: { kind: 'struct', fields: [{ name: 'a', type: 'long', nullable: true }, { name: 'b', type: 'string', nullable: true }] },
      arr: { kind: 'array', element: 'long' },
      tiny: 'int',
      ub: 'long',
      f32: 'double',
      flag: 'boolean',
    });
    const rows = rowsOf(batches);
    const base = Date.UTC(2024, 2, 1, 10, 0, 0, 123); // .123456 floors to .123
    expect(rows.map((r) => r.id)).toEqual([0, 1, 2, 3]);
    expect(rows.map((r) => r.s)).toEqual(['k0', 'k1 日本', 'k2', 'k3']);
    expect(rows.map((r) => r.ts)).toEqual([base, base + 1000, null, base + 3000]);
    // 23:59:59.999999 before 1970 floors to …59.999, i.e. -1 ms.
    expect(rows.map((r) => r.tz)).toEqual([-1, -1001, null, -3001]);
    expect(rows.map((r) => r.tns)).toEqual([-1, -1, null, -1]);
    expect(rows.map((r) => r.big)).toEqual([2n ** 62n, -(2n ** 63n), null, 9_007_199_254_740_993n]);
    expect(rows.map((r) => r.dec)).toEqual([-2000, -765.433, null, 1703.701]);
    expect(rows.map((r) => r.wide)).toEqual([12345678901234567890.0123456789, 12345678901234567890.0123456789, null, 12345678901234567890.0123456789]);
    expect(rows.map((r) => r.d)).toEqual([-3653, -2653, null, -653].map((days) => (days === null ? null : days * DAY)));
    expect(rows.map((r) => r.st)).toEqual([{ a: 0n, b: 'x0' }, { a: 1n, b: 'x1' }, null, { a: 3n, b: 'x3' }]);
    expect(rows.map((r) => r.arr)).toEqual([[0n, 1n], [1n, 2n], null, [3n, 4n]]);
    expect(rows.map((r) => r.tiny)).toEqual([0, 1, null, 3]);
    expect(rows.map((r) => r.ub)).toEqual([0n, 1_000_000_000n, null, 3_000_000_000n]);
    expect(rows.map((r) => r.f32)).toEqual([0, 0.5, null, 1.5]);
    expect(rows.map((r) => r.flag)).toEqual([true, false, null, false]);
  });

  it('are projected by readParquetFile and scanParquetFile in the order asked', async () => {
    const path = tmpFile('duck-project');
    await duck.run(`COPY (${SELECT}) TO '${path}' (FORMAT parquet, COMPRESSION zstd)`);
    const { schema, batches } = await readParquetFile(path, { columns: ['big', 's'] });
    expect(schema.fields.map((f) => f.name)).toEqual(['big', 's']);
    expect(rowsOf(batches).map((r) => Object.keys(r))).toEqual([['big', 's'], ['big', 's'], ['big', 's'], ['big', 's']]);
    const fromBytes = readParquetBytes(await readFile(path), { columns: ['tz', 'id'] });
    expect(rowsOf(fromBytes.batches)[0]).toEqual({ tz: -1, id: 0 });
    for await (const b of scanParquetFile(path, { columns: ['st', 'id'] })) {
      expect(b.schema.fields.map((f) => f.name)).toEqual(['st', 'id']);
    }
    await expect(readParquetFile(path, { columns: ['nope'] })).rejects.toThrow(/Column 'nope' is not in .*Its columns are: id, s, ts/);
  });

  it('with a type sluice cannot read give a SchemaError naming the file and column', async () => {
    const path = tmpFile('time');
    await duck.run(`COPY (select 1 as id, time '12:00:00' as at) TO '${path}' (FORMAT parquet)`);
    await expect(readParquetFile(path)).rejects.toThrow(SchemaError);
    await expect(readParquetFile(path)).rejects.toThrow(/time-\d+\.parquet.*Column 'at' has Arrow type Time/);
  });

  it('with a timestamp outside a Date\'s range give an error naming the file, the file row and the stored value', async () => {
    const path = tmpFile('far-future');
    await duck.run(
      `COPY (select i as id, case when i = 5000 then timestamp '290000-01-01 00:00:00' else timestamp '2024-01-01 00:00:00' end as ts
             from range(10000) t(i)) TO '${path}' (FORMAT parquet, ROW_GROUP_SIZE 2048)`,
    );
    const message = /far-future-\d+\.parquet': Column 'ts', row 5000: the timestamp 9089\d+ µs is outside the range of sluice timestamps/;
    const scan = async () => {
      for await (const b of scanParquetFile(path)) void b;
    };
    await expect(scan()).rejects.toThrow(SchemaError);
    await expect(scan()).rejects.toThrow(message);
    await expect(readParquetFile(path)).rejects.toThrow(message);
    expect(() => readParquetBytes(readFileSync(path), {}, path)).toThrow(message);
    // Reading the other columns only is fine.
    expect(rowsOf((await readParquetFile(path, { columns: ['id'] })).batches)).toHaveLength(10000);
  });

  it('with a date beyond ±1e8 days give the same error naming the file, the file row and the stored days', async () => {
    const path = tmpFile('far-date');
    await duck.run(
      `COPY (select i as id, case when i = 3000 then date '300000-01-01' else date '2024-01-01' end as d
             from range(5000) t(i)) TO '${path}' (FORMAT parquet, ROW_GROUP_SIZE 2048)`,
    );
    const message = /far-date-\d+\.parquet': Column 'd', row 3000: the date 108853222 days is outside the range of sluice dates \(±1e8 days/;
    await expect(readParquetFile(path)).rejects.toThrow(SchemaError);
    await expect(readParquetFile(path)).rejects.toThrow(message);
    expect(rowsOf((await readParquetFile(path, { columns: ['id'] })).batches)).toHaveLength(5000);
  });

  it('with many row groups are scanned one row group at a time', async () => {
    const path = tmpFile('duck-groups');
    await duck.run(`COPY (select i as id from range(10000) t(i)) TO '${path}' (FORMAT parquet, ROW_GROUP_SIZE 2048)`);
    const sizes: number[] = [];
    let sum = 0n;
    for await (const b of scanParquetFile(path)) {
      sizes.push(b.numRows);
      for (const v of b.getChild('id')!) sum += v as bigint;
    }
    expect(sizes.length).toBeGreaterThan(1);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(10000);
    expect(sum).toBe(49995000n);
  });
});

describe('errors', () => {
  it('a truncated file gives a ParquetError naming the file and the fix', async () => {
    const path = tmpFile('truncated');
    await writeParquetFile(path, [allTypesBatch()]);
    const size = (await readFile(path)).length;
    await truncate(path, Math.floor(size / 2));
    await expect(readParquetFile(path)).rejects.toThrow(ParquetError);
    await expect(readParquetFile(path)).rejects.toThrow(new RegExp(`'${path}' is truncated.*Re-write it`));
    await expect(scanParquetFile(path).next()).rejects.toThrow(/is truncated/);
    await expect(readParquetFile(path, { columns: ['s'] })).rejects.toThrow(/is truncated/);
    const err = await readParquetFile(path).catch((e: unknown) => e);
    expect((err as ParquetError).file).toBe(path);
  });

  it('a file that is not Parquet, a missing file and an empty file give ParquetErrors', async () => {
    const csv = join(dir, 'data.csv');
    await writeFile(csv, 'a,b\n1,2\n');
    await expect(readParquetFile(csv)).rejects.toThrow(/is not a Parquet file.*not CSV, JSON or Arrow IPC/);
    await expect(readParquetFile(join(dir, 'missing.parquet'))).rejects.toThrow(/does not exist/);
    await expect(scanParquetFile(join(dir, 'missing.parquet')).next()).rejects.toThrow(ParquetError);
    const empty = join(dir, 'empty.parquet');
    await writeFile(empty, '');
    await expect(readParquetFile(empty)).rejects.toThrow(/\(it is empty\)/);
  });

  it('a file whose footer is damaged gives a CorruptFileError, and later reads still work', () => {
    const good = writeParquet([allTypesBatch()]);
    const bad = new Uint8Array(good);
    for (let k = bad.length - 300; k < bad.length - 8; k += 3) bad[k] ^= 0x5a;
    expect(() => readParquetBytes(bad, {}, 'bad.parquet')).toThrow(CorruptFileError);
    expect(() => readParquetBytes(bad, {}, 'bad.parquet')).toThrow(/Parquet file 'bad.parquet' is corrupt.*Remove or replace the file/);
    expect(rowsOf(readParquetBytes(good).batches)).toEqual(EXPECTED_ROWS);
  });

  it('writeParquetFile into a missing folder gives a FileWriteError naming the file and leaves no temporary file', async () => {
    const path = join(dir, 'no', 'such', 'x.parquet');
    const err = (await writeParquetFile(path, [allTypesBatch()]).catch((e: unknown) => e)) as FileWriteError;
    expect(err).toBeInstanceOf(FileWriteError);
    expect(err.code).toBe('ENOENT');
    expect(err.message).toContain(`Cannot write '${path}'`);
    expect(err.message).toMatch(/a folder on its path does not exist/);
  });
});
