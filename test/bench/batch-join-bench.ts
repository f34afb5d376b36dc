/**
 * Batch hash join: an N × N/10 inner equi-join (long keys, every left row matching one right row; then string keys)
 * with parallelism 1 and 2 (p2: the default threshold, below which it runs inline; p2 workers: a threshold low enough
 * that it runs on the two worker threads, their start included), input rows per second of the join alone (inputs
 * already in memory), against DuckDB with 1 thread on rows of the same shape. `--sizes` runs p1 and p2 at several sizes (how `PARALLEL_JOIN_MIN_ROWS` was chosen).
 * Not a test: nothing asserts on time.
 *
 *   tsx test/bench/batch-join-bench.ts [leftRows=1000000] [--sizes]
 */
import { DuckDBInstance } from '@duckdb/node-api';
import type { RecordBatch } from 'apache-arrow';
import { col, Session, type DataFrame } from '../../engine/index.js';
import { batchFromVecs } from '../../engine/types/values.js';
import { schemaOf } from '../../engine/types/data-type.js';
import { strVecFromStrings, numVec } from '../../engine/kernels/vec.js';
import { prng } from '../helpers/prng.js';

const args = process.argv.slice(2);
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 1_000_000);
const sizes = args.includes('--sizes');

function sides(n: number, m: number, strings: boolean): { left: RecordBatch[]; right: RecordBatch[] } {
  const r = prng(n + m);
  const ls = schemaOf({ k: strings ? 'string' : 'long', v: 'double' });
  const rs = schemaOf({ rk: strings ? 'string' : 'long', name: 'string' });
  const left: RecordBatch[] = [];
  for (let a = 0; a < n; a += 65_536) {
    const len = Math.min(65_536, n - a);
    const keys = new Float64Array(len);
    const vals = new Float64Array(len);
    for (let i = 0; i < len; i++) {
      keys[i] = Math.floor(r() * m);
      vals[i] = r();
    }
    const kv = strings ? strVecFromStrings(Array.from(keys, (k) => `user-${k}`)) : numVec('long', keys);
    left.push(batchFromVecs(ls, [kv, numVec('double', vals)], len));
  }
  const rk = new Float64Array(m);
  for (let i = 0; i < m; i++) rk[i] = i;
  const right = [batchFromVecs(rs, [strings ? strVecFromStrings(Array.from(rk, (k) => `user-${k}`)) : numVec('long', rk), strVecFromStrings(Array.from(rk, (k) => `n${k}`))], m)];
  return { left, right };
}

async function timeJoin(left: RecordBatch[], right: RecordBatch[], parallelism: number, parallelThresholdRows = 65_536): Promise<{ ms: number; rows: number }> {
  const session = new Session({ conf: { parallelism, parallelThresholdRows } });
  const l: DataFrame = session.createDataFrame(left);
  const r: DataFrame = session.createDataFrame(right);
  const df = l.join(r, col('k').eq(col('rk')));
  let best = Infinity;
  let rows = 0;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    rows = 0;
    for (const b of await df.toBatches()) rows += b.numRows;
    best = Math.min(best, performance.now() - t0);
  }
  return { ms: best, rows };
}

async function duck(n: number, m: number, strings: boolean): Promise<number> {
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  const c = await db.connect();
  const key = strings ? "'user-' || k" : 'k';
  await c.run(`CREATE TABLE l AS SELECT ${strings ? "'user-' || CAST(floor(random() * " + m + ') AS BIGINT)' : `CAST(floor(random() * ${m}) AS BIGINT)`} AS k, random() AS v FROM range(${n})`);
  await c.run(`CREATE TABLE r AS SELECT ${key.replace('k', 'range')} AS rk, 'n' || range AS name FROM range(${m})`);
  let best = Infinity;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    await c.run('CREATE OR REPLACE TABLE o AS SELECT * FROM l JOIN r ON l.k = r.rk');
    best = Math.min(best, performance.now() - t0);
  }
  c.closeSync();
  return best;
}

const fmt = (rows: number, ms: number) => `${((rows / ms) * 1000 / 1e6).toFixed(2)} M input rows/s (${ms.toFixed(0)} ms)`;

if (sizes) {
  console.log('| left × right | p1 | p2 on the workers | p2/p1 time |');
  console.log('|---|---|---|---|');
  for (const n of [50_000, 100_000, 200_000, 400_000, 800_000]) {
    const m = n / 10;
    const { left, right } = sides(n, m, false);
    const a = await timeJoin(left, right, 1);
    const b = await timeJoin(left, right, 2, 1024);
    console.log(`| ${n} × ${m} | ${a.ms.toFixed(0)} ms | ${b.ms.toFixed(0)} ms | ${(b.ms / a.ms).toFixed(2)} |`);
  }
} else {
  const m = N / 10;
  console.log(`| join ${N} × ${m} | sluice p1 | sluice p2 | sluice p2 workers | DuckDB 1 thread |`);
  console.log('|---|---|---|---|---|');
  for (const strings of [false, true]) {
    const { left, right } = sides(N, m, strings);
    const a = await timeJoin(left, right, 1);
    const b = await timeJoin(left, right, 2);
    const w = await timeJoin(left, right, 2, 1024);
    const d = await duck(N, m, strings);
    console.log(`| ${strings ? 'string' : 'long'} keys (${a.rows} rows out) | ${fmt(N + m, a.ms)} | ${fmt(N + m, b.ms)} | ${fmt(N + m, w.ms)} | ${fmt(N + m, d)} |`);
  }
}
