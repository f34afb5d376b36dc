import { join } from 'node:path';

/**
 * Every path inside a checkpoint folder, in one place:
 *
 * ```
 * <root>/metadata                       {"id":"<query id>"}
 * <root>/offsets/<N>                    write-ahead: batch N's offsets, watermark, timestamp, conf
 * <root>/commits/<N>                    batch N is done: {"nextBatchWatermarkMs":…} (+ statePartitions, operatorWatermarksMs)
 * <root>/state/<op>/<partition>/<v>.delta|.snapshot
 * <root>/state/<op>/_metadata/schema    the operator's kind and state schema
 * <root>/state/<op>/_metadata/partitions/<v>   the number of partitions that wrote versions v… (changes only)
 * <root>/sources/<i>/…                  each source's own log (e.g. files of each batch)
 * ```
 *
 * @example
 * const p = new CheckpointPaths('/tmp/ckpt'); p.offset(3); // '/tmp/ckpt/offsets/3'
 */
export class CheckpointPaths {
  constructor(readonly root: string) {}
  get metadata(): string {
    return join(this.root, 'metadata');
  }
  get lock(): string {
    return join(this.root, '.lock');
  }
  get offsetsDir(): string {
    return join(this.root, 'offsets');
  }
  get commitsDir(): string {
    return join(this.root, 'commits');
  }
  offset(batchId: number): string {
    return join(this.offsetsDir, String(batchId));
  }
  commit(batchId: number): string {
    return join(this.commitsDir, String(batchId));
  }
  stateDir(operatorId: number, partition: number): string {
    return join(this.root, 'state', String(operatorId), String(partition));
  }
  stateMetadata(operatorId: number): string {
    return join(this.root, 'state', String(operatorId), '_metadata', 'schema');
  }
  stateLayout(operatorId: number): string {
    return join(this.root, 'state', String(operatorId), '_metadata', 'partitions');
  }
  stateRoot(): string {
    return join(this.root, 'state');
  }
  sourceDir(index: number): string {
    return join(this.root, 'sources', String(index));
  }
}
