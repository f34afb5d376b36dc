/**
 * The per-partition half of a stateful operator: everything that touches keyed state. The operator's exec node runs
 * one partition inline (parallelism 1) or one per worker thread; either way the partition sees the same calls.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import type { OutputMode } from '../../io/sink.js';
import type { Schema } from '../../types/data-type.js';
import type { StateEviction } from '../../state/state-store.js';

/** The batch-level facts a partition needs (plain data: it crosses to worker threads). */
export interface BatchInfo {
  readonly batchId: number;
  readonly streaming: boolean;
  readonly outputMode: OutputMode;
  readonly lateWatermarkMs: number;
  readonly evictionWatermarkMs: number;
  readonly batchTimestampMs: number;
}

/** Map-side output of one input chunk: partial state and late keys for each target partition. */
export interface PartialResult {
  readonly partials: (RecordBatch | null)[];
  /** Aggregations: late group keys per partition (counted distinct by the owner). */
  readonly lateKeys: (RecordBatch | null)[];
  /** Sessions and dedup: late rows, counted one by one. */
  readonly lateRows: number;
  /**
   * Sliding windows: the partials are per (pane, key), a pane being one slide, with the pane's start in the window
   * start column; the owner merges each into its windows (`AggregateState.mergeWindowsOf`).
   */
  readonly panes?: boolean;
}

/** Numbers a partition reports after `finish`. */
export interface PartitionMetrics {
  numRowsTotal: number;
  numRowsUpdated: number;
  numRowsRemoved: number;
  numRowsDroppedByWatermark: number;
  memoryUsedBytes: number;
}

/** One partition of a stateful operator. */
export interface PartitionOperator {
  /** State rows: key columns first (`stateKeyCount` of them), then values. */
  readonly stateSchema: Schema;
  readonly stateKeyCount: number;
  /** The rows `finish` emits. */
  readonly outputSchema: Schema;
  /** The rows `partial` sends each owner (state rows, or input rows for dedup); late keys are state key columns. */
  readonly partialSchema: Schema;
  /** Before the first input of a batch. */
  startBatch(info: BatchInfo): void;
  /** Folds raw input rows (of the operator's input schema) into the state. */
  absorb(batch: RecordBatch, seqBase: number, info: BatchInfo): void;
  /** Map side: aggregates a chunk on its own (no state) and splits the result by owner partition. */
  partial(batch: RecordBatch, seqBase: number, info: BatchInfo, partitions: number): PartialResult;
  /** Reduce side: folds one chunk's partial result for this partition into the state (`panes`: see `PartialResult`). */
  absorbPartial(partial: RecordBatch | null, lateKeys: RecordBatch | null, lateRows: number, info: BatchInfo, panes: boolean): void;
  /** Emits per output mode, evicts, and reports numbers for the batch. */
  finish(info: BatchInfo): { output: RecordBatch | null; metrics: PartitionMetrics };
  /** State changes since the last call, as a delta batch (`__op`, state columns). */
  takeDelta(): RecordBatch | null;
  /**
   * Groups evicted by the watermark since the last call without delete rows in `takeDelta`'s delta, or null: the
   * commit records the eviction instead, and loading the state replays it (see `StateStore.load`).
   */
  takeEviction?(): StateEviction | null;
  /** Every state row. */
  snapshot(): RecordBatch | null;
  /** Loads state rows (already filtered to this partition). */
  restore(rows: RecordBatch | null): void;
  /** State columns that decide a row's partition (the grouping keys, not the window), for re-partitioning on restore. */
  readonly partitionKeyColumns: readonly number[];
}
