import type { RecordBatch } from 'apache-arrow';
import type { LogicalPlan } from '../logical/plan.js';
import { checkBatchPlan } from '../logical/unsupported-operations.js';
import { planPhysical } from '../planner/planner.js';
import type { ExecContext } from '../physical/exec-node.js';
import { DeadLetters } from './dead-letters.js';
import { WorkerPool } from '../workers/pool.js';

/**
 * Runs a bounded plan once: every stateful operator sees all of its input and emits every group at the end (Spark's
 * batch semantics; watermarks are ignored). A plan Spark refuses in batch (`checkBatchPlan`) fails on the first read.
 *
 * @example
 * for await (const batch of executeBatch(df.plan)) console.log(batch.numRows);
 */
export async function* executeBatch(
  plan: LogicalPlan,
  nowMs = Date.now(),
  parallel: { parallelism: number; thresholdRows: number } = { parallelism: 1, thresholdRows: Infinity },
): AsyncIterable<RecordBatch> {
  checkBatchPlan(plan);
  let pool = null as WorkerPool | null;
  const root = planPhysical(plan);
  const deadLetters = new DeadLetters(null);
  const ctx: ExecContext = {
    batchId: 0,
    streaming: false,
    outputMode: 'complete',
    lateWatermarkMs: Number.NEGATIVE_INFINITY,
    evictionWatermarkMs: Number.NEGATIVE_INFINITY,
    env: { batchTimestampMs: nowMs },
    inputs: new Map(),
    deadLetters,
    workers: {
      parallelism: parallel.parallelism,
      thresholdRows: parallel.thresholdRows,
      // One batch: nothing to time it by first, so a big input is split at once.
      minRowNs: 0,
      pool: () => (pool ??= new WorkerPool(parallel.parallelism)),
    },
  };
  try {
    yield* root.execute(ctx);
  } finally {
    await pool?.destroy();
  }
  if (deadLetters.count > 0) {
    console.warn(`sluice: ${deadLetters.count} row(s) could not be parsed${deadLetters.path ? '' : ' (pass deadLetterPath to keep them)'}.`);
  }
}
