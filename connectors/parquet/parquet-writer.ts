/**
 * Writes Arrow batches as Parquet through parquet-wasm (the Rust `parquet` crate compiled to WebAssembly).
 *
 * Batches are first normalized to sluice's canonical layout, then timestamps are widened from milliseconds to
 * microseconds, because Delta Lake (and Spark) expect `INT64 TIMESTAMP(MICROS, isAdjustedToUTC=true)`. The Parquet
 * types written are:
 *
 * | sluice      | Parquet physical / logical                    |
 * |-------------|-----------------------------------------------|
 * | `string`    | BYTE_ARRAY / STRING                           |
 * | `binary`    | BYTE_ARRAY                                    |
 * | `int`       | INT32                                         |
 * | `long`      | INT64                                         |
 * | `double`    | DOUBLE                                        |
 * | `boolean`   | BOOLEAN                                       |
 * | `timestamp` | INT64 / TIMESTAMP(MICROS, isAdjustedToUTC)    |
 * | `date`      | INT32 / DATE                                  |
 * | struct      | group                                         |
 * | array       | LIST (3-level)                                |
 *
 * Every column is OPTIONAL; statistics (min/max/null count) are written per page and per column chunk.
 *
 * @module
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import { fileStep } from '../../engine/io/file-write.js';
import {
  Field as ArrowField,
  List,
  RecordBatch,
  Schema as ArrowSchema,
  Struct,
  Table,
  TimeUnit,
  TimestampMicrosecond,
  Type,
  makeData,
  tableToIPC,
  type Data,
  type DataType as ArrowDataType,
  type Timestamp,
} from 'apache-arrow';
import type { Compression } from 'parquet-wasm';
import {
  SchemaError,
  schemaToString,
  toArrowSchema,
  typeEquals,
  type Schema,
} from '../../engine/types/data-type.js';
import { canonicalSchemaOf, normalizeRecordBatch } from '../../engine/types/normalize.js';
import {
  ParquetError,
  resolveWriteOptions,
  type ParquetCompression,
  type ParquetWriteOptions,
} from './parquet-options.js';
import { withParquetWasm, type ParquetWasm } from './parquet-wasm.js';

const TWO_32 = 4294967296;

function codecOf(w: ParquetWasm, compression: ParquetCompression): Compression {
  const C = w.Compression;
  return compression === 'snappy' ? C.SNAPPY : compression === 'zstd' ? C.ZSTD : C.UNCOMPRESSED;
}

/**
 * Encodes batches (or a table) as one Parquet file in memory. Any Arrow layout is accepted (it is normalized first);
 * all batches must have the same columns. With no batches, pass `options.schema` to write an empty file.
 *
 * @example
 * const bytes = writeParquet(table, { compression: 'zstd', rowGroupSize: 100_000 });
 * await writeFile('part-00000.zstd.parquet', bytes);
 */
export function writeParquet(input: Table | readonly RecordBatch[], options: ParquetWriteOptions = {}): Uint8Array {
  const opts = resolveWriteOptions(options);
  const source = input instanceof Table ? input.batches : input;
  const batches = source.map((b, i) => normalizeForWrite(b, i));
  const schema = commonSchema(input, batches, opts.schema);
  const arrowSchema =
    batches.length > 0 ? batches[0]!.schema : withMicroseconds(toArrowSchema(schema));
  const ipc = tableToIPC(new Table(arrowSchema, batches), 'stream');

  try {
    return withParquetWasm((w) => {
      const properties = new w.WriterPropertiesBuilder()
        .setCompression(codecOf(w, opts.compression))
        .setMaxRowGroupSize(opts.rowGroupSize)
        .setStatisticsEnabled(w.EnabledStatistics.Page)
        .setDictionaryEnabled(opts.dictionary)
        .build();
      // Both the table and the properties are moved into WebAssembly and freed there.
      return w.writeParquet(w.Table.fromIPCStream(ipc), properties);
    });
  } catch (e) {
    throw new ParquetError(
      `Writing Parquet failed (schema: ${schemaToString(schema)}): ${messageOf(e)}. ` +
        `This is a bug in sluice or parquet-wasm; please report it with the schema.`,
      undefined,
      { cause: e },
    );
  }
}

/**
 * Writes batches (or a table) as a Parquet file at `path`. The bytes go to a temporary file in the same folder that is
 * then renamed, so readers never see a half-written file; the folder must exist. An OS failure (a full disk, a
 * read-only folder) gives a `FileWriteError` naming the file, the step and the fix, and leaves no temporary file.
 *
 * @example
 * await writeParquetFile('/lake/events/part-00000.snappy.parquet', batches);
 * await writeParquetFile('/tmp/empty.parquet', [], { schema: schemaOf({ id: 'long' }) });
 */
export async function writeParquetFile(
  path: string,
  input: Table | readonly RecordBatch[],
  options: ParquetWriteOptions = {},
): Promise<void> {
  const bytes = writeParquet(input, options);
  const tmp = `${path}.${process.pid}.${Date.now().toString(36)}.tmp`;
  try {
    await fileStep('write', tmp, () => writeFile(tmp, bytes), path);
    await fileStep('rename', tmp, () => rename(tmp, path), path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

function normalizeForWrite(batch: RecordBatch, index: number): RecordBatch {
  let canonical: RecordBatch;
  try {
    canonical = normalizeRecordBatch(batch);
  } catch (e) {
    if (e instanceof SchemaError) throw new SchemaError(`Cannot write batch ${index} as Parquet: ${e.message}`);
    throw e;
  }
  return toMicroseconds(canonical);
}

/** The sluice schema shared by every batch; a batch with other columns is an error naming both schemas. */
function commonSchema(input: Table | readonly RecordBatch[], batches: readonly RecordBatch[], given: Schema | undefined): Schema {
  if (batches.length === 0) {
    if (input instanceof Table) return canonicalSchemaOf(input.schema);
    if (given !== undefined) return given;
    throw new ParquetError(
      'writeParquet got no batches and no schema, so it cannot tell which columns the file has. ' +
        'Pass { schema } in the options (e.g. the query\'s output schema) to write an empty file.',
    );
  }
  const schemas = batches.map((b) => canonicalSchemaOf(b.schema));
  const first = schemas[0]!;
  schemas.forEach((s, i) => {
    const same =
      s.fields.length === first.fields.length &&
      s.fields.every((f, j) => f.name === first.fields[j]!.name && typeEquals(f.type, first.fields[j]!.type));
    if (!same) {
      throw new ParquetError(
        `Batch ${i} has columns (${schemaToString(s)}) but batch 0 has (${schemaToString(first)}); ` +
          'one Parquet file holds one schema. Write them to separate files or select the same columns.',
      );
    }
  });
  return first;
}

/** `Timestamp(ms, UTC)` → `Timestamp(µs, UTC)` anywhere in the batch, structs and lists included. */
function toMicroseconds(batch: RecordBatch): RecordBatch {
  const columns = batch.data.children;
  let changed = false;
  const out = columns.map((c, i) => {
    const d = widenTimestamps(c, batch.schema.fields[i]!.name);
    if (d !== c) changed = true;
    return d;
  });
  if (!changed) return batch;
  const fields = batch.schema.fields.map((f, i) => new ArrowField(f.name, out[i]!.type, f.nullable, f.metadata));
  const schema = new ArrowSchema(fields, batch.schema.metadata);
  return new RecordBatch(schema, makeData({ type: new Struct(fields), length: batch.numRows, nullCount: 0, children: out }));
}

function withMicroseconds(schema: ArrowSchema): ArrowSchema {
  const widen = (t: ArrowDataType): ArrowDataType => {
    if (t.typeId === Type.Timestamp) return new TimestampMicrosecond('UTC');
    if (t.typeId === Type.Struct) {
      return new Struct(t.children.map((f: ArrowField) => new ArrowField(f.name, widen(f.type), f.nullable, f.metadata)));
    }
    if (t.typeId === Type.List) {
      const f = t.children[0] as ArrowField;
      return new List(new ArrowField(f.name, widen(f.type), f.nullable, f.metadata));
    }
    return t;
  };
  return new ArrowSchema(
    schema.fields.map((f) => new ArrowField(f.name, widen(f.type), f.nullable, f.metadata)),
    schema.metadata,
  );
}

function widenTimestamps(data: Data, column: string): Data {
  switch (data.type.typeId) {
    case Type.Timestamp: {
      if ((data.type as Timestamp).unit !== TimeUnit.MILLISECOND) return data;
      const values = millisToMicros(data, column);
      // Arrow JS indexes values from the data's first row and the validity bitmap from `offset`: keep both as is.
      return makeData({
        type: new TimestampMicrosecond('UTC'),
        offset: data.offset,
        length: data.length,
        nullCount: data.nullCount,
        nullBitmap: data.nullBitmap,
        data: values,
      });
    }
    case Type.Struct: {
      const fields = data.type.children as ArrowField[];
      let changed = false;
      const children = data.children.map((c, i) => {
        const d = widenTimestamps(c, `${column}.${fields[i]!.name}`);
        if (d !== c) changed = true;
        return d;
      });
      if (!changed) return data;
      const type = new Struct(fields.map((f, i) => new ArrowField(f.name, children[i]!.type, f.nullable, f.metadata)));
      return makeData({
        type,
        offset: data.offset,
        length: data.length,
        nullCount: data.nullCount,
        nullBitmap: data.nullBitmap,
        children,
      });
    }
    case Type.List: {
      const child = data.children[0]!;
      const element = widenTimestamps(child, `${column}[]`);
      if (element === child) return data;
      const f = data.type.children[0] as ArrowField;
      return makeData({
        type: new List(new ArrowField(f.name, element.type, f.nullable, f.metadata)),
        offset: data.offset,
        length: data.length,
        nullCount: data.nullCount,
        nullBitmap: data.nullBitmap,
        valueOffsets: data.valueOffsets as Int32Array,
        child: element,
      });
    }
    default:
      return data;
  }
}

/** `v · 1000` on 32-bit words (exact over the whole int64 range); a valid value that overflows throws. */
function millisToMicros(data: Data, column: string): BigInt64Array {
  const n = data.length;
  const src = data.values as BigInt64Array;
  const w = new Int32Array(src.buffer, src.byteOffset, n * 2);
  const out = new BigInt64Array(n);
  const o = new Int32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    const lo = (w[2 * i]! >>> 0) * 1000;
    const carry = Math.floor(lo / TWO_32);
    const hi = w[2 * i + 1]! * 1000 + carry;
    if (hi > 2147483647 || hi < -2147483648) {
      if (data.getValid(i)) {
        throw new ParquetError(
          `Column '${column}' holds the timestamp ${src[i]!} ms, which does not fit a Parquet microsecond ` +
            'timestamp (about ±292,000 years around 1970). Filter it out before writing.',
        );
      }
      continue;
    }
    o[2 * i] = (lo - carry * TWO_32) | 0;
    o[2 * i + 1] = hi;
  }
  return out;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
