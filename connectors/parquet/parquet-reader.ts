/**
 * Reads Parquet into sluice's canonical Arrow layout through parquet-wasm (the Rust `parquet` crate compiled to
 * WebAssembly). Decoded data leaves WebAssembly as an Arrow IPC stream, is parsed by `tableFromIPC` and then
 * normalized (`normalizeRecordBatch`): `TIMESTAMP(MICROS|NANOS)` becomes millisecond UTC timestamps (floored),
 * DECIMAL becomes double, narrow and unsigned integers widen, dictionaries are decoded.
 *
 * - `scanParquetFile` and `readParquetFile` open the file as a file-backed `Blob` and decode one row group at a time,
 *   with column projection pushed into the decoder, so WebAssembly memory stays at about one row group (the next
 *   one is decoded while the caller works on the current one). They decode on a decoder thread
 *   (`parquet-decoder.ts`): a file that crashes the decoder (a WebAssembly trap) fails with a `CorruptFileError`
 *   naming it and the row group, the process goes on, and the next file gets a fresh decoder.
 * - Every file that cannot be decoded (not Parquet, truncated, a damaged footer, page or column chunk) gives a
 *   `CorruptFileError`; a missing or unreadable file a `ParquetError` with the OS reason.
 * - `readParquetBytes` decodes a whole in-memory file at once: WebAssembly memory peaks at several times the file
 *   size (a 107 MB file: ~690 MB) and WebAssembly memory is never given back, so keep it for small files. parquet-wasm
 *   0.8's synchronous reader also ignores its `columns` option, so projection happens after decoding there.
 *
 * @module
 */
import { open } from 'node:fs/promises';
import { type RecordBatch, tableFromIPC, type Table } from 'apache-arrow';
import { SchemaError, type Schema } from '../../engine/types/data-type.js';
import { canonicalSchemaOf, normalizeRecordBatch, TimestampOutOfRangeError } from '../../engine/types/normalize.js';
import { DecodeFailure, DecodedParquetFile, DecoderStartError, damagedColumn } from './parquet-decoder.js';
import {
  CorruptFileError,
  DEFAULT_READ_BATCH_SIZE,
  ParquetError,
  checkPositiveInteger,
  type ParquetReadOptions,
  type ParquetScanOptions,
} from './parquet-options.js';
import { withParquetWasm } from './parquet-wasm.js';

/** A whole Parquet file in sluice's layout. */
export interface ParquetReadResult {
  /** The file's sluice schema (after normalization; every field nullable), also when it has no rows. */
  readonly schema: Schema;
  /**
   * The rows, in file order, in batches of at most `batchSize` rows (from `readParquetFile`, a batch never spans two
   * row groups); empty for a file without rows.
   */
  readonly batches: RecordBatch[];
}

const MAGIC = 0x31524150; // "PAR1", little-endian
const ENCRYPTED_MAGIC = 0x45524150; // "PARE"

/**
 * Reads a whole Parquet file. Throws a `CorruptFileError` naming the file when it is not Parquet, truncated or
 * corrupt, a `ParquetError` when it is missing, and a `SchemaError` naming the column when a column has a type
 * sluice cannot read.
 *
 * @example
 * const { schema, batches } = await readParquetFile('/lake/events/part-00000.snappy.parquet');
 * const { batches: ids } = await readParquetFile(path, { columns: ['id', 'ts'] });
 */
export async function readParquetFile(path: string, options: ParquetReadOptions = {}): Promise<ParquetReadResult> {
  const batchSize = options.batchSize ?? DEFAULT_READ_BATCH_SIZE;
  checkPositiveInteger('batchSize', batchSize);
  return withParquetFile(path, options.columns, async (file, schema, columns, fileSchema) => {
    const batches: RecordBatch[] = [];
    for await (const b of streamBatches(file, path, batchSize, columns, fileSchema)) batches.push(b);
    return { schema, batches };
  });
}

/**
 * Reads Parquet from memory. `name` is used in error messages. With `columns`, every column is still decoded (see
 * the module note) and the others dropped; prefer `readParquetFile` or `scanParquetFile` for wide files.
 *
 * @example
 * const { schema, batches } = readParquetBytes(new Uint8Array(await (await fetch(url)).arrayBuffer()));
 * readParquetBytes(bytes, { batchSize: 10_000 }, 's3://bucket/key.parquet');
 */
export function readParquetBytes(
  bytes: Uint8Array,
  options: ParquetReadOptions = {},
  name = 'in-memory Parquet data',
): ParquetReadResult {
  const batchSize = options.batchSize ?? DEFAULT_READ_BATCH_SIZE;
  checkPositiveInteger('batchSize', batchSize);
  checkEnds(bytes.length, readMagic(bytes, 0), readMagic(bytes, bytes.length - 4), name);
  const table = decodeSync(name, () => withParquetWasm((w) => w.readParquet(bytes, { batchSize }).intoIPCStream()));
  const fileSchema = canonicalIn(table, name);
  if (options.columns === undefined) {
    return { schema: fileSchema, batches: normalizeAll(nonEmpty(table), name) };
  }
  const columns = checkColumns(options.columns, fileSchema, name);
  return {
    schema: project(fileSchema, columns),
    batches: normalizeAll(nonEmpty(table), name, columns),
  };
}

/**
 * Streams a Parquet file one row group at a time (or in `batchSize`-row slices of each row group), decoding only the
 * requested columns. Stop early with `break`: the file is closed either way.
 *
 * @example
 * for await (const batch of scanParquetFile('/data/big.parquet', { columns: ['user', 'amount'] })) {
 *   total += batch.numRows;
 * }
 */
export async function* scanParquetFile(
  path: string,
  options: ParquetScanOptions = {},
): AsyncGenerator<RecordBatch, void, undefined> {
  if (options.batchSize !== undefined) checkPositiveInteger('batchSize', options.batchSize);
  await checkFileEnds(path);
  const file = await openParquetFile(path);
  try {
    const fileSchema = schemaOfFile(file, path);
    const columns = options.columns === undefined ? undefined : checkColumns(options.columns, fileSchema, path);
    const batchSize = options.batchSize ?? Math.max(1, ...file.rowGroupRows);
    yield* streamBatches(file, path, batchSize, columns, fileSchema);
  } finally {
    await file.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------

/** Opens `path` (after checking its magic bytes), checks `columns` against it, runs `use`, and closes it. */
async function withParquetFile<T>(
  path: string,
  wanted: readonly string[] | undefined,
  use: (file: DecodedParquetFile, schema: Schema, columns: readonly string[] | undefined, fileSchema: Schema) => Promise<T>,
): Promise<T> {
  await checkFileEnds(path);
  const file = await openParquetFile(path);
  try {
    const fileSchema = schemaOfFile(file, path);
    if (wanted === undefined) return await use(file, fileSchema, undefined, fileSchema);
    const columns = checkColumns(wanted, fileSchema, path);
    return await use(file, project(fileSchema, columns), columns, fileSchema);
  } finally {
    await file.close();
  }
}

/**
 * Decodes row groups one after another: the decoder thread fetches each row group's column chunks from the
 * file-backed Blob only when the stream is pulled, so WebAssembly memory stays at about one row group. When a row
 * group fails, its columns are decoded one by one to name the damaged one.
 */
async function* streamBatches(
  file: DecodedParquetFile,
  path: string,
  batchSize: number,
  columns: readonly string[] | undefined,
  fileSchema: Schema,
): AsyncGenerator<RecordBatch, void, undefined> {
  const decoded = file.batches(batchSize, columns);
  let firstRow = 0;
  try {
    for (;;) {
      let next: IteratorResult<{ readonly ipc: Uint8Array; readonly rowGroup: number }, void>;
      try {
        next = await decoded.next();
      } catch (e) {
        const group = e instanceof DecodeFailure ? e.rowGroup : undefined;
        const read = columns ?? fileSchema.fields.map((f) => f.name);
        const column = group === undefined ? undefined : await damagedColumn(path, group, read);
        throw corrupt(path, e, group, column);
      }
      if (next.done) return;
      const { ipc, rowGroup } = next.value;
      const table = decodeSync(path, () => ipc, rowGroup);
      for (const b of nonEmpty(table)) {
        yield normalizeIn(b, path, columns, firstRow);
        firstRow += b.numRows;
      }
    }
  } finally {
    // A batch that failed here (or a caller that stopped early) leaves the next row group's request unanswered:
    // wait for it before the file is closed.
    await decoded.return(undefined).catch(() => undefined);
  }
}

function schemaOfFile(file: DecodedParquetFile, path: string): Schema {
  const arrow = decodeSync(path, () => file.schemaIpc).schema;
  try {
    return canonicalSchemaOf(arrow);
  } catch (e) {
    if (e instanceof SchemaError) throw new SchemaError(`In '${path}': ${e.message}`);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------------------

async function openParquetFile(path: string): Promise<DecodedParquetFile> {
  try {
    return await DecodedParquetFile.open(path);
  } catch (e) {
    if (e instanceof DecodeFailure && e.code !== undefined) throw ioError(path, Object.assign(new Error(e.message), { code: e.code }));
    throw corrupt(path, e);
  }
}

/** Checks the first and last four bytes of a file without reading the rest. */
async function checkFileEnds(path: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    throw ioError(path, e);
  }
  try {
    const { size } = await handle.stat();
    const head = new Uint8Array(4);
    const tail = new Uint8Array(4);
    if (size >= 4) {
      await handle.read(head, 0, 4, 0);
      await handle.read(tail, 0, 4, size - 4);
    }
    checkEnds(size, readMagic(head, 0), readMagic(tail, 0), path);
  } finally {
    await handle.close();
  }
}

function readMagic(bytes: Uint8Array, at: number): number {
  if (at < 0 || at + 4 > bytes.length) return 0;
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

function checkEnds(size: number, head: number, tail: number, name: string): void {
  if (head !== MAGIC) {
    throw new CorruptFileError(
      `'${name}' is not a Parquet file: it does not start with the bytes "PAR1"` +
        (size === 0 ? ' (it is empty)' : '') +
        '. Check the path, and that whatever wrote it produced Parquet (not CSV, JSON or Arrow IPC).',
      name,
    );
  }
  if (tail === ENCRYPTED_MAGIC) {
    throw new ParquetError(
      `'${name}' is an encrypted Parquet file (footer "PARE"), which sluice cannot read. Decrypt it first.`,
      name,
    );
  }
  if (size < 12 || tail !== MAGIC) {
    throw new CorruptFileError(
      `'${name}' is truncated: it starts like a Parquet file but does not end with the "PAR1" footer (${size} bytes), ` +
        'which happens when a writer stops mid-file. Re-write it, or delete it if its data lives elsewhere.',
      name,
    );
  }
}

function checkColumns(wanted: readonly string[], schema: Schema, name: string): readonly string[] {
  const available = schema.fields.map((f) => f.name);
  const seen = new Set<string>();
  for (const c of wanted) {
    if (!available.includes(c)) {
      throw new ParquetError(
        `Column '${c}' is not in '${name}'. Its columns are: ${available.join(', ')}. ` +
          '(Projection takes top-level column names; select struct fields after reading.)',
        name,
      );
    }
    if (seen.has(c)) throw new ParquetError(`Column '${c}' is listed twice in columns for '${name}'.`, name);
    seen.add(c);
  }
  return wanted;
}

/** The batches that hold rows: parquet-wasm hands back one empty batch for a file without rows. */
function nonEmpty(table: Table): RecordBatch[] {
  return table.batches.filter((b) => b.numRows > 0);
}

function project(schema: Schema, columns: readonly string[]): Schema {
  return { fields: columns.map((c) => schema.fields.find((f) => f.name === c)!) };
}

function normalizeAll(batches: readonly RecordBatch[], name: string, columns?: readonly string[]): RecordBatch[] {
  let firstRow = 0;
  return batches.map((b) => {
    const out = normalizeIn(b, name, columns, firstRow);
    firstRow += b.numRows;
    return out;
  });
}

/** `firstRow`: the file row of the batch's first row, so an error about a value names its row in the file. */
function normalizeIn(batch: RecordBatch, name: string, columns: readonly string[] | undefined, firstRow: number): RecordBatch {
  // `select` keeps the file's column order; `selectAt` keeps the order asked for.
  const selected =
    columns === undefined
      ? batch
      : batch.selectAt(columns.map((c) => batch.schema.fields.findIndex((f) => f.name === c)));
  try {
    return normalizeRecordBatch(selected);
  } catch (e) {
    if (e instanceof TimestampOutOfRangeError) throw e.inFile(name, firstRow);
    if (e instanceof SchemaError) throw new SchemaError(`In '${name}': ${e.message}`);
    throw e;
  }
}

function canonicalIn(table: Table, name: string): Schema {
  try {
    return canonicalSchemaOf(table.schema);
  } catch (e) {
    if (e instanceof SchemaError) throw new SchemaError(`In '${name}': ${e.message}`);
    throw e;
  }
}

function decodeSync(name: string, read: () => Uint8Array, rowGroup?: number): Table {
  try {
    return tableFromIPC(read());
  } catch (e) {
    throw corrupt(name, e, rowGroup);
  }
}

/** A decoding failure as a `CorruptFileError` naming the file, the row group when known, and the fix. */
function corrupt(name: string, e: unknown, rowGroup?: number, column?: string): Error {
  if (e instanceof ParquetError || e instanceof DecoderStartError) return e;
  const group = e instanceof DecodeFailure ? e.rowGroup : rowGroup;
  const where =
    (group === undefined ? '' : ` in row group ${group}`) + (column === undefined ? '' : `, column '${column}'`);
  const crashed = e instanceof DecodeFailure ? e.crashed : e instanceof Error && e.name === 'RuntimeError';
  const message = e instanceof Error ? e.message : String(e);
  const what = crashed
    ? `the Parquet decoder crashed${where} (WebAssembly ${message}): the file is damaged`
    : `it cannot be decoded${where} (${message}): the file is damaged or uses a feature parquet-wasm does not support`;
  return new CorruptFileError(
    `Parquet file '${name}' is corrupt: ${what}. Remove or replace the file (restore or re-write it); a streaming ` +
      `query then restarts from its checkpoint. To skip such files instead, read with option ignoreCorruptFiles=true ` +
      `(skipped files are counted and logged). Check it with another reader, e.g. DuckDB: ` +
      `SELECT * FROM parquet_metadata('${name}').`,
    name,
    { ...(group === undefined ? {} : { rowGroup: group }), ...(column === undefined ? {} : { column }) },
    { cause: e },
  );
}

function ioError(path: string, e: unknown): ParquetError {
  const code = (e as { code?: string } | null)?.code;
  const why =
    code === 'ENOENT'
      ? 'it does not exist'
      : code === 'EISDIR'
        ? 'it is a folder (read the Parquet files inside it)'
        : code === 'EACCES'
          ? 'permission denied'
          : e instanceof Error
            ? e.message
            : String(e);
  return new ParquetError(`Cannot read Parquet file '${path}': ${why}.`, path, { cause: e });
}
