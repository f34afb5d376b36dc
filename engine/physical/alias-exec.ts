import type { RecordBatch } from 'apache-arrow';
import type { Schema } from '../types/data-type.js';
import { ExecNode, type ExecContext } from './exec-node.js';

/**
 * `df.alias('l')`: passes its input's batches through unchanged; only its schema differs, every column qualified
 * with the alias, so that expressions above it can name `l.id`.
 *
 * @example
 * new AliasExec(child, qualifySchema(child.schema, 'l'), 'l').describe(); // 'SubqueryAlias: l'
 */
export class AliasExec extends ExecNode {
  constructor(
    readonly child: ExecNode,
    readonly schema: Schema,
    readonly alias: string,
  ) {
    super();
  }
  get children() {
    return [this.child];
  }
  execute(ctx: ExecContext): AsyncIterable<RecordBatch> {
    return this.child.execute(ctx);
  }
  describe(): string {
    return `SubqueryAlias: ${this.alias}`;
  }
}
