/**
 * Windowed aggregations, sluice against DuckDB (one thread) in one run: 10M events (10k keys, about one event per ms,
 * up to 5 s out of order), string key and int key, kept as Arrow batches in memory and written once to Parquet.
 *
 *   tumbling   1-minute windows, count(*) + sum(v) per key
 *   sliding    10-minute windows every minute, max(v) per key
 *   session    30-second gap, count(*) per key
 *
 * sluice runs with `parallelism: 1` from the in-memory batches and from the Parquet file; DuckDB (`SET threads=1`) from a
 * table loaded from that Parquet file beforehand (file reading excluded) and with `read_parquet` (included). Both sides
 * materialise the full result (sluice: Arrow batches; DuckDB: `CREATE TEMP TABLE … AS`). Best of `--repeat` runs; rates are
 * per second of process CPU time (robust on a shared machine), wall times are printed too.
 *
 * Not a test: `npx tsx test/bench/window-bench.ts [--quick] [--events N] [--repeat R] [--only tumbling,sliding,session]
 * [--keys string,int]`.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { Field, Float64, Int32, RecordBatch, Schema as ArrowSchema, Struct, TimestampMillisecond, Utf8, makeData } from 'apache-arrow';
import { col, count, max, Session, sessionWindow, sum, window, type DataFrame } from '../../engine/index.js';
import { writeParquetFile } from '../../connectors/parquet/index.js';
import { prng } from '../helpers/prng.js';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const QUICK = args.includes('--quick');
const EVENTS = Number(arg('--events') ?? (QUICK ? 1_000_000 : 10_000_000));
const REPEAT = Number(arg('--repeat') ?? (QUICK ? 1 : 2));
const ONLY = (arg('--only') ?? 'tumbling,sliding,session').split(',');
const KEY_KINDS = (arg('--keys') ?? 'string,int').split(',');
const KEYS = 10_000;
const BATCH = 65_536;
const T0 = Date.UTC(2026, 0, 1);

/** Arrow batches of (ts, skey, ikey, v), built straight into typed arrays. */
function generate(): RecordBatch[] {
  const r = prng(42);
  const enc = new TextEncoder();
  const keyBytes = Array.from({ length: KEYS }, (_, k) => enc.encode(`user-${k}`));
  const fields = [
    new Field('ts', new TimestampMillisecond('UTC'), false),
    new Field('skey', new Utf8(), false),
    new Field('ikey', new Int32(), false),
    new Field('v', new Float64(), false),
  ];
  const schema = new ArrowSchema(fields);
  const out: RecordBatch[] = [];
  for (let start = 0; start < EVENTS; start += BATCH) {
    const n = Math.min(BATCH, EVENTS - start);
    const ts = new BigInt64Array(n);
    const tsw = new Int32Array(ts.buffer);
    const ikey = new Int32Array(n);
    const v = new Float64Array(n);
    const offsets = new Int32Array(n + 1);
    const bytes = new Uint8Array(n * 10);
    let pos = 0;
    for (let i = 0; i < n; i++) {
      // One event per ms, up to 5 s late.
      const t = T0 + start + i - Math.floor(r() * 5000);
      tsw[2 * i] = t % 4294967296 | 0;
      tsw[2 * i + 1] = Math.floor(t / 4294967296);
      const k = Math.floor(r() * KEYS);
      ikey[i] = k;
      v[i] = Math.round(r() * 100_000) / 100;
      const kb = keyBytes[k]!;
      bytes.set(kb, pos);
      pos += kb.length;
      offsets[i + 1] = pos;
    }
    const children = [
      makeData({ type: fields[0]!.type as TimestampMillisecond, length: n, nullCount: 0, data: ts }),
      makeData({ type: fields[1]!.type as Utf8, length: n, nullCount: 0, valueOffsets: offsets, data: bytes.subarray(0, pos) }),
      makeData({ type: fields[2]!.type as Int32, length: n, nullCount: 0, data: ikey }),
      makeData({ type: fields[3]!.type as Float64, length: n, nullCount: 0, data: v }),
    ];
    out.push(new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children })));
  }
  return out;
}

interface Query {
  name: string;
  sluice: (df: DataFrame, key: string) => DataFrame;
  /** SQL over a relation `src` with columns ts (timestamp), skey, ikey, v. */
  sql: (src: string, key: string) => string;
}

const QUERIES: Query[] = [
  {
    name: 'tumbling',
    sluice: (df, key) => df.groupBy(window(col('ts'), '1 minute'), col(key)).agg(count('*').as('n'), sum('v').as('s')),
    sql: (src, key) => `SELECT epoch_ms(ts) // 60000 * 60000 AS ws, ${key}, count(*) AS n, sum(v) AS s FROM ${src} GROUP BY ALL`,
  },
  {
    name: 'sliding',
    sluice: (df, key) => df.groupBy(window(col('ts'), '10 minutes', '1 minute'), col(key)).agg(max('v').as('m')),
    sql: (src, key) => `
      SELECT ws, ${key}, max(v) AS m
      FROM (SELECT ${key}, v, unnest(generate_series(epoch_ms(ts) // 60000 * 60000 - 540000, epoch_ms(ts) // 60000 * 60000, 60000)) AS ws FROM ${src})
      GROUP BY ALL`,
  },
  {
    name: 'session',
    sluice: (df, key) => df.groupBy(sessionWindow(col('ts'), '30 seconds'), col(key)).agg(count('*').as('n')),
    sql: (src, key) => `
      WITH e AS (SELECT ${key}, epoch_ms(ts) AS t FROM ${src}),
      m AS (SELECT *, max(t) OVER (PARTITION BY ${key} ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev FROM e),
      g AS (SELECT *, sum(CASE WHEN prev IS NULL OR t > prev + 30000 THEN 1 ELSE 0 END) OVER (PARTITION BY ${key} ORDER BY t ROWS UNBOUNDED PRECEDING) AS sid FROM m)
      SELECT ${key}, min(t) AS ws, max(t) + 30000 AS we, count(*) AS n FROM g GROUP BY ${key}, sid`,
  },
];

/**
 * Best of `REPEAT` runs: wall time, and CPU time of the whole process (DuckDB's thread included), which a busy machine
 * disturbs much less than wall time. Rates in the table use CPU time.
 */
async function best(run: () => Promise<number>): Promise<{ ms: number; wall: number; rows: number }> {
  let wall = Infinity;
  let ms = Infinity;
  let rows = 0;
  for (let i = 0; i < REPEAT; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    rows = await run();
    const cpu = process.cpuUsage(c);
    wall = Math.min(wall, performance.now() - t);
    ms = Math.min(ms, (cpu.user + cpu.system) / 1000);
  }
  return { ms, wall, rows };
}

async function sluiceRun(df: DataFrame): Promise<number> {
  let n = 0;
  for (const b of await df.toBatches()) n += b.numRows;
  return n;
}

async function duckRun(c: DuckDBConnection, sql: string): Promise<number> {
  await c.run(`CREATE OR REPLACE TEMP TABLE out AS ${sql}`);
  const r = await c.runAndReadAll('SELECT count(*) AS n FROM out');
  return Number(r.getRowObjects()[0]!['n']);
}

const fmtRate = (ms: number) => `${((EVENTS / ms) * 1000 / 1e6).toFixed(2)}M/s`;

async function main(): Promise<void> {
  const t0 = performance.now();
  const batches = generate();
  const dir = join(tmpdir(), `sluice-window-bench-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const parquet = join(dir, 'events.parquet');
  await writeParquetFile(parquet, batches, { compression: 'snappy' });
  console.log(
    `${EVENTS.toLocaleString('en')} events, ${KEYS} keys, ${batches.length} batches of ${BATCH}; Parquet ${(statSync(parquet).size / 1e6).toFixed(0)} MB; ` +
      `generated in ${((performance.now() - t0) / 1000).toFixed(1)} s; best of ${REPEAT}`,
  );

  const session = new Session({ conf: { parallelism: 1 } });
  const memDf = session.createDataFrame(batches);
  const fileDf = session.read.format('parquet').load(parquet);
  const db = await DuckDBInstance.create(':memory:');
  const duck = await db.connect();
  await duck.run('SET threads=1');
  await duck.run(`CREATE TABLE ev AS SELECT * FROM read_parquet('${parquet}')`);

  const table: string[][] = [];
  for (const q of QUERIES) {
    if (!ONLY.includes(q.name)) continue;
    for (const kind of KEY_KINDS) {
      const key = kind === 'int' ? 'ikey' : 'skey';
      const mem = await best(() => sluiceRun(q.sluice(memDf, key)));
      const duckTable = await best(() => duckRun(duck, q.sql('ev', key)));
      const file = await best(() => sluiceRun(q.sluice(fileDf, key)));
      const duckFile = await best(() => duckRun(duck, q.sql(`read_parquet('${parquet}')`, key)));
      if (mem.rows !== duckTable.rows) console.warn(`  ${q.name}/${kind}: sluice ${mem.rows} groups, DuckDB ${duckTable.rows}`);
      table.push([
        q.name,
        kind,
        mem.rows.toLocaleString('en'),
        fmtRate(mem.ms),
        fmtRate(duckTable.ms),
        (duckTable.ms / mem.ms).toFixed(2),
        fmtRate(file.ms),
        fmtRate(duckFile.ms),
        (duckFile.ms / file.ms).toFixed(2),
      ]);
      console.log(
        `  ${q.name}/${kind}: CPU ms sluice ${mem.ms.toFixed(0)}, DuckDB ${duckTable.ms.toFixed(0)} (table); ${file.ms.toFixed(0)} / ${duckFile.ms.toFixed(0)} (Parquet)` +
          ` — wall ms ${mem.wall.toFixed(0)}, ${duckTable.wall.toFixed(0)}; ${file.wall.toFixed(0)} / ${duckFile.wall.toFixed(0)}`,
      );
    }
  }
  duck.closeSync();
  rmSync(dir, { recursive: true, force: true });

  const head = ['query', 'key', 'groups', 'sluice (Arrow in memory)', 'DuckDB (table)', 'sluice/DuckDB', 'sluice (Parquet)', 'DuckDB (read_parquet)', 'sluice/DuckDB'];
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padStart(widths[i]!)).join(' | ')} |`;
  console.log(`\nevents per CPU-second (higher is better); sluice/DuckDB = throughput ratio, ≥ 1 means sluice is faster\n`);
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of table) console.log(line(r));
}

await main();
