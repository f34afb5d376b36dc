/**
 * A big batch join on the worker threads: both sides split by the hash of their join keys (the same function as the
 * stateful operators' exchange, over the keys cast to their join type, so equal keys meet whatever side they come
 * from), and each partition joined on its own thread by the same kernel (`joinBatches`). Every row lands in exactly
 * one partition, so a preserved side's unmatched rows are emitted once, by the partition that holds them, and the
 * result is the inline join's rows (in another order).
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import { partitionIds, rowsByPartition } from '../kernels/hash-kernel.js';
import { concatBatches, joinKeyVecs, type JoinSpec } from '../kernels/join-kernel.js';
import { emptyBatch } from '../types/values.js';
import type { Schema } from '../types/data-type.js';
import type { WorkerContext } from '../workers/partition-runner.js';
import { fromWire, gatherToWire, toWire, wireTransferables, type WireBatch } from '../workers/wire.js';
import type { ExecContext } from './exec-node.js';

/**
 * A batch join runs on the worker threads from this many times the run's `parallelThresholdRows` input rows (both
 * sides together; 3.1 M rows by default). A batch query starts its threads for the join (measured here: 0.25–0.4 s of
 * CPU each to load the worker, 0.3–0.8 s of wall time on the shared 2-core machine), splitting and shipping costs
 * about 0.06–0.09 µs per row, and the inline kernel about 0.35 µs per input row (a 3 M × 300 k long-key join: 1.0–1.2
 * s of CPU inline, 1.7–2.1 s with two threads): the second core pays for the threads' start only from a few million
 * rows on.
 */
export const PARALLEL_JOIN_THRESHOLD_FACTOR = 48;

/**
 * Whether a join of `rows` input rows runs on the worker threads: parallelism above 1, an equi-key to split by, and
 * at least `PARALLEL_JOIN_THRESHOLD_FACTOR` × `parallelThresholdRows` rows.
 *
 * @example
 * parallelJoinWorthIt(spec, 4_000_000, ctx.workers); // true with parallelism 2 and the default threshold
 */
export function parallelJoinWorthIt(spec: JoinSpec, rows: number, workers: WorkerContext): boolean {
  return workers.parallelism > 1 && spec.keys.length > 0 && rows >= PARALLEL_JOIN_THRESHOLD_FACTOR * workers.thresholdRows;
}

/** One side's rows split into `P` wire batches by key hash. */
function split(batches: readonly RecordBatch[], schema: Schema, keys: JoinSpec['keys'], left: boolean, P: number, env: ExecContext['env']): WireBatch[] {
  const all = batches.length === 0 ? emptyBatch(schema) : batches.length === 1 ? batches[0]! : concatBatches(batches, schema);
  const n = all.numRows;
  const vecs = joinKeyVecs(keys.map((k) => (left ? k.left : k.right)), keys.map((k) => k.type), all, schema, env);
  const sels = rowsByPartition(partitionIds(vecs, null, n, P), P);
  return sels.map((sel) => (sel.length === n ? toWire(all, schema) : gatherToWire(all, schema, sel)));
}

/**
 * The join's output, its partitions joined on the worker pool (one partition per thread).
 *
 * @example
 * for await (const b of joinInParallel(spec, leftBatches, rightBatches, ctx)) emit(b);
 */
export async function* joinInParallel(spec: JoinSpec, left: readonly RecordBatch[], right: readonly RecordBatch[], ctx: ExecContext): AsyncIterable<RecordBatch> {
  const pool = ctx.workers.pool();
  const P = pool.size;
  const l = split(left, spec.leftSchema, spec.keys, true, P, ctx.env);
  const r = split(right, spec.rightSchema, spec.keys, false, P, ctx.env);
  const results = await Promise.all(
    Array.from({ length: P }, (_, p) =>
      pool.run(p, { type: 'join', spec, left: l[p]!, right: r[p]!, batchTimestampMs: ctx.env.batchTimestampMs }, wireTransferables([l[p], r[p]])),
    ),
  );
  for (const res of results) {
    if (res.type !== 'joined') continue;
    for (const w of res.outputs) yield fromWire(w);
  }
}
