import type { RecordBatch } from 'apache-arrow';
import type { Schema } from '../types/data-type.js';
import { ExecNode, type ExecContext } from './exec-node.js';

/** Passes the first `n` rows and stops reading its input. */
export class LimitExec extends ExecNode {
  constructor(
    readonly child: ExecNode,
    readonly n: number,
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
    let left = this.n;
    if (left === 0) return;
    for await (const b of this.child.execute(ctx)) {
      if (b.numRows <= left) {
        left -= b.numRows;
        yield b;
      } else {
        yield b.slice(0, left);
        left = 0;
      }
      if (left === 0) return;
    }
  }
  describe(): string {
    return `LimitExec: ${this.n}`;
  }
}
