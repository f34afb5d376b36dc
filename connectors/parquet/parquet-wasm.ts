/**
 * parquet-wasm, loaded on first use (it compiles its WebAssembly when imported: ~110 ms of CPU that a query without
 * Parquet or Delta should not pay). Every module of sluice that decodes or encodes Parquet takes it from here.
 *
 * @module
 */
import type * as ParquetWasm from 'parquet-wasm';
import { lazyModule } from '../../engine/io/lazy-module.js';

/**
 * The parquet-wasm module (loaded by the first call).
 *
 * @example
 * const { readParquet } = parquetWasm();
 */
export const parquetWasm = lazyModule<typeof ParquetWasm>('parquet-wasm', import.meta.url);
