import { join } from 'node:path';
import type { Table } from 'apache-arrow';
import { writeReplace } from '../../engine/checkpoint/atomic-file.js';
import type { SinkBatchInfo, StreamingSink } from '../../engine/io/sink.js';
import { fromArrowSchema } from '../../engine/types/data-type.js';
import { columnVec, jsonValueAt, TimestampRangeError } from '../../engine/types/values.js';

/**
 * Writes each batch as one JSON Lines file named by its batch id (`part-00007.jsonl`), atomically (temp file + rename):
 * a batch re-run after a crash rewrites the same file, so the folder holds every batch exactly once. Timestamps are
 * ISO-8601 UTC with milliseconds; empty batches write no file.
 *
 * @example
 * df.writeStream.format('jsonl').option('path', 'out/').option('checkpointLocation', 'ckpt/').start();
 */
export class JsonLinesSink implements StreamingSink {
  readonly supportedOutputModes = ['append', 'update', 'complete'] as const;
  constructor(readonly path: string) {}

  get description(): string {
    return `JsonLinesSink[${this.path}]`;
  }

  /** The file a batch goes to. */
  fileOf(batchId: number): string {
    return join(this.path, `part-${String(batchId).padStart(5, '0')}.jsonl`);
  }

  async addBatch(batchId: number, data: Table, _info: SinkBatchInfo): Promise<void> {
    if (data.numRows === 0) return;
    const schema = fromArrowSchema(data.schema);
    const lines: string[] = [];
    const names = schema.fields.map((f) => f.name);
    let row = 0;
    let c = 0;
    try {
      for (const b of data.batches) {
        const vecs = schema.fields.map((_, i) => columnVec(b, schema, i));
        for (let r = 0; r < b.numRows; r++, row++) {
          const o: Record<string, unknown> = {};
          for (c = 0; c < names.length; c++) o[names[c]!] = jsonValueAt(vecs[c]!, r);
          lines.push(JSON.stringify(o));
        }
      }
    } catch (e) {
      if (e instanceof TimestampRangeError) throw e.at(`Batch ${batchId}, column '${names[c]}', row ${row}`);
      throw e;
    }
    await writeReplace(this.fileOf(batchId), lines.join('\n') + '\n');
  }
}
