/**
 * Parquet throughput: writing and reading 1M rows of (string key, double, timestamp, long), with a breakdown of where
 * the time goes (IPC hand-over to WebAssembly, the Rust encoder/decoder, normalization) and DuckDB on the same file as
 * a reference. Not a test: run `npx tsx test/bench/parquet-bench.ts [rows]`.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  Field,
  RecordBatch,
  Schema as ArrowSchema,
  Struct,
  Table,
  Float64,
  Int64,
  TimestampMillisecond,
  Utf8,
  makeData,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';
import {
  Compression,
  Table as WasmTable,
  WriterPropertiesBuilder,
  readParquet,
  wasmMemory,
  writeParquet as wasmWriteParquet,
} from 'parquet-wasm';
import {
  readParquetBytes,
  readParquetFile,
  scanParquetFile,
  writeParquet,
  writeParquetFile,
} from '../../connectors/parquet/index.js';
import { normalizeRecordBatch } from '../../engine/types/normalize.js';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const BATCH = 65_536;
const KEYS = 10_000;
const REPEAT = 3;

function makeBatches(): RecordBatch[] {
  const out: RecordBatch[] = [];
  const t0 = Date.UTC(2024, 0, 1);
  for (let start = 0; start < ROWS; start += BATCH) {
    const n = Math.min(BATCH, ROWS - start);
    const keys = Array.from({ length: n }, (_, i) => `user-${((start + i) * 7919) % KEYS}`);
    const amount = Float64Array.from({ length: n }, () => Math.random() * 1000);
    const ts = new BigInt64Array(n);
    const id = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      ts[i] = BigInt(t0 + (start + i) * 37);
      id[i] = BigInt(start + i) * 1_000_003n;
    }
    const children = [
      vectorFromArray(keys, new Utf8()).data[0]!,
      makeData({ type: new Float64(), length: n, data: amount }),
      makeData({ type: new TimestampMillisecond('UTC'), length: n, data: ts }),
      makeData({ type: new Int64(), length: n, data: id }),
    ];
    const fields = ['key', 'amount', 'ts', 'id'].map((name, i) => new Field(name, children[i]!.type, true));
    out.push(new RecordBatch(new ArrowSchema(fields), makeData({ type: new Struct(fields), length: n, nullCount: 0, children })));
  }
  return out;
}

/** Best of `REPEAT` runs, in ms. */
async function best(run: () => unknown): Promise<number> {
  let min = Infinity;
  for (let r = 0; r < REPEAT; r++) {
    const t = performance.now();
    await run();
    min = Math.min(min, performance.now() - t);
  }
  return min;
}

const rowsPerSec = (ms: number) => `${((ROWS / ms) * 1000 / 1e6).toFixed(2)}M rows/s`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
function line(label: string, ms: number, extra = ''): void {
  console.log(`${label.padEnd(52)} ${ms.toFixed(0).padStart(6)} ms  ${rowsPerSec(ms).padStart(16)}  ${extra}`);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-parquet-bench-'));
  const batches = makeBatches();
  const table = new Table(batches);
  console.log(`${ROWS.toLocaleString()} rows × (key string, amount double, ts timestamp, id long), ${batches.length} batches`);
  console.log(`node ${process.version}; best of ${REPEAT}; wasm memory at start ${mb(wasmMemory().buffer.byteLength)}\n`);

  // ---- write
  const snappy = join(dir, 'snappy.parquet');
  const zstd = join(dir, 'zstd.parquet');
  line('writeParquet snappy (in memory)', await best(() => writeParquet(batches)));
  line('writeParquet zstd (in memory)', await best(() => writeParquet(batches, { compression: 'zstd' })));
  line('writeParquetFile snappy', await best(() => writeParquetFile(snappy, batches)), mb((await stat(snappy)).size));
  line('writeParquetFile zstd', await best(() => writeParquetFile(zstd, batches, { compression: 'zstd' })), mb((await stat(zstd)).size));

  console.log('  breakdown of a snappy write (the rest is normalize + ms→µs in JS):');
  let ipc: Uint8Array = new Uint8Array();
  line('    tableToIPC (JS)', await best(() => (ipc = tableToIPC(table, 'stream'))), mb(ipc.length));
  const snappyProps = () => new WriterPropertiesBuilder().setCompression(Compression.SNAPPY).build();
  line('    Table.fromIPCStream + writeParquet (wasm)', await best(() => wasmWriteParquet(WasmTable.fromIPCStream(ipc), snappyProps())));

  // ---- read
  console.log('');
  let total = 0;
  line('readParquetFile snappy (whole file)', await best(async () => {
    total = (await readParquetFile(snappy)).batches.reduce((n, b) => n + b.numRows, 0);
  }), `${total} rows`);
  line('readParquetFile zstd (whole file)', await best(() => readParquetFile(zstd)));
  line('readParquetFile snappy, columns [key, ts] (async reader)', await best(() => readParquetFile(snappy, { columns: ['key', 'ts'] })));
  let groups = 0;
  line('scanParquetFile snappy (row group at a time)', await best(async () => {
    groups = 0;
    for await (const b of scanParquetFile(snappy)) groups += b.numRows > 0 ? 1 : 0;
  }), `${groups} batch(es): row groups hold 1M rows`);
  line('scanParquetFile snappy, batchSize 65536', await best(async () => {
    for await (const b of scanParquetFile(snappy, { batchSize: 65_536 })) void b;
  }));

  console.log('  breakdown of a snappy read:');
  const { readFile } = await import('node:fs/promises');
  const bytes = await readFile(snappy);
  let out: Uint8Array = new Uint8Array();
  line('    readParquet + intoIPCStream (wasm)', await best(() => (out = readParquet(bytes, { batchSize: 65_536 }).intoIPCStream())), mb(out.length));
  let decoded: Table = table;
  line('    tableFromIPC (JS)', await best(() => (decoded = tableFromIPC(out))));
  line('    normalizeRecordBatch, µs→ms (JS)', await best(() => decoded.batches.map(normalizeRecordBatch)), String(decoded.schema.fields.map((f) => `${f.name}:${f.type}`)));
  line('    readParquetBytes (all of the above)', await best(() => readParquetBytes(bytes)));

  // ---- DuckDB reference on the same file
  console.log('');
  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  await duck.run('SET threads = 1');
  const duckOut = join(dir, 'duck.parquet');
  line('DuckDB (1 thread) read: sum over all 4 columns', await best(() =>
    duck.run(`select sum(length(key)), sum(amount), max(ts), sum(id) from read_parquet('${snappy}')`),
  ));
  line('DuckDB (1 thread) COPY to snappy parquet', await best(() =>
    duck.run(`COPY (select * from read_parquet('${snappy}')) TO '${duckOut}' (FORMAT parquet)`),
  ), '(includes reading)');

  console.log(`\nwasm memory at end ${mb(wasmMemory().buffer.byteLength)} (WebAssembly memory never shrinks); rss ${mb(process.memoryUsage().rss)}`);
  await rm(dir, { recursive: true, force: true });
}

await main();
