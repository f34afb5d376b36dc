/**
 * The streaming sink into a Delta table: one commit per micro-batch, made idempotent by the `txn` action
 * (`appId` = the query id, `version` = the batch id), so a batch re-run after a restart is recognised and skipped.
 *
 * @module
 */
import type { Table } from 'apache-arrow';
import type { OutputMode, SinkBatchInfo, StreamingSink } from '../../engine/io/sink.js';
import type { ParquetCompression } from '../parquet/index.js';
import { DeltaOptionsError } from './delta-errors.js';
import { parseDeltaOptions } from './delta-options.js';
import { DEFAULT_OPTIMIZE_TARGET, DeltaTable, type DeltaTableOptions, type DeltaWriteOptions } from './delta-table.js';

/** Options of `DeltaSink`. */
export interface DeltaSinkOptions {
  /** The table folder. */
  readonly path: string;
  /** Partition columns when the sink creates the table (must match an existing table's). */
  readonly partitionBy?: readonly string[];
  readonly maxRecordsPerFile?: number;
  readonly targetFileSize?: number;
  readonly compression?: ParquetCompression;
  /**
   * Compact small files after a batch's commit, once the table holds `autoCompactMinNumFiles` files smaller than
   * the compaction target: `true`/`false`, or unset to follow the table property `delta.autoOptimize.autoCompact`
   * (Delta's name; off when absent).
   */
  readonly autoCompact?: boolean;
  /** How many small files start a compaction; default 50 (Delta's `autoCompact.minNumFiles`). */
  readonly autoCompactMinNumFiles?: number;
  /** Passed to `DeltaTable.forPath` (test hooks). */
  readonly table?: DeltaTableOptions;
}

/** Small files that start an auto-compaction when no `autoCompactMinNumFiles` is given (Delta's default). */
export const DEFAULT_AUTO_COMPACT_MIN_FILES = 50;

/**
 * Writes each micro-batch to a Delta table. `append` and `update` output modes append the batch's rows; `complete`
 * overwrites the whole table in one commit. Every commit carries `txn { appId: queryId, version: batchId }`.
 *
 * Small batches make small files. With auto-compaction on, a batch whose commit leaves at least
 * `autoCompactMinNumFiles` files below the target size (`targetFileSize`, default 128 MiB) is followed by an
 * `optimize` commit that rewrites them (`dataChange: false`: readers and streaming sources see the same rows). A
 * crash between the two commits leaves a correct table; the next batch compacts.
 *
 * @example
 * const sink = new DeltaSink({ path: '/lake/counts', partitionBy: ['date'] });
 * await sink.addBatch(0, table, { queryId, runId, outputMode: 'append', schema });
 */
export class DeltaSink implements StreamingSink {
  readonly description: string;
  readonly supportedOutputModes: readonly OutputMode[] = ['append', 'update', 'complete'];
  readonly table: DeltaTable;
  private version = -1;
  private committed = 0;
  private skippedBatches = 0;
  private files = 0;
  private compactions = 0;
  private filesCompacted = 0;

  constructor(readonly options: DeltaSinkOptions) {
    this.table = DeltaTable.forPath(options.path, options.table);
    this.description = `DeltaSink[${options.path}]`;
  }

  /**
   * Writes batch `batchId` (skipped when the table already holds it for this query).
   *
   * @example
   * await sink.addBatch(7, table, info); // a second call with 7 is a no-op
   */
  async addBatch(batchId: number, data: Table, info: SinkBatchInfo): Promise<void> {
    const complete = info.outputMode === 'complete';
    const r = await this.table.write(data.batches, {
      mode: complete ? 'overwrite' : 'append',
      partitionBy: this.options.partitionBy,
      txn: { appId: info.queryId, version: batchId },
      schema: info.schema,
      operation: 'STREAMING UPDATE',
      operationParameters: {
        outputMode: complete ? 'Complete' : info.outputMode === 'update' ? 'Update' : 'Append',
        queryId: info.queryId,
        epochId: String(batchId),
      },
      ...(this.options.maxRecordsPerFile !== undefined ? { maxRecordsPerFile: this.options.maxRecordsPerFile } : {}),
      ...(this.options.targetFileSize !== undefined ? { targetFileSize: this.options.targetFileSize } : {}),
      ...(this.options.compression !== undefined ? { compression: this.options.compression } : {}),
    });
    if (r.skipped) this.skippedBatches++;
    else {
      this.committed++;
      this.files += r.filesAdded;
      if (r.version !== null) this.version = r.version;
      await this.maybeCompact();
    }
  }

  private async maybeCompact(): Promise<void> {
    const snap = await this.table.snapshot();
    const on = this.options.autoCompact ?? snap.metadata.configuration['delta.autoOptimize.autoCompact'] === 'true';
    if (!on) return;
    const target = this.options.targetFileSize ?? DEFAULT_OPTIMIZE_TARGET;
    let small = 0;
    for (const f of snap.fileList()) if (f.size < target) small++;
    if (small < (this.options.autoCompactMinNumFiles ?? DEFAULT_AUTO_COMPACT_MIN_FILES)) return;
    const o = await this.table.optimize({
      targetFileSize: target,
      ...(this.options.compression !== undefined ? { compression: this.options.compression } : {}),
    });
    if (o.version !== null) {
      this.compactions++;
      this.filesCompacted += o.filesRemoved;
      this.version = o.version;
    }
  }

  /** `tableVersion`, `batchesCommitted`, `batchesSkipped`, `filesAdded`, `compactions`, `filesCompacted` for progress. */
  metrics(): Record<string, string> {
    return {
      tableVersion: String(this.version),
      batchesCommitted: String(this.committed),
      batchesSkipped: String(this.skippedBatches),
      filesAdded: String(this.files),
      compactions: String(this.compactions),
      filesCompacted: String(this.filesCompacted),
    };
  }
}

/**
 * A `DeltaSink` from string options (`path`, `partitionBy`, `maxRecordsPerFile`, `targetFileSize`, `compression`,
 * `autoCompact`, `autoCompactMinNumFiles`).
 *
 * @example
 * const sink = deltaSinkFromOptions({ path: '/lake/counts', partitionBy: 'date', compression: 'zstd' });
 * deltaSinkFromOptions({ path: '/lake/counts', autoCompact: 'true', autoCompactMinNumFiles: '20' });
 */
export function deltaSinkFromOptions(options: Readonly<Record<string, string>>): DeltaSink {
  const o = parseDeltaOptions(options, 'sink');
  for (const k of ['mode', 'replaceWhere', 'overwriteSchema'] as const) {
    if (o[k] !== undefined) {
      throw new DeltaOptionsError(
        `Option ${k} applies to batch writes (df.write), not to a streaming query: its output mode decides (append/update append, complete overwrites).`,
      );
    }
  }
  return new DeltaSink({
    path: o.path,
    ...(o.partitionBy !== undefined ? { partitionBy: o.partitionBy } : {}),
    ...(o.maxRecordsPerFile !== undefined ? { maxRecordsPerFile: o.maxRecordsPerFile } : {}),
    ...(o.targetFileSize !== undefined ? { targetFileSize: o.targetFileSize } : {}),
    ...(o.compression !== undefined ? { compression: o.compression } : {}),
    ...(o.autoCompact !== undefined ? { autoCompact: o.autoCompact } : {}),
    ...(o.autoCompactMinNumFiles !== undefined ? { autoCompactMinNumFiles: o.autoCompactMinNumFiles } : {}),
  });
}

/**
 * The table and write options of a batch `df.write.format('delta')` from string options (`path`, `mode`,
 * `partitionBy`, `replaceWhere`, `overwriteSchema`, `maxRecordsPerFile`, `targetFileSize`, `compression`).
 *
 * @example
 * const { table, write } = deltaWriteFromOptions({ path: '/lake/t', mode: 'overwrite', replaceWhere: '{"date":{"eq":"2026-05-30"}}' });
 * await table.write(batches, write);
 */
export function deltaWriteFromOptions(options: Readonly<Record<string, string>>): { table: DeltaTable; write: DeltaWriteOptions } {
  const o = parseDeltaOptions(options, 'sink');
  for (const k of ['autoCompact', 'autoCompactMinNumFiles'] as const) {
    if (o[k] !== undefined) {
      throw new DeltaOptionsError(
        `Option ${k} applies to a streaming query's sink (writeStream), whose many small commits it compacts; after a batch write, compact with optimizeTable(path) or 'sluice optimize <table>'.`,
      );
    }
  }
  const write: DeltaWriteOptions = {
    mode: o.mode ?? 'errorIfExists',
    ...(o.partitionBy !== undefined ? { partitionBy: o.partitionBy } : {}),
    ...(o.replaceWhere !== undefined ? { replaceWhere: o.replaceWhere } : {}),
    ...(o.overwriteSchema !== undefined ? { overwriteSchema: o.overwriteSchema } : {}),
    ...(o.maxRecordsPerFile !== undefined ? { maxRecordsPerFile: o.maxRecordsPerFile } : {}),
    ...(o.targetFileSize !== undefined ? { targetFileSize: o.targetFileSize } : {}),
    ...(o.compression !== undefined ? { compression: o.compression } : {}),
  };
  return { table: DeltaTable.forPath(o.path), write };
}
