/**
 * The Parquet connector: read and write Parquet files in sluice's Arrow layout.
 *
 * @module
 */
export { readParquetBytes, readParquetFile, scanParquetFile, type ParquetReadResult } from './parquet-reader.js';
export { writeParquet, writeParquetFile } from './parquet-writer.js';
export {
  CorruptFileError,
  DEFAULT_READ_BATCH_SIZE,
  DEFAULT_ROW_GROUP_SIZE,
  ParquetError,
  type ParquetCompression,
  type ParquetReadOptions,
  type ParquetScanOptions,
  type ParquetWriteOptions,
} from './parquet-options.js';
