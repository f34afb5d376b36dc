import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { Table } from 'apache-arrow';
import { col, count, MemoryStream, Session, SinkOptionError, struct, UnsupportedOutputModeError, window } from '../../../engine/index.js';
import { batchFromRows } from '../../../engine/types/values.js';
import { schemaOf } from '../../../engine/types/data-type.js';
import { fileSinkFromRequest, FileSinkLogError, loggedFilesSync } from '../../../connectors/files/index.js';
import { writeParquetFile } from '../../../connectors/parquet/index.js';

const tmp = (p = 'sluice-fsink-') => mkdtempSync(join(tmpdir(), p));
const SCHEMA = { id: 'long', user: 'string', amount: 'double', ts: 'timestamp' } as const;

/** Runs a MemoryStream query into a file sink, one batch per entry of `batches`. */
async function runBatches(format: string, out: string, batches: Record<string, unknown>[][], options: Record<string, string> = {}, ckpt = tmp()): Promise<Session> {
  const session = new Session();
  const input = new MemoryStream(session, SCHEMA);
  const q = input.toDF().writeStream.format(format).options(options).option('checkpointLocation', ckpt).start(out);
  for (const rows of batches) {
    input.addData(rows);
    await q.processAllAvailable();
  }
  await q.stop();
  return session;
}

const row = (id: number, user: string | null = `u${id % 3}`, amount: number | null = id * 1.5) => ({
  id,
  user,
  amount,
  ts: Date.UTC(2026, 4, 30, 9, 55, id),
});

function logEntries(out: string): string[] {
  return readdirSync(join(out, '_spark_metadata')).filter((n) => !n.startsWith('.')).sort((a, b) => parseInt(a) - parseInt(b));
}

async function duck(sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    return (await c.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    c.closeSync();
  }
}

const quoteList = (files: readonly string[]) => files.map((f) => `'${f.replace(/'/g, "''")}'`).join(',');

describe('File sink (Spark FileStreamSink)', () => {
  it('writes parquet part files and one _spark_metadata entry per batch, in Spark\'s log format', async () => {
    const out = tmp();
    await runBatches('parquet', out, [[row(1), row(2)], [row(3)], []]);
    expect(logEntries(out)).toEqual(['0', '1', '2']);
    const parts = readdirSync(out).filter((n) => n.startsWith('part-'));
    expect(parts).toHaveLength(2);
    for (const p of parts) expect(p).toMatch(/^part-00000-[0-9a-f-]{36}-c000\.snappy\.parquet$/);
    const entry0 = readFileSync(join(out, '_spark_metadata', '0'), 'utf8').split('\n');
    expect(entry0[0]).toBe('v1');
    const status = JSON.parse(entry0[1]!);
    expect(Object.keys(status)).toEqual(['path', 'size', 'isDir', 'modificationTime', 'blockReplication', 'blockSize', 'action']);
    expect(status).toMatchObject({ isDir: false, blockReplication: 1, blockSize: 33554432, action: 'add' });
    expect(status.path).toMatch(/^file:\/\/\/.*part-00000-.*\.snappy\.parquet$/);
    // The empty batch is logged with no files.
    expect(readFileSync(join(out, '_spark_metadata', '2'), 'utf8')).toBe('v1');
  });

  it('reads back through sluice, and DuckDB reads the logged files with the right types (timestamps as TIMESTAMP)', async () => {
    const out = tmp();
    await runBatches('parquet', out, [[row(1), row(2, null, null)], [row(3)]]);
    const session = new Session();
    const rows = await session.read.format('parquet').load(out).orderBy(col('id')).collect();
    expect(rows).toEqual([
      { id: 1, user: 'u1', amount: 1.5, ts: new Date(Date.UTC(2026, 4, 30, 9, 55, 1)) },
      { id: 2, user: null, amount: null, ts: new Date(Date.UTC(2026, 4, 30, 9, 55, 2)) },
      { id: 3, user: 'u0', amount: 4.5, ts: new Date(Date.UTC(2026, 4, 30, 9, 55, 3)) },
    ]);
    const files = loggedFilesSync(out).map((f) => f.path);
    const types = await duck(`DESCRIBE SELECT * FROM read_parquet([${quoteList(files)}])`);
    expect(Object.fromEntries(types.map((t) => [t['column_name'], t['column_type']]))).toEqual({
      id: 'BIGINT',
      user: 'VARCHAR',
      amount: 'DOUBLE',
      ts: 'TIMESTAMP WITH TIME ZONE',
    });
    const values = await duck(
      `SELECT id, "user", amount, strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S') AS ts FROM read_parquet([${quoteList(files)}]) ORDER BY id`,
    );
    expect(values).toEqual([
      { id: '1', user: 'u1', amount: 1.5, ts: '2026-05-30T09:55:01' },
      { id: '2', user: null, amount: null, ts: '2026-05-30T09:55:02' },
      { id: '3', user: 'u0', amount: 4.5, ts: '2026-05-30T09:55:03' },
    ]);
  });

  it('readers of the folder, batch and streaming, list only logged files: a stray part file is never read', async () => {
    const out = tmp();
    await runBatches('parquet', out, [[row(1)], [row(2)]]);
    // What a crash after writing part files but before the log entry leaves behind.
    await writeParquetFile(join(out, 'part-00000-00000000-0000-0000-0000-000000000000-c000.snappy.parquet'), [
      batchFromRows([row(99)], schemaOf(SCHEMA)),
    ]);
    const session = new Session();
    expect((await session.read.parquet(out).collect()).map((r) => r['id']).sort()).toEqual([1, 2]);
    const q = session.readStream.format('parquet').load(out).writeStream.format('memory').queryName('fromSinkFolder').trigger({ availableNow: true }).start();
    await q.awaitTermination();
    expect((await session.table('fromSinkFolder').collect()).map((r) => r['id']).sort()).toEqual([1, 2]);
    // A glob ignores the log, as in Spark: the stray file is there.
    expect((await session.read.parquet(join(out, '*.parquet')).collect()).map((r) => r['id']).sort()).toEqual([1, 2, 99]);
  });

  it('a streaming source on the folder picks up batches committed later, never an uncommitted one', async () => {
    const out = tmp();
    const session = new Session();
    const input = new MemoryStream(session, SCHEMA);
    const writer = input.toDF().writeStream.format('json').option('checkpointLocation', tmp()).start(out);
    input.addData([row(1)]);
    await writer.processAllAvailable();
    const reader = session.readStream.format('json').schema(SCHEMA).load(out).writeStream.format('memory').queryName('follow').start();
    await reader.processAllAvailable();
    writeFileSync(join(out, 'part-00000-stray-c000.json'), `${JSON.stringify(row(77))}\n`);
    input.addData([row(2)]);
    await writer.processAllAvailable();
    await reader.processAllAvailable();
    await writer.stop();
    await reader.stop();
    expect((await session.table('follow').collect()).map((r) => r['id'])).toEqual([1, 2]);
  });

  it('compacts every tenth entry into N.compact with every live file, and readers use it', async () => {
    const out = tmp();
    const batches = Array.from({ length: 22 }, (_, i) => [row(i)]);
    await runBatches('json', out, batches);
    const names = logEntries(out);
    expect(names).toContain('9.compact');
    expect(names).toContain('19.compact');
    expect(names).not.toContain('9');
    expect(names).not.toContain('19');
    // Older than the previous compaction: deleted once 19.compact is written.
    expect(names.filter((n) => parseInt(n) < 9)).toEqual([]);
    expect(names.filter((n) => parseInt(n) >= 9)).toEqual(['9.compact', '10', '11', '12', '13', '14', '15', '16', '17', '18', '19.compact', '20', '21']);
    const compact = readFileSync(join(out, '_spark_metadata', '19.compact'), 'utf8').split('\n');
    expect(compact[0]).toBe('v1');
    expect(compact.slice(1).map((l) => JSON.parse(l).action)).toEqual(Array(20).fill('add'));
    const session = new Session();
    const rows = await session.read.format('json').schema(SCHEMA).load(out).collect();
    expect(rows.map((r) => r['id']).sort((a, b) => Number(a) - Number(b))).toEqual(batches.map((_, i) => i));
  });

  it('skips a batch id the log already holds (a re-run after a crash) and refuses a second writer of the same entry', async () => {
    const out = tmp();
    const schema = schemaOf(SCHEMA);
    const info = { queryId: 'q', runId: 'r', outputMode: 'append' as const, schema };
    const data = new Table([batchFromRows([row(1)], schema)]);
    const a = fileSinkFromRequest('parquet', { format: 'parquet', path: out, options: {}, partitionBy: [], schema });
    await a.addBatch(0, data, info);
    await a.addBatch(0, data, info);
    expect(a.metrics()).toEqual({ batchesCommitted: '1', batchesSkipped: '1', filesAdded: '1' });
    // A second sink that read the log before the first wrote entry 1.
    const b = fileSinkFromRequest('parquet', { format: 'parquet', path: out, options: {}, partitionBy: [], schema });
    await b.addBatch(0, data, info);
    await a.addBatch(1, data, info);
    const before = readdirSync(out).length;
    await expect(b.addBatch(1, data, info)).rejects.toThrow(FileSinkLogError);
    await expect(b.addBatch(1, data, info)).rejects.toThrow(/Race while writing batch 1/);
    // The loser's part files are deleted.
    expect(readdirSync(out).length).toBe(before);
    expect(loggedFilesSync(out)).toHaveLength(2);
  });

  it('refuses update and complete output modes with Spark\'s STREAMING_OUTPUT_MODE.UNSUPPORTED_DATASOURCE, before writing anything', () => {
    for (const mode of ['update', 'complete'] as const) {
      const session = new Session();
      const input = new MemoryStream(session, SCHEMA);
      const out = join(tmp(), 'out');
      const agg = input.toDF().withWatermark('ts', '1 second').groupBy(window(col('ts'), '5 seconds')).agg(count('*').as('n'));
      let err: unknown;
      try {
        agg.writeStream.format('parquet').outputMode(mode).option('checkpointLocation', tmp()).start(out);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UnsupportedOutputModeError);
      const e = err as UnsupportedOutputModeError;
      expect(e).toMatchObject({ errorClass: 'STREAMING_OUTPUT_MODE.UNSUPPORTED_DATASOURCE', sqlState: '42KDE', className: 'parquet', outputMode: mode });
      expect(e.message).toContain(`Invalid streaming output mode: ${mode}. This output mode is not supported in Data Source parquet.`);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('json: one object per row, null fields left out (ignoreNullFields=false keeps them), ISO timestamps', async () => {
    const out = tmp();
    await runBatches('json', out, [[row(1), row(2, null, null)]]);
    const [file] = loggedFilesSync(out);
    expect(file!.path).toMatch(/part-00000-.*-c000\.json$/);
    expect(readFileSync(file!.path, 'utf8')).toBe(
      '{"id":1,"user":"u1","amount":1.5,"ts":"2026-05-30T09:55:01.000Z"}\n{"id":2,"ts":"2026-05-30T09:55:02.000Z"}\n',
    );
    // Inside a struct too, as Spark's JSON generator does.
    const nested = tmp();
    const session = new Session();
    const input = new MemoryStream(session, SCHEMA);
    const q = input.toDF().select(col('id'), struct(col('user'), col('amount')).as('s')).writeStream.format('json').option('checkpointLocation', tmp()).start(nested);
    input.addData([row(1), row(2, null, null)]);
    await q.processAllAvailable();
    await q.stop();
    expect(readFileSync(loggedFilesSync(nested)[0]!.path, 'utf8')).toBe('{"id":1,"s":{"user":"u1","amount":1.5}}\n{"id":2,"s":{}}\n');
    const keep = tmp();
    await runBatches('json', keep, [[row(2, null, null)]], { ignoreNullFields: 'false' });
    expect(readFileSync(loggedFilesSync(keep)[0]!.path, 'utf8')).toBe('{"id":2,"user":null,"amount":null,"ts":"2026-05-30T09:55:02.000Z"}\n');
  });

  it('csv: no header by default (as Spark), header=true adds one per file; quoting round-trips through the CSV reader', async () => {
    const out = tmp();
    const tricky = [row(1, 'a,b'), row(2, 'say "hi"'), row(3, ''), row(4, null), row(5, 'two\nlines')];
    await runBatches('csv', out, [tricky], { maxRecordsPerFile: '3' });
    const files = loggedFilesSync(out);
    expect(files.map((f) => f.path.replace(/.*-(c\d+\.csv)$/, '$1'))).toEqual(['c000.csv', 'c001.csv']);
    expect(readFileSync(files[0]!.path, 'utf8')).toBe(
      '1,"a,b",1.5,2026-05-30T09:55:01.000Z\n2,"say ""hi""",3,2026-05-30T09:55:02.000Z\n3,"",4.5,2026-05-30T09:55:03.000Z\n',
    );
    const session = new Session();
    const back = await session.read.format('csv').schema(SCHEMA).option('header', 'false').option('multiLine', 'true').option('mode', 'failFast').load(out).orderBy(col('id')).collect();
    expect(back.map((r) => r['user'])).toEqual(['a,b', 'say "hi"', '', null, 'two\nlines']);
    const withHeader = tmp();
    await runBatches('csv', withHeader, [[row(1)]], { header: 'true', sep: ';' });
    expect(readFileSync(loggedFilesSync(withHeader)[0]!.path, 'utf8')).toBe('id;user;amount;ts\n1;u1;1.5;2026-05-30T09:55:01.000Z\n');
  });

  it('refuses unknown options (suggesting the nearest), bad values, partitionBy and nested CSV columns at start()', () => {
    const session = new Session();
    const df = new MemoryStream(session, SCHEMA).toDF();
    const start = (f: (w: ReturnType<typeof df.writeStream.format>) => unknown, fmt = 'parquet') => {
      try {
        f(df.writeStream.format(fmt).option('checkpointLocation', tmp()));
      } catch (e) {
        return e as SinkOptionError;
      }
      throw new Error('expected start() to throw');
    };
    const typo = start((w) => w.option('compresion', 'zstd').start(tmp()));
    expect(typo).toBeInstanceOf(SinkOptionError);
    expect(typo).toMatchObject({ option: 'compresion', suggestion: 'compression' });
    expect(typo.validOptions).toEqual(['compression', 'maxRecordsPerFile', 'path', 'checkpointLocation', 'deadLetterPath']);
    expect(typo.message).toBe(
      "Unknown parquet sink option 'compresion'. Known options: compression, maxRecordsPerFile, path, checkpointLocation, deadLetterPath. Did you mean 'compression'?",
    );
    expect(start((w) => w.option('deliveryGuarantee', 'bogus-once').start(tmp()), 'json').message).toMatch(/Unknown json sink option 'deliveryGuarantee'/);
    const bad = start((w) => w.option('compression', 'zsdt').start(tmp()));
    expect(bad).toMatchObject({ option: 'compression', suggestion: 'zstd' });
    expect(bad.message).toMatch(/Parquet sink option 'compression' must be one of 'snappy', 'zstd', 'none', 'uncompressed', got 'zsdt'/);
    expect(start((w) => w.option('maxRecordsPerFile', '0').start(tmp())).message).toMatch(/'maxRecordsPerFile' must be a whole number ≥ 1/);
    expect(start((w) => w.option('header', 'yes').start(tmp()), 'csv').message).toMatch(/'header' must be one of 'true', 'false'/);
    expect(start((w) => w.partitionBy('user').start(tmp())).message).toMatch(/does not write partitioned folders.*format\('delta'\)/);
    const nested = start(() =>
      df.withWatermark('ts', '1 second').groupBy(window(col('ts'), '5 seconds')).agg(count('*').as('n'))
        .writeStream.format('csv').option('checkpointLocation', tmp()).start(tmp()),
    );
    expect(nested.message).toMatch(/cannot write column 'window' of type struct/);
  });

  it('reads a log as Spark writes it: file:/ URIs, a compaction, delete actions, directories, a newer version refused', async () => {
    const out = tmp();
    mkdirSync(join(out, '_spark_metadata'));
    const status = (name: string, action = 'add', isDir = false) =>
      JSON.stringify({ path: `file:${join(out, name).replace(/ /g, '%20')}`, size: 1, isDir, modificationTime: 5, blockReplication: 1, blockSize: 33554432, action });
    for (const f of ['a 1.json', 'b.json', 'c.json', 'old.json']) writeFileSync(join(out, f), `${JSON.stringify({ id: f.length })}\n`);
    // Entry 0 is superseded by 9.compact and never read.
    writeFileSync(join(out, '_spark_metadata', '0'), ['v1', status('old.json')].join('\n'));
    writeFileSync(join(out, '_spark_metadata', '9.compact'), ['v1', status('a 1.json'), status('b.json')].join('\n'));
    writeFileSync(join(out, '_spark_metadata', '10'), ['v1', status('c.json'), status('sub', 'add', true), status('b.json', 'delete')].join('\n'));
    writeFileSync(join(out, '_spark_metadata', '.11.1f0c.tmp'), 'v1\n{broken');
    expect(loggedFilesSync(out).map((f) => f.path)).toEqual([join(out, 'a 1.json'), join(out, 'c.json')]);
    expect(loggedFilesSync(out)[0]).toMatchObject({ size: 1, mtimeMs: 5 });
    writeFileSync(join(out, '_spark_metadata', '11'), 'v2\n');
    expect(() => loggedFilesSync(out)).toThrow(/11 was written by a newer version of the log \(v2\)/);
    writeFileSync(join(out, '_spark_metadata', '11'), 'v1\n{"path":');
    expect(() => loggedFilesSync(out)).toThrow(/_spark_metadata\/11 line 2: not JSON/);
  });

  it('df.write into a file sink folder is refused (the files would never be read); overwrite replaces the folder', async () => {
    const out = tmp();
    await runBatches('parquet', out, [[row(1)]]);
    const session = new Session();
    const df = session.createDataFrame([row(5)], SCHEMA);
    await expect(df.write.format('parquet').mode('append').save(out)).rejects.toThrow(/is written by a streaming file sink.*would never be read/);
    await expect(df.write.format('jsonl').mode('append').save(out)).rejects.toThrow(/is written by a streaming file sink/);
    await df.write.format('parquet').mode('overwrite').save(out);
    expect((await session.read.parquet(out).collect()).map((r) => r['id'])).toEqual([5]);
  });

  it('df.write checks its options too', async () => {
    const session = new Session();
    const df = session.createDataFrame([row(5)], SCHEMA);
    await expect(df.write.format('parquet').option('compresion', 'zstd').save(join(tmp(), 'p'))).rejects.toThrow(
      /Unknown parquet writer option 'compresion'.*Did you mean 'compression'\?/,
    );
    await expect(df.write.format('parquet').option('compression', 'gzip').save(join(tmp(), 'p'))).rejects.toThrow(SinkOptionError);
    await expect(df.write.format('jsonl').option('deliveryGuarantee', 'bogus-once').save(join(tmp(), 'j'))).rejects.toThrow(SinkOptionError);
  });

  it('refuses a new checkpoint on a folder whose log is ahead (Spark would skip those batches silently)', async () => {
    const out = tmp();
    await runBatches('json', out, [[row(1)], [row(2)], [row(3)]]);
    const session = new Session();
    const input = new MemoryStream(session, SCHEMA);
    const q = input.toDF().writeStream.format('json').option('checkpointLocation', tmp()).start(out);
    input.addData([row(4)]);
    await expect(q.processAllAvailable()).rejects.toThrow(/holds batches up to 2, but this query starts at batch 0: its batches 0–2 would be skipped/);
    expect((await session.read.format('json').schema(SCHEMA).load(out).collect()).map((r) => r['id']).sort()).toEqual([1, 2, 3]);
  });
});
