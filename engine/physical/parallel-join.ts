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
 * sides together; 3.1 M rows by default). A batch query starts its threads for the join (about 0.22 s of wall time,
 * 0.25–0.4 s of CPU per thread), and splitting, shipping and gathering back cost about as much per row as the inline
 * kernel, so the second core pays off only where the inline join slows down with a build table bigger than the caches.
 * Measured on the 2-core machine (`test/bench/batch-join-bench.ts`, long keys): 1 M × 100 k, inline 105 ms, on two
 * threads 372 ms; 4 M × 400 k, inline 1.13 s, on two threads 0.72–0.79 s (string keys 3.31 → 1.62 s).
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
