/**
 * Stream–stream inner join throughput: two memory streams of `N` rows each (ad impressions 5 ms apart, one click per
 * ad 0–60 s after its impression) joined on the ad within an hour (each side's state holds about the last hour), in micro-batches of 64 k rows per side, at
 * parallelism 1 and 2. Input rows of both sides per second of wall time (Arrow batches built before the clock starts),
 * and per CPU second of all the process's threads (steadier on a busy machine), with the state rows held at the end. Not a test: nothing asserts on time.
 *
 *   npx tsx test/bench/ad-join-bench.ts [rowsPerSide]
 */
import { Session } from '../../engine/index.js';
import { adBatches, adJoin } from './ad-join-query.js';

const N = Number(process.argv[2] ?? 1_000_000);

async function run(parallelism: number): Promise<{ rowsPerSec: number; rowsPerCpuSec: number; stateRows: number; output: number }> {
  const session = new Session({ conf: { parallelism, ...(parallelism > 1 ? { parallelThresholdRows: 1, parallelMinRowNs: 0 } : {}) } });
  const { imp, clk, df } = adJoin(session);
  let output = 0;
  const q = df.writeStream.foreachBatch(async (b) => void (output += (await b.toBatches()).reduce((n, x) => n + x.numRows, 0))).start();
  const ic = adBatches(N, false);
  const cc = adBatches(N, true);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < ic.length; i++) {
    imp.addBatches([ic[i]!]);
    clk.addBatches([cc[i]!]);
    await q.processAllAvailable();
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  if (process.env['PHASES']) {
    const sum: Record<string, number> = {};
    for (const p of q.recentProgress) for (const [k, v] of Object.entries(p.durationMs)) sum[k] = (sum[k] ?? 0) + v;
    const ops: Record<string, number> = {};
    for (const p of q.recentProgress) for (const o of p.stateOperators) for (const k of ['allUpdatesTimeMs', 'allRemovalsTimeMs', 'commitTimeMs'] as const) ops[k] = (ops[k] ?? 0) + o[k];
    console.error(parallelism, Math.round(ms), JSON.stringify(sum), JSON.stringify(ops));
  }
  const stateRows = q.lastProgress?.stateOperators[0]?.numRowsTotal ?? 0;
  await q.stop();
  return { rowsPerSec: (2 * N) / (ms / 1000), rowsPerCpuSec: (2 * N) / ((cpu.user + cpu.system) / 1e6), stateRows, output };
}

console.log(`| parallelism | input rows/s (both sides) | per CPU second (all threads) | output rows | state rows at the end |`);
console.log(`|---|---|---|---|---|`);
for (const p of (process.env['ONLY'] ?? '1,2').split(',').map(Number)) {
  const r = await run(p);
  console.log(`| ${p} | ${(r.rowsPerSec / 1e6).toFixed(2)} M | ${(r.rowsPerCpuSec / 1e6).toFixed(2)} M | ${r.output} | ${r.stateRows} |`);
}
process.exit(0);
