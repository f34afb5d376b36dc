import { join } from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import { writeReplace } from '../checkpoint/atomic-file.js';
import type { DeadLetterCollector } from '../physical/exec-node.js';
import type { Schema } from '../types/data-type.js';
import { columnVec, jsonValueAt } from '../types/values.js';
import { strAt, type StrVec } from '../kernels/vec.js';

/**
 * Collects the rows of one batch that could not be parsed (e.g. `fromJson(…, { mode: 'dropMalformed' })`), with the
 * reason. With a path, `flush(batchId)` writes them to `<path>/batch-<N>.jsonl` (one JSON object per row: the input
 * row's columns — binary values as UTF-8 text when valid, base64 otherwise — plus `_error` and `_batchId`), replacing
 * the file when a batch is re-run, so every malformed row is kept exactly once. Without a path rows are only counted.
 *
 * @example
 * df.writeStream.option('deadLetterPath', 'dead/').start();
 */
export class DeadLetters implements DeadLetterCollector {
  private lines: string[] = [];
  count = 0;
  constructor(readonly path: string | null) {}

  add(rows: RecordBatch, schema: Schema, reason: string): void {
    this.count += rows.numRows;
    if (this.path === null) return;
    const vecs = schema.fields.map((_, i) => columnVec(rows, schema, i));
    for (let r = 0; r < rows.numRows; r++) {
      const o: Record<string, unknown> = {};
      schema.fields.forEach((f, i) => {
        const v = vecs[i]!;
        if (v.kind === 'str' && v.type === 'binary' && (v.valid === null || v.valid[r] === 1)) {
          const bytes = v.bytes.subarray(v.offsets[r]!, v.offsets[r + 1]!);
          const text = Buffer.from(bytes).toString('utf8');
          o[f.name] = Buffer.from(text, 'utf8').equals(bytes) ? strAt({ ...(v as StrVec), type: 'string' }, r) : Buffer.from(bytes).toString('base64');
        } else o[f.name] = jsonValueAt(v, r);
      });
      o['_error'] = reason;
      this.lines.push(JSON.stringify(o));
    }
  }

  /** Writes this batch's dead letters (if any) and starts the next batch. */
  async flush(batchId: number): Promise<number> {
    const n = this.count;
    if (this.path !== null && this.lines.length > 0) {
      const body = this.lines.map((l) => `${l.slice(0, -1)},"_batchId":${batchId}}`).join('\n') + '\n';
      await writeReplace(join(this.path, `batch-${String(batchId).padStart(5, '0')}.jsonl`), body);
    }
    this.lines = [];
    this.count = 0;
    return n;
  }
}
