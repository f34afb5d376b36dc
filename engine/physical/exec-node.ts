/**
 * The physical operator contract. One tree of operators is built per query run; a batch query executes it once, a
 * streaming query once per micro-batch, with stateful operators keeping their state between executions.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import type { OutputMode } from '../io/sink.js';
import type { ScanStats } from '../io/source.js';
import type { EvalEnv } from '../kernels/expr-kernel.js';
import type { Schema } from '../types/data-type.js';
import type { WorkerContext } from '../workers/partition-runner.js';

/** What one execution (one micro-batch, or the whole batch query) runs with. */
export interface ExecContext {
  readonly batchId: number;
  /** False for batch queries: no lateness, no eviction, every group emitted at the end. */
  readonly streaming: boolean;
  readonly outputMode: OutputMode;
  /** Watermark for dropping late rows: the previous batch's (0 for batch 0). */
  readonly lateWatermarkMs: number;
  /** Watermark for eviction and append emission: this batch's. */
  readonly evictionWatermarkMs: number;
  readonly env: EvalEnv;
  /** This batch's rows of each streaming source, by the source's key. */
  readonly inputs: ReadonlyMap<object, () => AsyncIterable<RecordBatch>>;
  /** Malformed rows routed aside by parsing operators (dead-letter output). */
  readonly deadLetters?: DeadLetterCollector;
  /** What the batch scans of this run count (malformed lines of the text readers). */
  readonly scanStats?: ScanStats;
  /** Parallelism and the (lazily started) worker pool of this run. */
  readonly workers: WorkerContext;
  /** The query's id (stable across restarts) and this run's id; absent for batch queries. */
  readonly query?: { readonly id: string; readonly runId: string };
}

/** Where rows that could not be parsed go, with the reason; counted in progress. */
export interface DeadLetterCollector {
  add(rows: RecordBatch, schema: Schema, reason: string): void;
}

/** Per-batch numbers of a stateful operator (Spark's StateOperatorProgress). */
export interface StateOperatorMetrics {
  operatorName: string;
  numRowsTotal: number;
  numRowsUpdated: number;
  numRowsRemoved: number;
  numRowsDroppedByWatermark: number;
  /**
   * Rows a window aggregation placed in no window because their time was null: null in the input, or a value that
   * could not be read as a timestamp (a malformed line read in permissive mode is null in every column). Spark drops
   * them without a count.
   */
  numRowsWithoutWindow: number;
  memoryUsedBytes: number;
  allUpdatesTimeMs: number;
  allRemovalsTimeMs: number;
  commitTimeMs: number;
  numShufflePartitions: number;
  numStateStoreInstances: number;
  /** Operator-specific counters summed over partitions (`PartitionMetrics.custom`); absent when there are none. */
  customMetrics?: Record<string, number>;
  /** Why the operator runs on the calling thread although the query has `parallelism` > 1 (absent otherwise). */
  placementNote?: string;
}

/** A stateful operator as the streaming executor sees it. */
export interface StatefulOperator {
  /** Position in plan order; names the `state/<id>/` folder. */
  operatorId: number;
  readonly operatorName: string;
  /** A stable description of the state's layout, checked against the checkpoint on restart. */
  stateSignature(): string;
  /**
   * Loads state version `version` (the state after batch `version − 1`), which `written` partitions wrote (see
   * `commits/N`). `lastEvictionWatermarkMs` is the eviction watermark batch `version − 1` ran with (its
   * `offsets/N.batchWatermarkMs`; null for version 0) and `outputMode` the query's, so that `needsNoDataBatch`
   * answers after a restart exactly as it would have in the run that wrote the version.
   */
  restore(
    stateDir: (partition: number) => string,
    version: number,
    written: number,
    ctx: { workers: WorkerContext; lastEvictionWatermarkMs: number | null; outputMode: OutputMode },
  ): Promise<void>;
  /** How many partitions hold the state now (1 inline, else one per worker). */
  readonly statePartitions: number;
  /** Persists this batch's changes as version `version`. */
  commit(stateDir: (partition: number) => string, version: number, snapshot: boolean): Promise<void>;
  /** Deletes state files not needed for versions ≥ `minVersion`. */
  purge(stateDir: (partition: number) => string, minVersion: number): Promise<void>;
  /** Numbers for the batch just executed. */
  metrics(): StateOperatorMetrics;
  /** Spark's shouldRunAnotherBatch: would a no-data batch with this watermark emit or evict something? */
  needsNoDataBatch(newWatermarkMs: number): boolean;
  /**
   * Whether something of this operator falls due by processing time `nowMs` (a processing-time timer, a TTL
   * expiry): asked at every trigger, also after idle ones, so that a no-data batch fires it without new input.
   */
  dueByProcessingTime?(nowMs: number): boolean;
}

/** Event-time statistics a watermark operator gathers over one batch. */
export interface EventTimeStats {
  count: number;
  min: number;
  max: number;
  sum: number;
}

/** The base of every physical operator. */
export abstract class ExecNode {
  abstract readonly schema: Schema;
  abstract readonly children: readonly ExecNode[];
  /** Runs the operator for one execution. */
  abstract execute(ctx: ExecContext): AsyncIterable<RecordBatch>;
  /** One line: `FilterExec: (amount > 0)`. */
  abstract describe(): string;

  /** The tree, one operator per line. */
  toString(): string {
    const lines: string[] = [];
    const walk = (n: ExecNode, depth: number) => {
      lines.push(`${'  '.repeat(depth)}${n.describe()}`);
      for (const c of n.children) walk(c, depth + 1);
    };
    walk(this, 0);
    return lines.join('\n');
  }

  /**
   * The children whose stateful operators belong to this query's state (default: every child). A stream–static
   * join leaves out its static side, whose operators are rebuilt with it and never checkpointed.
   */
  get stateChildren(): readonly ExecNode[] {
    return this.children;
  }

  /** Stateful operators in this subtree, in plan order (parents first). */
  statefulOperators(): StatefulOperator[] {
    const out: StatefulOperator[] = [];
    const walk = (n: ExecNode) => {
      if (isStateful(n)) out.push(n);
      n.stateChildren.forEach(walk);
    };
    walk(this);
    return out;
  }
}

/** True for operators that keep state between micro-batches. */
export function isStateful(n: ExecNode): n is ExecNode & StatefulOperator {
  return typeof (n as unknown as StatefulOperator).commit === 'function' && typeof (n as unknown as StatefulOperator).restore === 'function';
}

/** Collects an async iterable into an array. */
export async function collectBatches(it: AsyncIterable<RecordBatch>): Promise<RecordBatch[]> {
  const out: RecordBatch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

/** Fresh zeroed metrics. */
export function emptyMetrics(operatorName: string): StateOperatorMetrics {
  return {
    operatorName,
    numRowsTotal: 0,
    numRowsUpdated: 0,
    numRowsRemoved: 0,
    numRowsDroppedByWatermark: 0,
    numRowsWithoutWindow: 0,
    memoryUsedBytes: 0,
    allUpdatesTimeMs: 0,
    allRemovalsTimeMs: 0,
    commitTimeMs: 0,
    numShufflePartitions: 1,
    numStateStoreInstances: 1,
  };
}
