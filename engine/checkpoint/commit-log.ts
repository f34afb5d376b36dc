import { CorruptCheckpointError } from './atomic-file.js';
import { MetadataLog, parseJson, readVersioned } from './metadata-log.js';

/** Batch N is complete: its sink write and state are durable. */
export interface CommitMetadata {
  /** The watermark batch N+1 runs with. */
  readonly nextBatchWatermarkMs: number;
}

/**
 * `commits/N`, written last in a batch (after the sink and the state). Format:
 *
 * ```
 * v1
 * {"nextBatchWatermarkMs":15000}
 * ```
 *
 * @example
 * await new CommitLog(paths.commitsDir).add(0, { nextBatchWatermarkMs: 5000 });
 */
export class CommitLog extends MetadataLog<CommitMetadata> {
  protected encode(v: CommitMetadata): string {
    return `v1\n${JSON.stringify({ nextBatchWatermarkMs: v.nextBatchWatermarkMs })}\n`;
  }
  protected decode(text: string, file: string): CommitMetadata {
    const lines = readVersioned(text, file, 'commit log');
    const meta = parseJson(lines[0] ?? '', file, 'commit metadata') as Partial<CommitMetadata>;
    if (typeof meta.nextBatchWatermarkMs !== 'number') {
      throw new CorruptCheckpointError(`${file}: nextBatchWatermarkMs is missing.`);
    }
    return { nextBatchWatermarkMs: meta.nextBatchWatermarkMs };
  }
}
