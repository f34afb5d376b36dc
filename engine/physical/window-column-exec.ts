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
import { dataFromVec, windowStructVec, type NumVec } from '../kernels/vec.js';
import { assignSessions, assignWindows, assignWindowsInto } from '../kernels/window-kernel.js';
import { field, schemaOf, WINDOW_TYPE, type Schema } from '../types/data-type.js';
import { batchFromColumns } from '../types/values.js';
import { ExecNode, type ExecContext } from './exec-node.js';
import { sessionGaps } from './partitions/session-partition.js';

/** Rows a sliding window's output batches hold at most: a big input goes out in pieces of this size. */
const PIECE_ROWS = 65_536;

/**
 * Appends the window column to its input's rows:
 * - tumbling: one row out per row in, `[start, start + size)` by Spark's rule (`start = t − floorMod(t − startTime,
 *   slide)`, right before 1970 too);
 * - sliding: one row out per window that holds the row (Spark's Expand), the latest window first, in output batches
 *   of at most 65,536 rows;
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
      const n = batch.numRows;
      if (w.kind === 'session') {
        const { gaps, valid } = sessionGaps(w.gap, batch, inSchema, ctx.env);
        const a = assignSessions(time, gaps, valid);
        if (a.count > 0 || n === 0) yield this.output(batch, a.rows.subarray(0, a.count), a.starts.subarray(0, a.count), a.ends.subarray(0, a.count));
        continue;
      }
      const k = Math.ceil(w.sizeMs / w.slideMs);
      if (k === 1) {
        // One window per row: the whole batch at once (no nulls: the input columns pass through as they are).
        const a = assignWindows(time, w.sizeMs, w.slideMs, w.startMs);
        if (a.count > 0 || n === 0) yield this.output(batch, a.rows.subarray(0, a.count), a.starts.subarray(0, a.count), null);
        continue;
      }
      // Sliding: up to k rows out per row in, so a big batch goes out in pieces of about PIECE_ROWS rows, each
      // assigned, gathered and emitted while its arrays are in cache.
      const step = Math.max(256, Math.floor(PIECE_ROWS / k));
      const rows = new Int32Array(Math.min(n, step) * k);
      const starts = new Float64Array(rows.length);
      for (let from = 0; from < n; from += step) {
        const m = assignWindowsInto(time, w.sizeMs, w.slideMs, w.startMs, null, from, Math.min(n, from + step), rows, starts);
        if (m > 0) yield this.output(batch, rows.subarray(0, m), starts.slice(0, m), null);
      }
    }
  }

  /** Rows `rows` of `batch` with the window `[starts, ends)` (ends: starts + size when null) appended. */
  private output(batch: RecordBatch, rows: Int32Array, starts: Float64Array, ends: Float64Array | null): RecordBatch {
    const m = rows.length;
    if (ends === null) {
      const size = (this.window as Extract<ProjectionWindow, { kind: 'time' }>).sizeMs;
      ends = new Float64Array(m);
      for (let i = 0; i < m; i++) ends[i] = starts[i]! + size;
    }
    const kept = gatherBatch(batch, this.child.schema, rows);
    return batchFromColumns(this.schema, [...kept.data.children, dataFromVec(windowStructVec(starts, ends), WINDOW_TYPE)], m);
  }

  describe(): string {
    return `WindowColumnExec: ${this.window.text}`;
  }
}
