/**
 * The file formats (`jsonl`/`json`, `csv`, `parquet`, `arrow`): how each finds its schema and reads one file.
 *
 * @module
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { RecordBatchReader, tableFromIPC, type RecordBatch } from 'apache-arrow';
import { typeEquals, typeToString, type Schema } from '../../engine/types/data-type.js';
import { canonicalSchemaOf, normalizeRecordBatch, TimestampOutOfRangeError } from '../../engine/types/normalize.js';
import { padColumns } from '../../engine/types/values.js';
import { DEFAULT_MAX_JSON_NESTING_DEPTH } from '../../engine/types/json-depth.js';
import { scanParquetFile, CorruptFileError, ParquetError } from '../parquet/index.js';
import { withParquetWasm } from '../parquet/parquet-wasm.js';
import { csvOptions, inferCsvSchema, readCsvFile } from './csv-reader.js';
import { inferJsonSchema, readJsonLinesFile } from './jsonl-reader.js';
import { boolOption, intOption, outputSchema, parseMode, ReaderOptionError, CORRUPT_RECORD, type ReadStats } from './text-options.js';

/** What a file format does. */
export interface FileFormat {
  readonly name: string;
  readonly extensions: readonly string[];
  /** The schema rows will have (after `_corrupt_record` is added in permissive mode). */
  schemaOf(files: readonly string[], given: Schema | null, options: Readonly<Record<string, string>>): Schema;
  /**
   * Reads one file as batches of `schema` (the value `schemaOf` returned). With `columns` (lower-cased names the query
   * reads), a format that `prunesColumns` may leave the other columns null instead of decoding them.
   */
  read(file: string, schema: Schema, options: Readonly<Record<string, string>>, stats: ReadStats, columns?: ReadonlySet<string>): AsyncIterable<RecordBatch>;
  readonly prunesColumns?: boolean;
}

const BATCH = 65536;

/** Input schema = output schema minus the corrupt-record column. */
function dataSchema(s: Schema): Schema {
  return { fields: s.fields.filter((f) => f.name !== CORRUPT_RECORD) };
}

export const jsonlFormat: FileFormat = {
  name: 'jsonl',
  extensions: ['.jsonl', '.json', '.ndjson'],
  schemaOf(files, given, o) {
    const mode = parseMode(o['mode']);
    const base =
      given ??
      (files.length === 0
        ? null
        : inferJsonSchema(files, {
            samplingRows: intOption(o['samplingRows'], 1000, 'samplingRows'),
            inferTimestamp: boolOption(o['inferTimestamp'], true, 'inferTimestamp'),
            maxNestingDepth: intOption(o['maxNestingDepth'], DEFAULT_MAX_JSON_NESTING_DEPTH, 'maxNestingDepth'),
          }));
    if (!base) throw new ReaderOptionError('A streaming JSON source on an empty folder needs a schema: call .schema({ … }) before load().');
    return outputSchema(base, mode, CORRUPT_RECORD);
  },
  read(file, schema, o, stats) {
    return readJsonLinesFile(
      file,
      dataSchema(schema),
      {
        mode: parseMode(o['mode']),
        batchSize: intOption(o['batchSize'], BATCH, 'batchSize'),
        maxNestingDepth: intOption(o['maxNestingDepth'], DEFAULT_MAX_JSON_NESTING_DEPTH, 'maxNestingDepth'),
      },
      stats,
    );
  },
};

export const csvFormat: FileFormat = {
  name: 'csv',
  extensions: ['.csv', '.tsv', '.txt'],
  schemaOf(files, given, o) {
    const mode = parseMode(o['mode']);
    const opts = csvOptions(o, mode, BATCH);
    const base =
      given ??
      (files.length === 0
        ? null
        : inferCsvSchema(files, opts, {
            samplingRows: intOption(o['samplingRows'], 1000, 'samplingRows'),
            inferTypes: boolOption(o['inferSchema'], true, 'inferSchema'),
          }));
    if (!base) throw new ReaderOptionError('A streaming CSV source on an empty folder needs a schema: call .schema({ … }) before load().');
    return outputSchema(base, mode, CORRUPT_RECORD);
  },
  read(file, schema, o, stats) {
    const mode = parseMode(o['mode']);
    return readCsvFile(file, dataSchema(schema), csvOptions(o, mode, intOption(o['batchSize'], BATCH, 'batchSize')), stats);
  },
};

/** Reads a Parquet file's schema from its footer only. */
export function parquetSchemaSync(file: string): Schema {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < 12) throw new CorruptFileError(`${file} is not a Parquet file (only ${size} bytes). Remove or replace it.`, file);
    const tail = Buffer.alloc(8);
    readSync(fd, tail, 0, 8, size - 8);
    if (tail.toString('latin1', 4) !== 'PAR1') throw new CorruptFileError(`${file} is not a Parquet file (no PAR1 footer): is it truncated? Remove or replace it.`, file);
    const len = tail.readUInt32LE(0);
    if (len + 12 > size) throw new CorruptFileError(`${file} has a corrupt footer length (${len}). Remove or replace it.`, file);
    const footer = Buffer.alloc(len + 8);
    readSync(fd, footer, 0, len + 8, size - 8 - len);
    // The schema lives in the footer; a buffer of magic + footer is enough to decode it.
    const bytes = Buffer.concat([Buffer.from('PAR1'), footer]);
    const ipc = withParquetWasm((w) => w.readSchema(bytes).intoIPCStream());
    return canonicalSchemaOf(tableFromIPC(ipc).schema);
  } catch (e) {
    if (e instanceof ParquetError) throw e;
    throw new CorruptFileError(`Cannot read the schema of ${file}: its footer is corrupt (${(e as Error).message}). Remove or replace the file.`, file, {}, { cause: e });
  } finally {
    closeSync(fd);
  }
}

function checkSame(file: string, found: Schema, expected: Schema): void {
  const ok =
    found.fields.length === expected.fields.length &&
    found.fields.every((f, i) => f.name === expected.fields[i]!.name && typeEquals(f.type, expected.fields[i]!.type));
  if (!ok) {
    throw new ReaderOptionError(
      `${file} has columns (${found.fields.map((f) => `${f.name}: ${typeToString(f.type)}`).join(', ')}) but the query expects ` +
        `(${expected.fields.map((f) => `${f.name}: ${typeToString(f.type)}`).join(', ')}). Files of one read must share a schema.`,
    );
  }
}

export const parquetFormat: FileFormat = {
  name: 'parquet',
  extensions: ['.parquet'],
  schemaOf(files, given) {
    if (given) return given;
    if (files.length === 0) throw new ReaderOptionError('A streaming Parquet source on an empty folder needs a schema: call .schema({ … }).');
    return parquetSchemaSync(files[0]!);
  },
  prunesColumns: true,
  async *read(file, schema, _o, stats, columns) {
    const found = parquetSchemaSync(file);
    const names = schema.fields.map((f) => f.name);
    for (const n of names) if (!found.fields.some((f) => f.name === n)) checkSame(file, found, schema);
    const keep = columns === undefined ? names : names.filter((n) => columns.has(n.toLowerCase()));
    if (keep.length === names.length) {
      for await (const b of scanParquetFile(file, { columns: names })) {
        stats.rows += b.numRows;
        yield b;
      }
      return;
    }
    // Decode only the columns the query reads; the others are null columns of their type (never read).
    const kept: Schema = { fields: schema.fields.filter((f) => keep.includes(f.name)) };
    for await (const b of scanParquetFile(file, keep.length > 0 ? { columns: keep } : { columns: [names[0]!] })) {
      stats.rows += b.numRows;
      yield padColumns(b, kept, schema);
    }
  },
};

function corruptArrow(file: string, why: string, cause?: unknown): CorruptFileError {
  return new CorruptFileError(`${file} is not a readable Arrow IPC file or stream (${why}): is it truncated? Remove or replace it.`, file, {}, { cause });
}

/**
 * An opened reader of an Arrow IPC file or stream. Bytes that are not Arrow IPC, and an empty file or one cut within
 * its first message (which open with no schema and would read as no rows), raise a `CorruptFileError` naming the file.
 */
function openIpc(bytes: Uint8Array, file: string): RecordBatchReader {
  let reader: RecordBatchReader;
  try {
    reader = RecordBatchReader.from(bytes).open();
  } catch (e) {
    throw corruptArrow(file, (e as Error).message, e);
  }
  if (reader.schema == null) throw corruptArrow(file, `${bytes.length} bytes, no schema`);
  return reader;
}

/**
 * The batches of an Arrow IPC file or stream, normalized, one at a time. A batch that does not decode (the file
 * truncated inside it, a damaged message) raises a `CorruptFileError` naming the file after the batches decoded before
 * the damage (as Parquet row groups), so `ignoreCorruptFiles` can skip it; a value sluice cannot hold stays a
 * `SchemaError` (a timestamp or date out of range names the file and the row in it).
 */
function* ipcBatches(bytes: Uint8Array, file: string): Generator<RecordBatch> {
  const it = openIpc(bytes, file)[Symbol.iterator]();
  let firstRow = 0;
  for (;;) {
    let next: IteratorResult<RecordBatch>;
    try {
      next = it.next();
    } catch (e) {
      throw corruptArrow(file, `${(e as Error).message}, after ${firstRow} row(s)`, e);
    }
    if (next.done === true) return;
    const b = next.value;
    try {
      yield normalizeRecordBatch(b);
    } catch (e) {
      throw e instanceof TimestampOutOfRangeError ? e.inFile(file, firstRow) : e;
    }
    firstRow += b.numRows;
  }
}

export const arrowFormat: FileFormat = {
  name: 'arrow',
  extensions: ['.arrow', '.feather', '.ipc', '.arrows'],
  schemaOf(files, given) {
    if (given) return given;
    if (files.length === 0) throw new ReaderOptionError('A streaming Arrow source on an empty folder needs a schema: call .schema({ … }).');
    return canonicalSchemaOf(openIpc(readFileSync(files[0]!), files[0]!).schema);
  },
  async *read(file, schema, _o, stats) {
    for (const b of ipcBatches(await readFile(file), file)) {
      const found = canonicalSchemaOf(b.schema);
      checkSame(file, found, schema);
      stats.rows += b.numRows;
      yield b;
    }
  },
};

/** File formats by name (`json` is an alias of `jsonl`). */
export const FILE_FORMATS: Readonly<Record<string, FileFormat>> = {
  jsonl: jsonlFormat,
  json: jsonlFormat,
  csv: csvFormat,
  parquet: parquetFormat,
  arrow: arrowFormat,
  ipc: arrowFormat,
};
