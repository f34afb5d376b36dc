import type { RecordBatch } from 'apache-arrow';
import type { NamedBound } from '../logical/bound-expr.js';
import { evaluate, ParseFailures } from '../kernels/expr-kernel.js';
import { gatherBatch } from '../kernels/select-kernel.js';
import type { Schema } from '../types/data-type.js';
import { batchFromColumns } from '../types/values.js';
import { dataFromVec } from '../kernels/vec.js';
import { ExecNode, type ExecContext } from './exec-node.js';
import { routeMalformedRows, rowsWhere } from './malformed-rows.js';

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
      let reason = '';
      const failures = new ParseFailures();
      const env = { ...ctx.env, failures };
      const cols = this.exprs.map((e, i) => {
        if (e.bound.k === 'ref' && e.bound.path.length === 0) return batch.data.children[e.bound.ordinal]!;
        const before = failures.entries.length;
        const v = evaluate(e.bound, batch, inSchema, env);
        if (reason === '' && failures.entries.length > before) reason = `in column '${e.name}'`;
        return dataFromVec(v, this.schema.fields[i]!.type);
      });
      let out = batchFromColumns(this.schema, cols, batch.numRows);
      // fromJson/fromCsv anywhere in the expressions could not parse some rows: fail, dead-letter or drop them.
      const drop = routeMalformedRows(failures, batch, inSchema, ctx, reason);
      if (drop !== null) out = gatherBatch(out, this.schema, rowsWhere(drop, 0));
      if (out.numRows > 0 || batch.numRows === 0) yield out;
    }
  }
  describe(): string {
    return `ProjectExec: ${this.text}`;
  }
}
