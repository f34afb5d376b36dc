/**
 * Spark's file sink: `writeStream.format('parquet' | 'json' | 'csv')` writes each micro-batch as new part files in a
 * plain folder and commits them in the folder's `_spark_metadata/` log (see `file-sink-log.ts`), so the folder is
 * exactly-once for every reader that honours the log — sluice, Spark, and DuckDB given the logged files.
 *
 * `addBatch(N)`:
 * 1. N ≤ the latest logged batch: the batch was committed before a crash; skip it. (At a query's first batch the log may
 *    be at most that batch: a log further ahead was written with another checkpoint, whose batch ids mean other rows —
 *    refused, where Spark skips them silently.)
 * 2. Write fresh `part-00000-<uuid>-c000<ext>` files (`-c001`… when `maxRecordsPerFile` splits a batch), each
 *    fsynced; a batch with no rows writes no file.
 * 3. Write log entry N atomically (`N.compact` every tenth batch). If anything fails, the files of step 2 are deleted.
 *
 * A crash between 2 and 3 leaves part files no entry names: the batch re-runs under new names and readers never list
 * the orphans. A crash after 3 (before `commits/N`) re-runs batch N, which step 1 skips.
 *
 * Only `append` output mode is accepted (Spark: STREAMING_OUTPUT_MODE.UNSUPPORTED_DATASOURCE). `partitionBy` is
 * refused: sluice's file readers do not recover partition columns from folder names, so a partitioned folder would
 * read back without them (use `format('delta')`, which keeps partition values in its log).
 *
 * | option              | formats | value                                                                 |
 * |---------------------|---------|-----------------------------------------------------------------------|
 * | `compression`       | parquet | `snappy` (default), `zstd`, `none` / `uncompressed`                   |
 * | `maxRecordsPerFile` | all     | rows per part file, ≥ 1 (default: one file per batch)                 |
 * | `ignoreNullFields`  | json    | `true` (default, as Spark: null fields are left out) / `false`        |
 * | `header`            | csv     | `false` (default, as Spark) / `true`: a header line in every file     |
 * | `sep`, `delimiter`  | csv     | one character (default `,`; `\t` for a tab)                           |
 * | `quote`, `escape`   | csv     | one character each (default `"`; a quote inside a value is doubled)   |
 * | `nullValue`         | csv     | text of a null (default empty; an empty string is written `""`)       |
 *
 * Where sluice differs from Spark: CSV quotes inside values are doubled (RFC 4180, what sluice's CSV reader expects by
 * default) rather than backslash-escaped; pass `escape` `\` for Spark's form. JSON and CSV timestamps are ISO-8601 UTC
 * with milliseconds (`2026-05-30T09:55:00.000Z`), Parquet timestamps `TIMESTAMP(MICROS, UTC)`.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { RecordBatch, Table } from 'apache-arrow';
import { fsyncDir } from '../../engine/checkpoint/atomic-file.js';
import type { WriteRequest } from '../../engine/io/format-registry.js';
import type { OutputMode, SinkBatchInfo, StreamingSink } from '../../engine/io/sink.js';
import { SinkOptionError, SinkOptions } from '../../engine/io/sink-options.js';
import { typeToString, type Schema } from '../../engine/types/data-type.js';
import { columnVec, formatDate, formatTimestamp, jsonValueAt } from '../../engine/types/values.js';
import { gatherBatch } from '../../engine/kernels/select-kernel.js';
import { strAt, type Vec } from '../../engine/kernels/vec.js';
import { writeParquet, type ParquetCompression } from '../parquet/index.js';
import { addedFile, FileSinkLog, FileSinkLogError, type SinkFileStatus } from './file-sink-log.js';

/** The formats the file sink writes. */
export type FileSinkFormat = 'parquet' | 'json' | 'csv';

/** The options each format's sink reads (besides the writer's `path`, `checkpointLocation`, `deadLetterPath`). */
export const FILE_SINK_OPTIONS: Readonly<Record<FileSinkFormat, readonly string[]>> = {
  parquet: ['compression', 'maxRecordsPerFile'],
  json: ['maxRecordsPerFile', 'ignoreNullFields'],
  csv: ['maxRecordsPerFile', 'header', 'sep', 'delimiter', 'quote', 'escape', 'nullValue'],
};

/** CSV settings of the sink. */
export interface CsvWriteSettings {
  readonly header: boolean;
  readonly sep: string;
  readonly quote: string;
  readonly escape: string;
  readonly nullValue: string;
}

/** What a `FileStreamSink` writes. */
export interface FileSinkSettings {
  readonly format: FileSinkFormat;
  /** The output folder. */
  readonly path: string;
  readonly compression: ParquetCompression;
  readonly maxRecordsPerFile: number;
  readonly ignoreNullFields: boolean;
  readonly csv: CsvWriteSettings;
}

/** Test hook: runs after a batch's part files are durable and before its log entry is written. */
export const fileSinkFaults: { afterDataFiles: ((batchId: number, files: readonly string[]) => void | Promise<void>) | null } = {
  afterDataFiles: null,
};

const PARQUET_EXT: Record<ParquetCompression, string> = { snappy: '.snappy.parquet', zstd: '.zstd.parquet', none: '.parquet' };

/**
 * Writes each micro-batch as part files plus a `_spark_metadata` log entry (see the module note).
 *
 * @example
 * const sink = fileSinkFromRequest('parquet', { format: 'parquet', path: 'out/', options: {}, partitionBy: [] });
 * await sink.addBatch(0, table, info); // out/part-00000-<uuid>-c000.snappy.parquet + out/_spark_metadata/0
 */
export class FileStreamSink implements StreamingSink {
  readonly supportedOutputModes: readonly OutputMode[] = ['append'];
  readonly log: FileSinkLog;
  private latest: number | null = null;
  private committed = 0;
  private skipped = 0;
  private filesAdded = 0;

  constructor(readonly settings: FileSinkSettings) {
    this.log = new FileSinkLog(settings.path);
  }

  get description(): string {
    return `FileSink[${this.settings.path}]`;
  }

  async addBatch(batchId: number, data: Table, info: SinkBatchInfo): Promise<void> {
    if (this.latest === null) {
      // The log folder exists before the first part file, so readers use the log from the start.
      await this.log.ensure();
      this.latest = await this.log.latestBatchId();
      if (batchId < this.latest) {
        // A restart re-runs at most the one batch it has no commit for, and the log never runs ahead of the
        // checkpoint: a log further ahead belongs to another checkpoint. Spark skips those batches without a word.
        throw new FileSinkLogError(
          `${this.log.dir} holds batches up to ${this.latest}, but this query starts at batch ${batchId}: its batches ${batchId}–${this.latest} ` +
            `would be skipped as already written. The folder was written with another checkpoint (or the checkpoint was reset). ` +
            `Write to a new folder, or delete ${this.settings.path} to start it again.`,
        );
      }
    }
    if (batchId <= this.latest) {
      this.skipped++;
      return;
    }
    const written: string[] = [];
    try {
      const entries = await this.writeFiles(data.batches, info.schema, written);
      await fileSinkFaults.afterDataFiles?.(batchId, written);
      await this.log.add(batchId, entries);
    } catch (e) {
      // An aborted batch leaves nothing behind that a later listing without the log could pick up.
      for (const f of written) await fs.unlink(f).catch(() => undefined);
      throw e;
    }
    this.latest = batchId;
    this.committed++;
    this.filesAdded += written.length;
  }

  private async writeFiles(batches: readonly RecordBatch[], schema: Schema, written: string[]): Promise<SinkFileStatus[]> {
    const uuid = randomUUID();
    const entries: SinkFileStatus[] = [];
    for (const chunk of chunks(batches, schema, this.settings.maxRecordsPerFile)) {
      const bytes = this.encode(chunk, schema);
      const file = join(this.settings.path, `part-00000-${uuid}-c${String(entries.length).padStart(3, '0')}${this.extension()}`);
      const h = await fs.open(file, 'wx');
      written.push(file);
      try {
        await h.writeFile(bytes);
        await h.sync();
      } finally {
        await h.close();
      }
      entries.push(addedFile(file, bytes.length, Date.now()));
    }
    if (entries.length > 0) await fsyncDir(this.settings.path);
    return entries;
  }

  private extension(): string {
    const s = this.settings;
    return s.format === 'parquet' ? PARQUET_EXT[s.compression] : `.${s.format}`;
  }

  private encode(batches: readonly RecordBatch[], schema: Schema): Uint8Array {
    const s = this.settings;
    if (s.format === 'parquet') return writeParquet(batches, { compression: s.compression, schema });
    let text = s.format === 'csv' && s.csv.header ? csvHeader(schema, s.csv) : '';
    for (const b of batches) text += s.format === 'json' ? jsonLines(b, schema, s.ignoreNullFields) : csvLines(b, schema, s.csv);
    return Buffer.from(text, 'utf8');
  }

  /** `batchesCommitted`, `batchesSkipped` (re-runs of logged batches), `filesAdded` for progress. */
  metrics(): Record<string, string> {
    return { batchesCommitted: String(this.committed), batchesSkipped: String(this.skipped), filesAdded: String(this.filesAdded) };
  }
}

/** The batch's rows in runs of at most `max` rows (one run when `max` is Infinity); empty batches are dropped. */
function chunks(batches: readonly RecordBatch[], schema: Schema, max: number): RecordBatch[][] {
  const out: RecordBatch[][] = [];
  let cur: RecordBatch[] = [];
  let rows = 0;
  for (const b of batches) {
    let start = 0;
    while (start < b.numRows) {
      const take = Math.min(b.numRows - start, max - rows);
      if (start === 0 && take === b.numRows) cur.push(b);
      else {
        const sel = new Int32Array(take);
        for (let i = 0; i < take; i++) sel[i] = start + i;
        cur.push(gatherBatch(b, schema, sel));
      }
      rows += take;
      start += take;
      if (rows >= max) {
        out.push(cur);
        cur = [];
        rows = 0;
      }
    }
  }
  if (rows > 0) out.push(cur);
  return out;
}

function jsonText(v: Vec, r: number, ignoreNullFields: boolean): string {
  if (v.kind === 'num' && v.type === 'long' && v.big !== null) return v.big[r]!.toString();
  if (v.kind === 'struct' && ignoreNullFields) {
    // Spark leaves null fields out at every level of a struct, not only at the top.
    let out = '{';
    const fields = v.type.fields;
    for (let k = 0; k < fields.length; k++) {
      const f = v.fields[k]!;
      if (f.valid !== null && f.valid[r] === 0) continue;
      out += `${out.length > 1 ? ',' : ''}${JSON.stringify(fields[k]!.name)}:${jsonText(f, r, true)}`;
    }
    return `${out}}`;
  }
  return JSON.stringify(jsonValueAt(v, r));
}

/** One JSON object per row (Spark's json sink); null fields are left out unless `ignoreNullFields` is false. */
function jsonLines(b: RecordBatch, schema: Schema, ignoreNullFields: boolean): string {
  const vecs = schema.fields.map((_, i) => columnVec(b, schema, i));
  const keys = schema.fields.map((f) => `${JSON.stringify(f.name)}:`);
  let out = '';
  for (let r = 0; r < b.numRows; r++) {
    let line = '{';
    for (let c = 0; c < vecs.length; c++) {
      const v = vecs[c]!;
      const isNull = v.valid !== null && v.valid[r] === 0;
      if (isNull && ignoreNullFields) continue;
      line += `${line.length > 1 ? ',' : ''}${keys[c]!}${isNull ? 'null' : jsonText(v, r, ignoreNullFields)}`;
    }
    out += `${line}}\n`;
  }
  return out;
}

function csvField(text: string, o: CsvWriteSettings): string {
  if (text === '') return `${o.quote}${o.quote}`;
  if (!text.includes(o.sep) && !text.includes(o.quote) && !text.includes('\n') && !text.includes('\r') && !(o.escape !== o.quote && text.includes(o.escape))) {
    return text;
  }
  let body = text;
  if (o.escape !== o.quote) body = body.split(o.escape).join(o.escape + o.escape);
  body = body.split(o.quote).join(o.escape + o.quote);
  return `${o.quote}${body}${o.quote}`;
}

function csvText(v: Vec, r: number): string {
  switch (v.kind) {
    case 'num': {
      const x = v.values[r]!;
      if (v.type === 'timestamp') return formatTimestamp(x);
      if (v.type === 'date') return formatDate(x);
      if (v.type === 'long' && v.big !== null) return v.big[r]!.toString();
      return String(x);
    }
    case 'bool':
      return v.values[r] === 1 ? 'true' : 'false';
    case 'str':
      return strAt(v, r);
    default:
      throw new SinkOptionError(`The csv sink cannot write a ${v.kind} column.`, { owner: 'csv sink', option: 'format', valid: [], suggestion: null });
  }
}

function csvHeader(schema: Schema, o: CsvWriteSettings): string {
  return `${schema.fields.map((f) => csvField(f.name, o)).join(o.sep)}\n`;
}

/** One CSV record per row: strings quoted when they hold the separator, a quote or a line break; nulls as `nullValue`. */
function csvLines(b: RecordBatch, schema: Schema, o: CsvWriteSettings): string {
  const vecs = schema.fields.map((_, i) => columnVec(b, schema, i));
  const strings = vecs.map((v) => v.kind === 'str');
  let out = '';
  for (let r = 0; r < b.numRows; r++) {
    let line = '';
    for (let c = 0; c < vecs.length; c++) {
      const v = vecs[c]!;
      if (c > 0) line += o.sep;
      if (v.valid !== null && v.valid[r] === 0) line += o.nullValue;
      else line += strings[c] ? csvField(strAt(v as Extract<Vec, { kind: 'str' }>, r), o) : csvText(v, r);
    }
    out += `${line}\n`;
  }
  return out;
}

/**
 * The sink of `writeStream.format(format)`: options checked (unknown names and bad values throw `SinkOptionError`),
 * `partitionBy` refused, and for CSV every column checked to be a flat type.
 *
 * @example
 * const sink = fileSinkFromRequest('csv', { format: 'csv', path: 'out/', options: { header: 'true' }, partitionBy: [] });
 */
export function fileSinkFromRequest(format: FileSinkFormat, req: WriteRequest): FileStreamSink {
  const owner = `${format} sink`;
  const o = new SinkOptions(owner, req.options, FILE_SINK_OPTIONS[format]);
  const path = req.path ?? o.get('path');
  if (!path) {
    throw new SinkOptionError(`The ${owner} needs a path: .start('out/') or .option('path', 'out/').`, { owner, option: 'path', valid: [], suggestion: null });
  }
  if (req.partitionBy.length > 0) {
    throw new SinkOptionError(
      `The ${owner} does not write partitioned folders (partitionBy(${req.partitionBy.map((c) => `'${c}'`).join(', ')})): ` +
        `sluice's file readers would not get the partition columns back from the folder names. ` +
        `Use writeStream.format('delta').partitionBy(…), or keep the columns in the files.`,
      { owner, option: 'partitionBy', valid: [], suggestion: null },
    );
  }
  if (format === 'csv' && req.schema) {
    for (const f of req.schema.fields) {
      if (typeof f.type !== 'string' || f.type === 'binary') {
        throw new SinkOptionError(
          `The csv sink cannot write column '${f.name}' of type ${typeToString(f.type)} (Spark: CSV data source does not support ${typeToString(f.type)} data type). ` +
            `Select its fields (e.g. col('${f.name}.start')), or write format('json') or format('parquet').`,
          { owner, option: 'format', valid: ['json', 'parquet'], suggestion: null },
        );
      }
    }
  }
  const compression = o.oneOf('compression', ['snappy', 'zstd', 'none', 'uncompressed'], 'snappy');
  const sep = o.char('sep', o.char('delimiter', ','));
  const quote = o.char('quote', '"');
  return new FileStreamSink({
    format,
    path,
    compression: compression === 'uncompressed' ? 'none' : compression,
    maxRecordsPerFile: o.positiveInt('maxRecordsPerFile', Number.POSITIVE_INFINITY),
    ignoreNullFields: o.bool('ignoreNullFields', true),
    csv: { header: o.bool('header', false), sep, quote, escape: o.char('escape', quote), nullValue: o.get('nullValue') ?? '' },
  });
}
