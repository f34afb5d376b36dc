import type { Table } from 'apache-arrow';
import type { Schema } from '../types/data-type.js';

/** How a streaming query writes its result table: see `DataStreamWriter.outputMode`. */
export type OutputMode = 'append' | 'update' | 'complete';

/** What a sink learns about the batch it is handed. */
export interface SinkBatchInfo {
  /** The query's stable id (the checkpoint's `metadata`), the same across restarts. */
  readonly queryId: string;
  /** This run's id: new on every start. */
  readonly runId: string;
  readonly outputMode: OutputMode;
  readonly schema: Schema;
}

/**
 * Where a streaming query's batches go. `addBatch(N)` may be called again for a batch id that was already handed
 * over (a restart re-runs the last uncommitted batch): the sink must recognise it and not write the rows twice.
 */
export interface StreamingSink {
  /** One line shown in progress (`sink.description`) and in `explain()`. */
  readonly description: string;
  /**
   * Writes batch `batchId`. `data` holds every output row of the batch (possibly zero rows). Resolves once the batch
   * is durable (or, for at-most-once sinks, handed off).
   */
  addBatch(batchId: number, data: Table, info: SinkBatchInfo): Promise<void>;
  /** Output modes this sink accepts; default all. */
  readonly supportedOutputModes?: readonly OutputMode[];
  /** Releases resources; called when the query stops. */
  close?(): Promise<void>;
  /** Sink-specific numbers for progress (`sink.metrics`). */
  metrics?(): Record<string, string>;
}

/** How a batch `df.write` treats an existing target. */
export type SaveMode = 'append' | 'overwrite' | 'errorIfExists' | 'ignore';
