import type { RecordBatch } from 'apache-arrow';
import type { NamedBound } from '../logical/bound-expr.js';
import { evaluate, malformedRows } from '../kernels/expr-kernel.js';
import { gatherBatch } from '../kernels/select-kernel.js';
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
      let bad: Uint8Array | null = null;
      let reason = '';
      let drop = false;
      const cols = this.exprs.map((e, i) => {
        if (e.bound.k === 'ref' && e.bound.path.length === 0) return batch.data.children[e.bound.ordinal]!;
        const v = evaluate(e.bound, batch, inSchema, ctx.env);
        const m = malformedRows.get(v);
        if (m) {
          // fromJson/fromCsv could not parse some rows: route them to the dead-letter output.
          bad ??= new Uint8Array(batch.numRows);
          for (let r = 0; r < m.length; r++) bad[r]! |= m[r]!;
          const b = e.bound as Extract<typeof e.bound, { k: 'call' }>;
          reason = `malformed input for ${b.fn ?? 'parse'}() in column '${e.name}'`;
          if (String(b.options?.['mode'] ?? '').toLowerCase() === 'dropmalformed') drop = true;
        }
        return dataFromVec(v, this.schema.fields[i]!.type);
      });
      let out = batchFromColumns(this.schema, cols, batch.numRows);
      if (bad !== null) {
        const flags = bad as Uint8Array;
        const badRows: number[] = [];
        const goodRows: number[] = [];
        for (let r = 0; r < flags.length; r++) (flags[r] ? badRows : goodRows).push(r);
        ctx.deadLetters?.add(gatherBatch(batch, inSchema, Int32Array.from(badRows)), inSchema, reason);
        if (drop) out = gatherBatch(out, this.schema, Int32Array.from(goodRows));
      }
      if (out.numRows > 0 || batch.numRows === 0) yield out;
    }
  }
  describe(): string {
    return `ProjectExec: ${this.text}`;
  }
}
