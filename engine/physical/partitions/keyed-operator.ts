/**
 * The keyed-operator contract: the per-partition half of every stateful operator (aggregations, session windows,
 * dedup, `transformWithState`, and two-input operators such as joins). An operator here only computes: it folds the
 * rows of its partition into keyed state and finishes the batch. Where it runs (inline, on a worker thread, later in
 * another process) is the runtime's decision (`PartitionRunner`, the placement policy); how its state reaches disk is
 * the state layer's (`engine/state/`), from the named tables the operator declares.
 *
 * An operator kind is registered once (`defineOperatorKind`) with a factory from a plain-data spec, so that a worker
 * thread builds the same partition from the same spec. Required: `absorb` (fold) and `finish`. Optional: `startBatch`,
 * `mapSide` (map-side partial aggregation before the exchange), `takeEviction` (an eviction recorded instead of delete
 * rows), `onCommit`.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import type { OutputMode } from '../../io/sink.js';
import type { Vec } from '../../kernels/vec.js';
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
  /** The query's id and this run's (streaming queries; `getQueryInfo()` of a processor). */
  readonly queryId?: string;
  readonly runId?: string;
}

/**
 * One named state table of an operator partition. Rows are key columns first (`keyCount`), then values; a table is
 * versioned per batch like every state (deltas with `__op`, snapshots, CRC) under
 * `state/<op>/<partition>/<name>/` — the name `''` is the partition folder itself (the layout of the three built-in
 * operators' single table before named tables, so their checkpoints keep restoring).
 */
export interface StateTable {
  readonly name: string;
  readonly schema: Schema;
  readonly keyCount: number;
  /** Columns of this table's rows whose hash decides the row's partition (the operator's grouping key). */
  readonly partitionKeyColumns: readonly number[];
  /** Time to live of the table's values in processing time, or null: shown by `sluice state`. */
  readonly ttlMs: number | null;
  /** What the rows hold: user state (`value`, `list`, `map`), `timers`, or the operator's own `internal` rows. */
  readonly role: 'internal' | 'value' | 'list' | 'map' | 'timers';
}

/** Numbers a partition reports after `finish`. */
export interface PartitionMetrics {
  numRowsTotal: number;
  numRowsUpdated: number;
  numRowsRemoved: number;
  numRowsDroppedByWatermark: number;
  memoryUsedBytes: number;
  /** Operator-specific counters (summed over partitions), shown as the operator's `customMetrics` in progress. */
  custom?: Record<string, number>;
  /**
   * The earliest time something of this partition falls due in processing time (the batch timestamp's clock:
   * processing-time timers, TTL expiries), or null: the runtime asks for a no-data batch once its clock reaches it.
   */
  nextDueMs?: number | null;
  /**
   * The earliest time something falls due in event time (event-time timers), or null: a no-data batch is worth
   * running once the watermark reaches it.
   */
  nextWatermarkDueMs?: number | null;
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

/** Optional map side: a chunk pre-aggregated without state, split by owner, then folded in at each owner. */
export interface MapSide {
  /** The rows `partial` sends each owner; late keys are the first table's key columns. */
  readonly partialSchema: Schema;
  /**
   * How big inputs on worker threads reach the owners until the observed partial ratio says otherwise: `map`
   * (default) pre-aggregates from the start; `direct` splits rows by key on the calling thread and leaves this map
   * side unused (sessions and dedup: their partials are about as many rows as their input).
   */
  readonly firstRoute?: 'map' | 'direct';
  partial(batch: RecordBatch, seqBase: number, info: BatchInfo, partitions: number): PartialResult;
  absorbPartial(partial: RecordBatch | null, lateKeys: RecordBatch | null, lateRows: number, info: BatchInfo, panes: boolean): void;
}

/** One partition of a keyed operator. */
export interface KeyedOperator {
  /** The state tables, the first being the operator's main table. Fixed for the operator's life. */
  readonly tables: readonly StateTable[];
  /** The rows `finish` emits. */
  readonly outputSchema: Schema;
  /** Before the first input of a batch. */
  startBatch?(info: BatchInfo): void;
  /** Folds rows of input `input` (0, or 1 for the right side of a two-input operator) into the state. */
  absorb(batch: RecordBatch, seqBase: number, info: BatchInfo, input: number): void;
  /** Emits per output mode, fires due timers, expires and evicts, and reports numbers for the batch. */
  finish(info: BatchInfo): { output: RecordBatch | null; metrics: PartitionMetrics };
  /** Map-side partial aggregation, when the operator can pre-aggregate a chunk without its state. */
  readonly mapSide?: MapSide;
  /** Changes of `table` since the last call, as a delta batch (`__op`, then the table's columns), or null. */
  takeDelta(table: string): RecordBatch | null;
  /**
   * Rows of `table` evicted by the watermark since the last call without delete rows in `takeDelta`'s delta, or
   * null: the commit records the eviction instead, and loading the state replays it (see `StateStore.load`).
   */
  takeEviction?(table: string): StateEviction | null;
  /** Every row of `table`. */
  snapshot(table: string): RecordBatch | null;
  /** Loads every table's rows (already filtered to this partition); a table missing from the map is empty. */
  restore(tables: ReadonlyMap<string, RecordBatch | null>): void;
  /** After the batch's state was written (e.g. to drop what only the commit needed). */
  onCommit?(version: number): void;
}

/** What every operator spec carries (plain data: it crosses to worker threads and is built again there). */
export interface KeyedOperatorSpec {
  /** The registered kind (`defineOperatorKind`). */
  readonly kind: string;
  /** The schema of each input, in input order (one for most operators, two for a join). */
  readonly inputSchemas: readonly Schema[];
}

/** How the runtime handles one kind of keyed operator. */
export interface OperatorKind<S extends KeyedOperatorSpec = KeyedOperatorSpec> {
  readonly kind: string;
  /** Builds an empty partition. May be async (a user processor loaded from its module on a worker thread). */
  create(spec: S): KeyedOperator | Promise<KeyedOperator>;
  /** The input rows' key columns whose hash decides their partition: the exchange's partitioning. */
  inputKeys(spec: S, batch: RecordBatch, input: number, info: BatchInfo): Vec[];
  /**
   * The spec reading only the input columns the operator uses, and those columns' ordinals per input (null: every
   * column): worker threads get batches of just these columns. Default: every column.
   */
  project?(spec: S): { spec: S; columns: (number[] | null)[] };
  /** How the exchange appears in `explain()`: the key expressions, e.g. `['user']`. */
  describeKeys(spec: S): string[];
  /** Whether a spec of this kind can be built on a worker thread (false: the operator stays on the calling thread). */
  movable?(spec: S): boolean;
  /** Why a spec that is not `movable` stays on the calling thread, and how to change that (for the query's log). */
  pinnedBecause?(spec: S): string;
}

const kinds = new Map<string, OperatorKind<never>>();

/**
 * Registers an operator kind; modules that define one call this at load time (the worker entry imports them too).
 *
 * @example
 * defineOperatorKind({ kind: 'dedup', create: (s) => new DedupPartition(s.dedup, s.inputSchemas[0]!), inputKeys: …, describeKeys: … });
 */
export function defineOperatorKind<S extends KeyedOperatorSpec>(k: OperatorKind<S>): OperatorKind<S> {
  kinds.set(k.kind, k as unknown as OperatorKind<never>);
  return k;
}

/** Thrown when a spec names a kind no loaded module registered. */
export class UnknownOperatorKindError extends Error {
  override readonly name = 'UnknownOperatorKindError';
}

/**
 * The registered kind of a spec.
 *
 * @example
 * const op = await operatorKind(spec).create(spec);
 */
export function operatorKind<S extends KeyedOperatorSpec>(spec: S): OperatorKind<S> {
  const k = kinds.get(spec.kind);
  if (!k) {
    throw new UnknownOperatorKindError(
      `No stateful operator kind '${spec.kind}' is registered (known: ${[...kinds.keys()].join(', ')}). Import the module that defines it before the query starts.`,
    );
  }
  return k as unknown as OperatorKind<S>;
}
