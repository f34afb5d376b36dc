import { CorruptCheckpointError } from './atomic-file.js';
import { MetadataLog, parseJson, readVersioned } from './metadata-log.js';

/** Batch N is complete: its sink write and state are durable. */
export interface CommitMetadata {
  /** The watermark batch N+1 runs with. */
  readonly nextBatchWatermarkMs: number;
  /** How many partitions wrote each stateful operator's state version N+1 (by operator id; absent = 1). */
  readonly statePartitions?: Readonly<Record<string, number>>;
  /**
   * Each watermark operator's own watermark after batch N, in plan order (`WatermarkTracker.operators`); written when
   * the query has more than one, so a restart moves the global watermark as an uninterrupted run would.
   */
  readonly operatorWatermarksMs?: readonly number[];
}

/**
 * `commits/N`, written last in a batch (after the sink and the state). Format:
 *
 * ```
 * v1
 * {"nextBatchWatermarkMs":15000,"statePartitions":{"0":2},"operatorWatermarksMs":[15000,21000]}
 * ```
 * `statePartitions` is present once an operator's state lives in more than one partition (worker threads);
 * `operatorWatermarksMs` once the query has more than one watermark operator.
 *
 * @example
 * await new CommitLog(paths.commitsDir).add(0, { nextBatchWatermarkMs: 5000 });
 */
export class CommitLog extends MetadataLog<CommitMetadata> {
  protected encode(v: CommitMetadata): string {
    return `v1\n${JSON.stringify(commitFields(v))}\n`;
  }
  protected decode(text: string, file: string): CommitMetadata {
    const lines = readVersioned(text, file, 'commit log');
    const meta = parseJson(lines[0] ?? '', file, 'commit metadata') as Partial<CommitMetadata>;
    if (typeof meta.nextBatchWatermarkMs !== 'number') {
      throw new CorruptCheckpointError(`${file}: nextBatchWatermarkMs is missing.`);
    }
    const wms = meta.operatorWatermarksMs;
    if (wms !== undefined && (!Array.isArray(wms) || !wms.every((w) => typeof w === 'number' && Number.isFinite(w)))) {
      throw new CorruptCheckpointError(`${file}: operatorWatermarksMs must be a list of numbers, got ${JSON.stringify(wms)}.`);
    }
    return commitFields(meta as CommitMetadata);
  }
}

/** The fields of a commit that are set, in the file's order. */
function commitFields(v: CommitMetadata): CommitMetadata {
  return {
    nextBatchWatermarkMs: v.nextBatchWatermarkMs,
    ...(v.statePartitions ? { statePartitions: v.statePartitions } : {}),
    ...(v.operatorWatermarksMs ? { operatorWatermarksMs: v.operatorWatermarksMs } : {}),
  };
}
