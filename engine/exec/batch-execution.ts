import type { RecordBatch } from 'apache-arrow';
import type { LogicalPlan } from '../logical/plan.js';
import { checkBatchPlan } from '../logical/unsupported-operations.js';
import { planPhysical } from '../planner/planner.js';
import type { ExecContext } from '../physical/exec-node.js';
import type { ScanStats } from '../io/source.js';
import { windowTimeName } from '../physical/stateful-exec.js';
import { WindowAggregateExec } from '../physical/window-aggregate-exec.js';
import { SessionWindowExec } from '../physical/session-window-exec.js';
import { DeadLetters } from './dead-letters.js';
import { WorkerPool } from '../workers/pool.js';

/** Numbers of one run of a batch query (`df.lastMetrics`), the counterpart of a streaming query's progress. */
export interface BatchQueryMetrics {
  numOutputRows: number;
  /** Rows the file readers found malformed: kept in `_corrupt_record` (permissive) or dropped (dropMalformed). */
  numMalformedRows: number;
  /** Of those, the rows `dropMalformed` dropped. */
  numDroppedMalformedRows: number;
  /** Rows `fromJson`/`fromCsv` could not parse (see `deadLetterPath`). */
  numDeadLetterRows: number;
  /**
   * Per window aggregation, the rows it placed in no window because their time was null (see `StateOperatorMetrics`);
   * `column` is the time column's name, or null when the time is an expression.
   */
  rowsWithoutWindow: { column: string | null; window: string; rows: number }[];
}

/**
 * The warning a run prints when a window aggregation left rows out, or null: one line per window (usually one).
 *
 * @example
 * windowWarning({ ...metrics, rowsWithoutWindow: [{ column: 'ts', rows: 2 }] });
 */
export function windowWarning(m: BatchQueryMetrics): string | null {
  const kept = m.numMalformedRows - m.numDroppedMalformedRows;
  const lines = m.rowsWithoutWindow
    .filter((w) => w.rows > 0)
    .map((w) => {
      const time = w.column === null ? `the time of ${w.window}` : `'${w.column}'`;
      const malformed = kept > 0 ? `; ${kept} malformed line(s) were read in permissive mode, null in every column but _corrupt_record` : '';
      return (
        `sluice: ${w.rows} row(s) fell in no window: ${time} is null (null in the input, or not readable as a timestamp${malformed}). ` +
        `See them with where(col(${w.column === null ? '…' : `'${w.column}'`}).isNull()), or read with .option('mode', 'failFast') ` +
        `to stop at the first malformed line; df.lastMetrics counts them.`
      );
    });
  return lines.length > 0 ? lines.join('\n') : null;
}

/**
 * Runs a bounded plan once: every stateful operator sees all of its input and emits every group at the end (Spark's
 * batch semantics; watermarks are ignored). `report` receives the run's numbers when it ends; rows a window
 * aggregation could not place (a null time) are also announced in one warning per run. A plan Spark refuses in batch
 * (`checkBatchPlan`) fails on the first read.
 *
 * @example
 * for await (const batch of executeBatch(df.plan)) console.log(batch.numRows);
 */
export async function* executeBatch(
  plan: LogicalPlan,
  nowMs = Date.now(),
  parallel: { parallelism: number; thresholdRows: number } = { parallelism: 1, thresholdRows: Infinity },
  report?: (metrics: BatchQueryMetrics) => void,
): AsyncIterable<RecordBatch> {
  checkBatchPlan(plan);
  let pool = null as WorkerPool | null;
  const root = planPhysical(plan, { parallelism: parallel.parallelism });
  const deadLetters = new DeadLetters(null);
  const scanStats: ScanStats = { rows: 0, malformed: 0, dropped: 0 };
  let outputRows = 0;
  const ctx: ExecContext = {
    batchId: 0,
    streaming: false,
    outputMode: 'complete',
    lateWatermarkMs: Number.NEGATIVE_INFINITY,
    evictionWatermarkMs: Number.NEGATIVE_INFINITY,
    env: { batchTimestampMs: nowMs },
    inputs: new Map(),
    deadLetters,
    scanStats,
    workers: {
      parallelism: parallel.parallelism,
      thresholdRows: parallel.thresholdRows,
      // One batch: nothing to time it by first, so a big input is split at once.
      minRowNs: 0,
      pool: () => (pool ??= new WorkerPool(parallel.parallelism)),
    },
  };
  try {
    for await (const b of root.execute(ctx)) {
      outputRows += b.numRows;
      yield b;
    }
  } finally {
    await pool?.destroy();
  }
  if (deadLetters.count > 0) {
    console.warn(`sluice: ${deadLetters.count} row(s) could not be parsed${deadLetters.path ? '' : ' (pass deadLetterPath to keep them)'}.`);
  }
  const metrics: BatchQueryMetrics = {
    numOutputRows: outputRows,
    numMalformedRows: scanStats.malformed,
    numDroppedMalformedRows: scanStats.dropped,
    numDeadLetterRows: deadLetters.count,
    rowsWithoutWindow: root
      .statefulOperators()
      .filter((op): op is WindowAggregateExec | SessionWindowExec => op instanceof WindowAggregateExec || op instanceof SessionWindowExec)
      .filter((op) => op.analysis.window !== null)
      .map((op) => ({ column: windowTimeName(op.analysis, op.child.schema), window: op.analysis.window!.name, rows: op.metrics().numRowsWithoutWindow })),
  };
  const warning = windowWarning(metrics);
  if (warning !== null) console.warn(warning);
  report?.(metrics);
}
