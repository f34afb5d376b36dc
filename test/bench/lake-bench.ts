/**
 * Delta Lake write throughput and per-commit overhead. Not a test: run `npx tsx test/bench/lake-bench.ts [rows]`.
 *
 * 1. rows/s writing raw events (user string, amount double, ts timestamp, id long) partitioned by date (10 days), in
 *    one `write` call: partition split + Parquet encode + stats + one commit. Parquet encode alone and stats alone
 *    are timed on the same batches for a breakdown, and the table is read back.
 * 2. the fixed cost of a commit: median (and p90) of 50 appends of a 10-row batch.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import { schemaOf } from '../../engine/types/data-type.js';
import { batchFromRows, batchFromVecs } from '../../engine/types/values.js';
import { strVecFromStrings, type Vec } from '../../engine/kernels/vec.js';
import { writeParquet } from '../../connectors/parquet/index.js';
import { DeltaTable } from '../../connectors/lakehouse/index.js';
import { StatsCollector } from '../../connectors/lakehouse/delta-stats.js';

const ROWS = Number(process.argv[2] ?? 2_000_000);
const BATCH = 65_536;
const DAYS = 10;
const SCHEMA = schemaOf({ user: 'string', amount: 'double', ts: 'timestamp', id: 'long', date: 'date' });
const DATA_SCHEMA = schemaOf({ user: 'string', amount: 'double', ts: 'timestamp', id: 'long' });

function makeBatches(): RecordBatch[] {
  const out: RecordBatch[] = [];
  const day0 = Date.UTC(2026, 4, 21) / 86_400_000;
  const span = DAYS * 86_400_000;
  for (let start = 0; start < ROWS; start += BATCH) {
    const n = Math.min(BATCH, ROWS - start);
    const users = new Array<string>(n);
    const amount = new Float64Array(n);
    const ts = new Float64Array(n);
    const id = new Float64Array(n);
    const date = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const k = start + i;
      users[i] = `user-${(k * 7919) % 10_000}`;
      amount[i] = (k % 1000) * 0.37;
      const t = day0 * 86_400_000 + Math.floor((k / ROWS) * span);
      ts[i] = t;
      id[i] = k * 1_000_003;
      date[i] = Math.floor(t / 86_400_000);
    }
    const vecs: Vec[] = [
      strVecFromStrings(users),
      { kind: 'num', type: 'double', length: n, values: amount, big: null, valid: null },
      { kind: 'num', type: 'timestamp', length: n, values: ts, big: null, valid: null },
      { kind: 'num', type: 'long', length: n, values: id, big: null, valid: null },
      { kind: 'num', type: 'date', length: n, values: date, big: null, valid: null },
    ];
    out.push(batchFromVecs(SCHEMA, vecs, n));
  }
  return out;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p90 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lake-bench-'));
  try {
    console.log(`lake-bench: ${fmt(ROWS)} rows (user string, amount double, ts timestamp, id long) partitioned by date over ${DAYS} days; node ${process.version}`);
    const batches = makeBatches();

    // Breakdown on the same data (data columns only, one pass each).
    const dataOnly = batches.map((b) => b.selectAt([0, 1, 2, 3]));
    let t0 = performance.now();
    const stats = new StatsCollector(DATA_SCHEMA);
    for (const b of dataOnly) stats.add(b);
    stats.toJson();
    const statsMs = performance.now() - t0;
    t0 = performance.now();
    let bytes = 0;
    for (let i = 0; i < dataOnly.length; i += 15) bytes += writeParquet(dataOnly.slice(i, i + 15)).length;
    const parquetMs = performance.now() - t0;

    const table = DeltaTable.forPath(join(dir, 'events'));
    t0 = performance.now();
    const r = await table.write(batches, { partitionBy: ['date'] });
    const writeMs = performance.now() - t0;
    console.log(
      `write:   ${fmt(ROWS / (writeMs / 1000))} rows/s (${(writeMs / 1000).toFixed(2)} s, ${r.filesAdded} files, ${(bytes / 1e6).toFixed(1)} MB Parquet)`,
    );
    console.log(`  of which Parquet encode alone ≈ ${(parquetMs / 1000).toFixed(2)} s (${fmt(ROWS / (parquetMs / 1000))} rows/s), stats alone ${statsMs.toFixed(0)} ms (${fmt(ROWS / (statsMs / 1000))} rows/s)`);

    t0 = performance.now();
    let readRows = 0;
    for await (const b of table.read()) readRows += b.numRows;
    const readMs = performance.now() - t0;
    console.log(`read:    ${fmt(readRows / (readMs / 1000))} rows/s (${(readMs / 1000).toFixed(2)} s, ${fmt(readRows)} rows, partition column re-attached)`);

    // Fixed per-commit overhead: 50 appends of 10 rows, each its own commit (snapshot update, 1 Parquet file, log write + fsync).
    const small = DeltaTable.forPath(join(dir, 'small'));
    const tenRows = batchFromRows(
      Array.from({ length: 10 }, (_, i) => ({ user: `u${i}`, amount: i, ts: new Date(Date.UTC(2026, 4, 30)), id: i, date: '2026-05-30' })),
      SCHEMA,
    );
    await small.write([tenRows], { partitionBy: ['date'] });
    const times: number[] = [];
    for (let i = 0; i < 50; i++) {
      const s = performance.now();
      await small.write([tenRows], { txn: { appId: 'bench', version: i } });
      times.push(performance.now() - s);
    }
    console.log(`commit:  10-row append median ${median(times).toFixed(2)} ms, p90 ${p90(times).toFixed(2)} ms over 50 commits (${small.path})`);
    const noTxn: number[] = [];
    const big = DeltaTable.forPath(join(dir, 'small'));
    for (let i = 0; i < 50; i++) {
      const s = performance.now();
      await big.write([tenRows]);
      noTxn.push(performance.now() - s);
    }
    console.log(`commit:  same, log at 50–100 versions, no txn: median ${median(noTxn).toFixed(2)} ms`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
