/**
 * `npm run bench` (`-- --quick` for a ~30-second version): every benchmark in one run, each printing its table with
 * ratios against DuckDB (or the reference it names) computed in the same run. Benchmarks are not tests: nothing here
 * asserts on time.
 *
 *   windows   10M events, tumbling / sliding / session aggregations, sluice vs DuckDB (1 thread)
 *   nexmark   q0 q1 q2 q5 q7 q11 q12 with parallelism 1 and 2, peak RSS, vs DuckDB with 1 and 2 threads
 *   kafka     broker → Arrow, source → sink, end to end, exactly-once sink, latency at a fixed rate
 *   lake      rows/s into a partitioned Delta table, per-commit overhead
 *   parquet   parquet-wasm write/read rows/s vs DuckDB
 *   stateful  failed-login detector (transformWithState) over 10M logins, parallelism 1 and 2, vs a hand-written Map loop
 *   joins     10M × 1M equi-join from Parquet (long and string key), parallelism 1, 2 and default, vs DuckDB 1 and 2
 *             threads; Nexmark q3 and q8 (stream–stream joins of persons and auctions) at parallelism 1 and 2
 *   ad-join   stream–stream inner join (impressions × clicks within an hour), 1M rows per side, parallelism 1 and 2
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const here = import.meta.dirname;

const benches: { name: string; file: string; full: string[]; quick: string[]; env?: Record<string, string> }[] = [
  { name: 'windows', file: 'window-bench.ts', full: [], quick: ['--quick'] },
  { name: 'nexmark', file: 'nexmark.ts', full: [], quick: ['--quick'] },
  { name: 'kafka', file: 'kafka-bench.ts', full: ['1000000'], quick: ['200000'], env: quick ? { SECONDS: '5' } : {} },
  { name: 'lake', file: 'lake-bench.ts', full: ['2000000'], quick: ['300000'] },
  { name: 'parquet', file: 'parquet-bench.ts', full: ['1000000'], quick: ['200000'] },
  { name: 'stateful', file: 'stateful-bench.ts', full: [], quick: ['--quick'] },
  { name: 'joins', file: 'join-bench.ts', full: [], quick: ['--quick'] },
  { name: 'ad-join', file: 'ad-join-bench.ts', full: ['1000000'], quick: ['200000'] },
];

const started = Date.now();
for (const b of benches) {
  if (only && !only.includes(b.name)) continue;
  const file = join(here, b.file);
  if (!existsSync(file)) {
    console.log(`\n## ${b.name}: ${b.file} is missing`);
    continue;
  }
  console.log(`\n## ${b.name}${quick ? ' (quick)' : ''}`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', file, ...(quick ? b.quick : b.full)], {
    stdio: 'inherit',
    env: { ...process.env, ...b.env },
  });
  console.log(`(${b.name}: ${((Date.now() - t0) / 1000).toFixed(0)} s${r.status !== 0 ? `, exit ${r.status}` : ''})`);
}
console.log(`\nall benchmarks: ${((Date.now() - started) / 1000).toFixed(0)} s on ${process.platform} ${process.arch}, Node ${process.version}`);
