import type { RecordBatch } from 'apache-arrow';
import type { Bound } from '../logical/bound-expr.js';
import { evaluate, ParseFailures } from '../kernels/expr-kernel.js';
import { routeMalformedRows } from './malformed-rows.js';
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
      const failures = new ParseFailures();
      const mask = evaluate(this.predicate, batch, schema, { ...ctx.env, failures });
      const drop = routeMalformedRows(failures, batch, schema, ctx, 'in a filter');
      let sel = selectionFromMask(mask);
      if (drop !== null) sel = sel.filter((i) => drop[i] === 0);
      if (sel.length === 0) continue;
      yield gatherBatch(batch, schema, sel);
    }
  }
  describe(): string {
    return `FilterExec: ${this.text}`;
  }
}
