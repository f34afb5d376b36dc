import { CorruptCheckpointError } from './atomic-file.js';
import { MetadataLog, parseJson, readVersioned } from './metadata-log.js';

/** Batch N is complete: its sink write and state are durable. */
export interface CommitMetadata {
  /** The watermark batch N+1 runs with. */
  readonly nextBatchWatermarkMs: number;
  /** How many partitions wrote each stateful operator's state version N+1 (by operator id; absent = 1). */
  readonly statePartitions?: Readonly<Record<string, number>>;
}

/**
 * `commits/N`, written last in a batch (after the sink and the state). Format:
 *
 * ```
 * v1
 * {"nextBatchWatermarkMs":15000,"statePartitions":{"0":2}}
 * ```
 * `statePartitions` is present once an operator's state lives in more than one partition (worker threads).
 *
 * @example
 * await new CommitLog(paths.commitsDir).add(0, { nextBatchWatermarkMs: 5000 });
 */
export class CommitLog extends MetadataLog<CommitMetadata> {
  protected encode(v: CommitMetadata): string {
    return `v1\n${JSON.stringify(v.statePartitions ? { nextBatchWatermarkMs: v.nextBatchWatermarkMs, statePartitions: v.statePartitions } : { nextBatchWatermarkMs: v.nextBatchWatermarkMs })}\n`;
  }
  protected decode(text: string, file: string): CommitMetadata {
    const lines = readVersioned(text, file, 'commit log');
    const meta = parseJson(lines[0] ?? '', file, 'commit metadata') as Partial<CommitMetadata>;
    if (typeof meta.nextBatchWatermarkMs !== 'number') {
      throw new CorruptCheckpointError(`${file}: nextBatchWatermarkMs is missing.`);
    }
    return meta.statePartitions
      ? { nextBatchWatermarkMs: meta.nextBatchWatermarkMs, statePartitions: meta.statePartitions }
      : { nextBatchWatermarkMs: meta.nextBatchWatermarkMs };
  }
}
