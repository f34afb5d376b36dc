import type { RecordBatch } from 'apache-arrow';
import { formatDuration } from '../types/duration.js';
import type { Schema } from '../types/data-type.js';
import { vecFromData, type NumVec, type StructVec } from '../kernels/vec.js';
import { ExecNode, type EventTimeStats, type ExecContext } from './exec-node.js';

/**
 * `withWatermark(column, delay)`: passes rows through and gathers count/min/max/avg of the event time over every row of
 * the batch, late rows included (Spark's EventTimeWatermarkExec). The executor reads the stats after each batch.
 */
export class EventTimeWatermarkExec extends ExecNode {
  stats: EventTimeStats = { count: 0, min: Infinity, max: -Infinity, sum: 0 };
  constructor(
    readonly child: ExecNode,
    readonly ordinal: number,
    readonly delayMs: number,
  ) {
    super();
  }
  get schema(): Schema {
    return this.child.schema;
  }
  get children() {
    return [this.child];
  }
  get column(): string {
    return this.schema.fields[this.ordinal]!.name;
  }
  async *execute(ctx: ExecContext): AsyncIterable<RecordBatch> {
    this.stats = { count: 0, min: Infinity, max: -Infinity, sum: 0 };
    const f = this.schema.fields[this.ordinal]!;
    for await (const batch of this.child.execute(ctx)) {
      let v = vecFromData(batch.data.children[this.ordinal]!, f.type) as NumVec;
      // A window column: its end is the event time.
      if ((v as unknown as StructVec).kind === 'struct') v = (v as unknown as StructVec).fields[1] as NumVec;
      const vals = v.values;
      const valid = v.valid;
      let { count, min, max, sum } = this.stats;
      for (let i = 0; i < vals.length; i++) {
        if (valid !== null && valid[i] === 0) continue;
        const t = vals[i]!;
        count++;
        sum += t;
        if (t < min) min = t;
        if (t > max) max = t;
      }
      this.stats = { count, min, max, sum };
      yield batch;
    }
  }
  describe(): string {
    return `EventTimeWatermarkExec: ${this.column} delay=${formatDuration(this.delayMs)}`;
  }
}
