import type { RecordBatch } from 'apache-arrow';
import type { Schema } from '../types/data-type.js';
import { batchFromColumns } from '../types/values.js';
import { ExecNode, type ExecContext } from './exec-node.js';

/** Concatenates its inputs by position (Spark's union), renaming to the first input's columns. */
export class UnionExec extends ExecNode {
  constructor(readonly children: readonly ExecNode[]) {
    super();
  }
  get schema(): Schema {
    return this.children[0]!.schema;
  }
  async *execute(ctx: ExecContext): AsyncIterable<RecordBatch> {
    for (const c of this.children) {
      for await (const b of c.execute(ctx)) {
        yield c === this.children[0] ? b : batchFromColumns(this.schema, b.data.children, b.numRows);
      }
    }
  }
  describe(): string {
    return `UnionExec: ${this.children.length} inputs`;
  }
}
