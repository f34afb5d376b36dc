/**
 * The window column of a projection (`select(window(col('ts'), '10 minutes'))`), as Spark's TimeWindowing and
 * SessionWindowing rules compute one below the projection: appends `window {start, end}` to each row, dropping rows
 * whose time is null.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import type { ProjectionWindow } from '../logical/analyzer.js';
import { evaluate } from '../kernels/expr-kernel.js';
import { gatherBatch } from '../kernels/select-kernel.js';
import { dataFromVec, type NumVec, type Vec } from '../kernels/vec.js';
import { assignSessions, assignWindows } from '../kernels/window-kernel.js';
import { field, schemaOf, WINDOW_TYPE, type Schema } from '../types/data-type.js';
import { batchFromColumns } from '../types/values.js';
import { ExecNode, type ExecContext } from './exec-node.js';
import { sessionGaps } from './partitions/session-partition.js';

/**
 * Appends the window column to its input's rows:
 * - tumbling: one row out per row in, `[start, start + size)` by Spark's rule (`start = t − floorMod(t − startTime,
 *   slide)`, right before 1970 too);
 * - sliding: one row out per window that holds the row (Spark's Expand), the latest window first;
 * - session: each row's own `[t, t + gap)`, never merged; rows whose gap is null, unparseable or not positive go.
 *
 * A row with a null time gets no window and is dropped, as Spark's filter `isnotnull(time)` does. The planner puts the
 * projection that reads the column right above.
 *
 * @example
 * new WindowColumnExec(child, projectionWindow(exprs, analyze(childPlan))!).toString();
 * // WindowColumnExec: window(ts, 10 minutes, 5 minutes)
 */
export class WindowColumnExec extends ExecNode {
  readonly schema: Schema;

  constructor(
    readonly child: ExecNode,
    readonly window: ProjectionWindow,
  ) {
    super();
    this.schema = schemaOf([...child.schema.fields, field(window.kind === 'time' ? 'window' : 'session_window', WINDOW_TYPE, true)]);
  }

  get children() {
    return [this.child];
  }

  async *execute(ctx: ExecContext): AsyncIterable<RecordBatch> {
    const inSchema = this.child.schema;
    const w = this.window;
    for await (const batch of this.child.execute(ctx)) {
      const time = evaluate(w.time, batch, inSchema, ctx.env) as NumVec;
      let rows: Int32Array;
      let starts: Float64Array;
      let ends: Float64Array;
      let m: number;
      if (w.kind === 'time') {
        const a = assignWindows(time, w.sizeMs, w.slideMs, w.startMs);
        m = a.count;
        rows = a.rows;
        starts = a.starts;
        ends = new Float64Array(m);
        for (let i = 0; i < m; i++) ends[i] = starts[i]! + w.sizeMs;
      } else {
        const { gaps, valid } = sessionGaps(w.gap, batch, inSchema, ctx.env);
        const a = assignSessions(time, gaps, valid);
        m = a.count;
        rows = a.rows;
        starts = a.starts;
        ends = a.ends;
      }
      if (m === 0 && batch.numRows > 0) continue;
      const kept = gatherBatch(batch, inSchema, rows.subarray(0, m));
      const win: Vec = {
        kind: 'struct',
        type: WINDOW_TYPE,
        length: m,
        fields: [
          { kind: 'num', type: 'timestamp', length: m, values: starts.subarray(0, m), big: null, valid: null },
          { kind: 'num', type: 'timestamp', length: m, values: ends.subarray(0, m), big: null, valid: null },
        ],
        valid: null,
      };
      yield batchFromColumns(this.schema, [...kept.data.children, dataFromVec(win, WINDOW_TYPE)], m);
    }
  }

  describe(): string {
    return `WindowColumnExec: ${this.window.text}`;
  }
}
