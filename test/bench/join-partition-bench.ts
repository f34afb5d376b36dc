/**
 * The stream–stream join operator alone (one `JoinPartition`, no query, no I/O): the join benchmark's impressions and
 * clicks (`ad-join-bench.ts`), 1 M rows per side in 64 k-row batches, the watermark 20 s behind the newest click. Prints
 * the state delta rows written and the time spent in startBatch (compaction), absorb, finish (eviction) and takeDelta, and input rows per second of
 * their sum (and per CPU second, steadier on a busy machine). Not a test: nothing asserts on time.
 *
 *   npx tsx test/bench/join-partition-bench.ts [rowsPerSide]
 */
import type { RecordBatch } from 'apache-arrow';
import { Session } from '../../engine/index.js';
import { AD_CHUNK, adBatches, adJoin } from './ad-join-query.js';
import type { ExecNode } from '../../engine/physical/exec-node.js';
import { JoinPartition } from '../../engine/physical/partitions/join-partition.js';
import type { BatchInfo } from '../../engine/physical/partitions/keyed-operator.js';
import { StreamingJoinExec } from '../../engine/physical/streaming-join-exec.js';
import { planPhysical } from '../../engine/planner/planner.js';

const N = Number(process.argv[2] ?? 1_000_000);

const session = new Session();
const { df } = adJoin(session);
const find = (n: ExecNode): StreamingJoinExec | null => (n instanceof StreamingJoinExec ? n : (n.children.map(find).find((x) => x !== null) ?? null));
const spec = find(planPhysical(df.plan))!.spec;

const batches: [RecordBatch, RecordBatch][] = [];
const impressions = adBatches(N, false);
const clicks = adBatches(N, true);
impressions.forEach((b, i) => batches.push([b, clicks[i]!]));
const p = new JoinPartition(spec);
const ms = { startBatch: 0, absorb: 0, finish: 0, takeDelta: 0 };
let wm = 0;
let output = 0;
let stateRows = 0;
let deltaRows = 0;
let cpuUs = 0;
const timed = <T>(k: keyof typeof ms, f: () => T): T => {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = f();
  const c = process.cpuUsage(c0);
  cpuUs += c.user + c.system;
  ms[k] += performance.now() - t0;
  return r;
};
batches.forEach(([l, r], b) => {
  const info: BatchInfo = { batchId: b, streaming: true, outputMode: 'append', lateWatermarkMs: wm, evictionWatermarkMs: wm, batchTimestampMs: 0 };
  timed('startBatch', () => p.startBatch());
  timed('absorb', () => {
    p.absorb(l, b * 2 ** 30, info, 0);
    p.absorb(r, b * 2 ** 30 + l.numRows, info, 1);
  });
  const done = timed('finish', () => p.finish(info));
  output += done.output?.numRows ?? 0;
  stateRows = done.metrics.numRowsTotal;
  timed('takeDelta', () => {
    deltaRows += (p.takeDelta('left')?.numRows ?? 0) + (p.takeDelta('right')?.numRows ?? 0);
  });
  wm = Date.UTC(2026, 0, 1) + (b + 1) * AD_CHUNK * 5 - 20_000;
});
const total = Object.values(ms).reduce((a, b) => a + b, 0);
console.log(`ms: ${JSON.stringify(Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, Math.round(v)])))}`);
console.log(`${output} rows out, ${stateRows} state rows at the end, ${deltaRows} state delta rows, ${((2 * N) / (total / 1000) / 1e6).toFixed(2)} M input rows/s (${((2 * N) / (cpuUs / 1e6) / 1e6).toFixed(2)} M per CPU second)`);
