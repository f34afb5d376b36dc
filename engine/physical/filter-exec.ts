import type { RecordBatch } from 'apache-arrow';
import type { Bound } from '../logical/bound-expr.js';
import { evaluate } from '../kernels/expr-kernel.js';
import { gatherBatch, selectionFromMask } from '../kernels/select-kernel.js';
import type { Schema } from '../types/data-type.js';
import { ExecNode, type ExecContext } from './exec-node.js';

/** Keeps the rows where a predicate is true: predicate → selection vector → one gather per column. */
export class FilterExec extends ExecNode {
  constructor(
    readonly child: ExecNode,
    readonly predicate: Bound,
    private readonly text: string,
  ) {
    super();
  }
  get schema(): Schema {
    return this.child.schema;
  }
  get children() {
    return [this.child];
  }
  async *execute(ctx: ExecContext): AsyncIterable<RecordBatch> {
    const schema = this.child.schema;
    for await (const batch of this.child.execute(ctx)) {
      const sel = selectionFromMask(evaluate(this.predicate, batch, schema, ctx.env));
      if (sel.length === 0) continue;
      yield gatherBatch(batch, schema, sel);
    }
  }
  describe(): string {
    return `FilterExec: ${this.text}`;
  }
}
