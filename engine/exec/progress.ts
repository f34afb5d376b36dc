import type { Offset } from '../io/source.js';
import type { StateOperatorMetrics } from '../physical/exec-node.js';

/** Progress of one source in one batch (Spark's SourceProgress). */
export interface SourceProgress {
  description: string;
  startOffset: Offset | null;
  endOffset: Offset | null;
  latestOffset: Offset | null;
  numInputRows: number;
  inputRowsPerSecond: number;
  processedRowsPerSecond: number;
  metrics: Record<string, string>;
}

/** Progress of the sink in one batch. */
export interface SinkProgress {
  description: string;
  numOutputRows: number;
  metrics: Record<string, string>;
}

/**
 * One trigger's progress, Spark's StreamingQueryProgress with the same field names: of an executed batch (data or
 * no-data), or of an idle trigger that ran none (see `ranBatch`).
 */
export interface StreamingQueryProgress {
  id: string;
  runId: string;
  name: string | null;
  /** ISO-8601 time the trigger started. */
  timestamp: string;
  batchId: number;
  batchDuration: number;
  durationMs: Record<string, number>;
  /** min/max/avg of this batch's event time and the watermark it ran with (ISO strings); empty without a watermark. */
  eventTime: Record<string, string>;
  stateOperators: StateOperatorMetrics[];
  sources: SourceProgress[];
  sink: SinkProgress;
  numInputRows: number;
  inputRowsPerSecond: number;
  processedRowsPerSecond: number;
  /** Rows that could not be parsed and were routed to the dead-letter output in this batch. */
  numDeadLetterRows?: number;
}

/** What the query is doing now (Spark's StreamingQueryStatus). */
export interface StreamingQueryStatus {
  message: string;
  isDataAvailable: boolean;
  isTriggerActive: boolean;
}

/**
 * Whether `p` is the progress of an executed batch (data or no-data) rather than of an idle trigger. An idle trigger
 * records an entry too (at most once per `noDataProgressEventInterval`, as Spark's ProgressReporter), with the last
 * executed batch's id and, as in Spark, no `addBatch` duration: nothing was added to the sink.
 *
 * @example
 * const last = [...q.recentProgress].reverse().find(ranBatch); // the last batch this run executed, if any
 */
export function ranBatch(p: StreamingQueryProgress): boolean {
  return p.durationMs['addBatch'] !== undefined;
}
