import type { Offset } from '../io/source.js';
import { CorruptCheckpointError } from './atomic-file.js';
import { MetadataLog, parseJson, readVersioned } from './metadata-log.js';

/** One write-ahead entry: what batch N reads and with which watermark and clock. */
export interface OffsetSeq {
  readonly batchWatermarkMs: number;
  readonly batchTimestampMs: number;
  /** Settings that must not change across restarts (the watermark policy, …). */
  readonly conf: Readonly<Record<string, string>>;
  /** Per source in plan order: its end offset for this batch, or null when it has none yet. */
  readonly offsets: readonly (Offset | null)[];
}

/**
 * `offsets/N`: written before batch N reads anything. Format (as Spark's OffsetSeqLog):
 *
 * ```
 * v1
 * {"batchWatermarkMs":10000,"batchTimestampMs":1767225600000,"conf":{"multipleWatermarkPolicy":"min"}}
 * {"files":3}
 * -
 * ```
 * One line per source in plan order; `-` for a source without an offset yet.
 * Write order per batch: offsets/N → read → run → sink.addBatch(N) → state commit → commits/N.
 *
 * @example
 * const log = new OffsetLog(paths.offsetsDir); await log.add(0, { batchWatermarkMs: 0, batchTimestampMs: t, conf: {}, offsets: [5] });
 */
export class OffsetLog extends MetadataLog<OffsetSeq> {
  protected encode(v: OffsetSeq): string {
    const meta = { batchWatermarkMs: v.batchWatermarkMs, batchTimestampMs: v.batchTimestampMs, conf: v.conf };
    return ['v1', JSON.stringify(meta), ...v.offsets.map((o) => (o === null ? '-' : JSON.stringify(o)))].join('\n') + '\n';
  }
  protected decode(text: string, file: string): OffsetSeq {
    const lines = readVersioned(text, file, 'offset log');
    if (lines.length < 1) throw new CorruptCheckpointError(`${file} has no metadata line.`);
    const meta = parseJson(lines[0]!, file, 'batch metadata') as Partial<OffsetSeq>;
    if (typeof meta.batchWatermarkMs !== 'number' || typeof meta.batchTimestampMs !== 'number') {
      throw new CorruptCheckpointError(`${file}: the metadata line lacks batchWatermarkMs/batchTimestampMs.`);
    }
    return {
      batchWatermarkMs: meta.batchWatermarkMs,
      batchTimestampMs: meta.batchTimestampMs,
      conf: meta.conf ?? {},
      offsets: lines.slice(1).map((l, i) => (l === '-' ? null : (parseJson(l, file, `offset of source ${i}`) as Offset))),
    };
  }
}
