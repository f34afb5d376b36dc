import type { RecordBatch } from 'apache-arrow';
import type { NamedBound } from '../logical/bound-expr.js';
import { evaluate } from '../kernels/expr-kernel.js';
import type { Schema } from '../types/data-type.js';
import { batchFromColumns } from '../types/values.js';
import { dataFromVec } from '../kernels/vec.js';
import { ExecNode, type ExecContext } from './exec-node.js';

/** Computes a list of expressions over each batch (select, withColumn, drop). Plain column references are zero copy. */
export class ProjectExec extends ExecNode {
  constructor(
    readonly child: ExecNode,
    readonly exprs: readonly NamedBound[],
    readonly schema: Schema,
    private readonly text: string,
  ) {
    super();
  }
  get children() {
    return [this.child];
  }
  async *execute(ctx: ExecContext): AsyncIterable<RecordBatch> {
    const inSchema = this.child.schema;
    for await (const batch of this.child.execute(ctx)) {
      const cols = this.exprs.map((e, i) => {
        if (e.bound.k === 'ref' && e.bound.path.length === 0) return batch.data.children[e.bound.ordinal]!;
        return dataFromVec(evaluate(e.bound, batch, inSchema, ctx.env), this.schema.fields[i]!.type);
      });
      yield batchFromColumns(this.schema, cols, batch.numRows);
    }
  }
  describe(): string {
    return `ProjectExec: ${this.text}`;
  }
}
