/**
 * Options and errors of the Parquet connector.
 *
 * @module
 */
import type { Schema } from '../../engine/types/data-type.js';

/** Page compression codec. `snappy` is what Spark and Delta Lake write by default. */
export type ParquetCompression = 'snappy' | 'zstd' | 'none';

/** How `writeParquet` / `writeParquetFile` encode a file. */
export interface ParquetWriteOptions {
  /** Page compression; default `'snappy'`. */
  readonly compression?: ParquetCompression;
  /** Maximum rows per row group; default 1,048,576 (the Rust `parquet` crate's default). */
  readonly rowGroupSize?: number;
  /**
   * Dictionary-encode columns with few distinct values; default `true`. Turn it off only for old readers that cannot
   * decode `RLE_DICTIONARY` pages (e.g. `parquetjs-lite`); files get larger.
   */
  readonly dictionary?: boolean;
  /** The schema to write when there are no batches at all (an empty file still needs one). */
  readonly schema?: Schema;
}

/** How `readParquetFile` / `readParquetBytes` decode a file. */
export interface ParquetReadOptions {
  /** Top-level columns to read, in the order wanted; default all. */
  readonly columns?: readonly string[];
  /** Maximum rows per returned batch; default 65,536. */
  readonly batchSize?: number;
}

/** How `scanParquetFile` streams a file. */
export interface ParquetScanOptions {
  /** Top-level columns to read, in the order wanted; default all. */
  readonly columns?: readonly string[];
  /** Maximum rows per yielded batch; default: the largest row group, so each row group is one batch. */
  readonly batchSize?: number;
}

/** The default `rowGroupSize`. */
export const DEFAULT_ROW_GROUP_SIZE = 1_048_576;
/** The default `batchSize` of `readParquetFile`. */
export const DEFAULT_READ_BATCH_SIZE = 65_536;

/** Raised when a Parquet file cannot be read or written; `file` names it when there is one. */
export class ParquetError extends Error {
  override readonly name: string = 'ParquetError';
  constructor(
    message: string,
    readonly file?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A file that cannot be decoded: not Parquet, truncated, or damaged (flipped bits, a zeroed range) so that its
 * footer, a page header or a column chunk does not decode, including when the decoder crashes on it (a WebAssembly
 * trap, which fails only this file). Names the file and, where known, the row group (0-based) and column. The fix is
 * to remove or replace the file; a file source with `ignoreCorruptFiles` skips such files and counts them.
 *
 * @example
 * try { await readParquetFile(path); } catch (e) { if (e instanceof CorruptFileError) console.log(e.file, e.rowGroup); }
 */
export class CorruptFileError extends ParquetError {
  override readonly name: string = 'CorruptFileError';
  constructor(
    message: string,
    override readonly file: string,
    readonly where: { readonly rowGroup?: number; readonly column?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, file, options);
  }

  /** The 0-based row group being decoded when the damage was found, when known. */
  get rowGroup(): number | undefined {
    return this.where.rowGroup;
  }

  /** The column being decoded when the damage was found, when known. */
  get column(): string | undefined {
    return this.where.column;
  }
}

/** Write options with defaults filled in and values checked. */
export interface ResolvedWriteOptions {
  readonly compression: ParquetCompression;
  readonly rowGroupSize: number;
  readonly dictionary: boolean;
  readonly schema: Schema | undefined;
}

/**
 * Fills in write defaults and rejects values that would write a broken or surprising file.
 *
 * @example
 * resolveWriteOptions({ compression: 'zstd' }); // { compression: 'zstd', rowGroupSize: 1048576, dictionary: true, … }
 * resolveWriteOptions({ rowGroupSize: 0 }); // throws ParquetError
 */
export function resolveWriteOptions(options: ParquetWriteOptions = {}): ResolvedWriteOptions {
  const compression = options.compression ?? 'snappy';
  if (compression !== 'snappy' && compression !== 'zstd' && compression !== 'none') {
    throw new ParquetError(`Unknown Parquet compression '${String(compression)}'. Use 'snappy', 'zstd' or 'none'.`);
  }
  const rowGroupSize = options.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE;
  checkPositiveInteger('rowGroupSize', rowGroupSize);
  return { compression, rowGroupSize, dictionary: options.dictionary ?? true, schema: options.schema };
}

/**
 * Checks a batch size or row-group size: a positive integer.
 *
 * @example
 * checkPositiveInteger('batchSize', 1024); // ok
 * checkPositiveInteger('batchSize', 0.5); // throws ParquetError
 */
export function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new ParquetError(`Parquet option ${name} must be a positive whole number of rows, got ${value}.`);
  }
}
