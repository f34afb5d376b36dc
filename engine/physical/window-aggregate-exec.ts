/**
 * Hash aggregation over grouping keys and an optional tumbling/sliding window, for batch and streaming. Rows are
 * expanded into (row, window) pairs, late pairs are dropped (streaming append/update), keys are encoded into a typed
 * group table and the accumulators updated in one pass per aggregate. At the end of each execution the operator emits
 * per output mode and evicts closed windows.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import type { AggregateAnalysis } from '../logical/analyzer.js';
import { evaluate } from '../kernels/expr-kernel.js';
import { GroupTable } from '../kernels/hash-kernel.js';
import { assignWindows } from '../kernels/window-kernel.js';
import type { NumVec, Vec } from '../kernels/vec.js';
import { WINDOW_TYPE, typeToString, type Schema } from '../types/data-type.js';
import { formatDuration } from '../types/duration.js';
import { batchFromVecs } from '../types/values.js';
import { exprToString } from '../logical/expr.js';
import { AggregateState, type AggregateLayout } from '../state/aggregate-state.js';
import { StateStore } from '../state/state-store.js';
import { ExecNode, emptyMetrics, type ExecContext, type StatefulOperator, type StateOperatorMetrics } from './exec-node.js';

/** Rows of one execution get arrival sequence numbers `batchId · 2^30 + row`. */
export const SEQ_PER_BATCH = 2 ** 30;

/** Builds the state layout of an analyzed aggregation. */
export function aggregateLayout(a: AggregateAnalysis): AggregateLayout {
  const w = a.window;
  const hasTimeWindow = w !== null && w.kind === 'time';
  const keyNames = [...(hasTimeWindow ? ['__window_start'] : []), ...a.keys.map((k) => k.name)];
  const keyTypes = [...(hasTimeWindow ? (['timestamp'] as const) : []), ...a.keys.map((k) => k.type)];
  let eventTimeSlot: number | null = null;
  if (a.eventTime === 'window') eventTimeSlot = 0;
  else if (a.eventTime !== null) eventTimeSlot = a.eventTime.key + (hasTimeWindow ? 1 : 0);
  return {
    keyNames,
    keyTypes,
    specs: a.aggs.map((x) => x.spec),
    eventTimeSlot,
    windowSizeMs: a.eventTime === 'window' && hasTimeWindow ? w.sizeMs : null,
  };
}

/**
 * `WindowAggregateExec: window=tumbling(5 seconds) keys=[user] aggs=[count(1), sum(amount)]`.
 */
export class WindowAggregateExec extends ExecNode implements StatefulOperator {
  operatorId = 0;
  readonly operatorName = 'stateStoreSave';
  readonly state: AggregateState;
  private readonly sizeMs: number;
  private m: StateOperatorMetrics = emptyMetrics('stateStoreSave');
  private lastEvictionWm: number | null = null;
  private outputMode: string | null = null;

  constructor(
    readonly child: ExecNode,
    readonly analysis: AggregateAnalysis,
  ) {
    super();
    if (analysis.window !== null && analysis.window.kind !== 'time') throw new Error('WindowAggregateExec handles time windows only');
    this.state = new AggregateState(aggregateLayout(analysis));
    this.sizeMs = analysis.window?.kind === 'time' ? analysis.window.sizeMs : 0;
  }

  get schema(): Schema {
    return this.analysis.schema;
  }
  get children() {
    return [this.child];
  }

  async *execute(ctx: ExecContext): AsyncIterable<RecordBatch> {
    const t0 = performance.now();
    const a = this.analysis;
    const w = a.window?.kind === 'time' ? a.window : null;
    const inSchema = this.child.schema;
    const st = this.state;
    this.outputMode = ctx.outputMode;
    const dropLate = ctx.streaming && ctx.outputMode !== 'complete' && a.eventTime !== null;
    st.startBatch();
    let lateGroups: GroupTable | null = null;
    let rowOffset = 0;
    for await (const batch of this.child.execute(ctx)) {
      const n = batch.numRows;
      if (n === 0) continue;
      const keyVecs = a.keys.map((k) => evaluate(k.bound, batch, inSchema, ctx.env));
      const inputs = a.aggs.map((x) => (x.input ? evaluate(x.input, batch, inSchema, ctx.env) : null));
      let rows: Int32Array | null = null;
      let m = n;
      let starts: Float64Array | null = null;
      if (w) {
        const tv = evaluate(w.time, batch, inSchema, ctx.env) as NumVec;
        const asg = assignWindows(tv, w.sizeMs, w.slideMs, w.startMs);
        rows = asg.rows;
        m = asg.count;
        starts = asg.starts;
      }
      if (dropLate) {
        const evt = this.pairEventTimes(keyVecs, starts, rows, m);
        const lateWm = ctx.lateWatermarkMs;
        let kept = 0;
        let lateSel: number[] | null = null;
        const newRows = new Int32Array(m);
        const newStarts = starts ? new Float64Array(m) : null;
        for (let i = 0; i < m; i++) {
          if (evt[i]! <= lateWm) {
            (lateSel ??= []).push(i);
            continue;
          }
          newRows[kept] = rows === null ? i : rows[i]!;
          if (newStarts) newStarts[kept] = starts![i]!;
          kept++;
        }
        if (lateSel !== null) {
          // Spark counts late groups, not rows: it pre-aggregates before the late filter.
          const sel = Int32Array.from(lateSel);
          const lr = new Int32Array(sel.length);
          const ls = starts ? new Float64Array(sel.length) : null;
          for (let j = 0; j < sel.length; j++) {
            lr[j] = rows === null ? sel[j]! : rows[sel[j]!]!;
            if (ls) ls[j] = starts![sel[j]!]!;
          }
          const keys = st.codec.encode([...(ls ? [ls] : []), ...keyVecs], lr, sel.length);
          lateGroups ??= new GroupTable(st.codec.width, 64);
          lateGroups.findOrInsert(keys, sel.length, new Int32Array(sel.length));
          rows = newRows;
          starts = newStarts;
          m = kept;
        }
      }
      const keyCols: (Vec | Float64Array)[] = starts ? [starts.subarray(0, m), ...keyVecs] : keyVecs;
      st.absorb(keyCols, rows, m, inputs, ctx.batchId * SEQ_PER_BATCH + rowOffset);
      rowOffset += n;
    }
    if (!ctx.streaming && a.keys.length === 0 && w === null && st.size === 0) {
      // A global aggregate over no rows still has one group (count 0, sum null), as in SQL.
      st.groupIds(st.codec.encode([], null, 1), 1);
    }
    const t1 = performance.now();
    const updatedCount = countUpdated(st);
    let out: RecordBatch | null = null;
    let removed = 0;
    if (!ctx.streaming || ctx.outputMode === 'complete') {
      out = this.outputBatch(st.allGroups());
    } else if (ctx.outputMode === 'update') {
      out = this.outputBatch(st.updatedGroups());
      if (a.eventTime !== null) {
        const closed = st.groupsUpTo(ctx.evictionWatermarkMs);
        removed = closed.length;
        st.remove(closed);
      }
    } else {
      const closed = a.eventTime !== null ? st.groupsUpTo(ctx.evictionWatermarkMs) : new Int32Array(0);
      out = this.outputBatch(closed);
      removed = closed.length;
      st.remove(closed);
    }
    if (ctx.streaming) this.lastEvictionWm = ctx.evictionWatermarkMs;
    const t2 = performance.now();
    this.m = {
      ...emptyMetrics(this.operatorName),
      numRowsTotal: st.size,
      numRowsUpdated: updatedCount,
      numRowsRemoved: removed,
      numRowsDroppedByWatermark: lateGroups?.size ?? 0,
      memoryUsedBytes: st.memoryBytes(),
      allUpdatesTimeMs: Math.round(t1 - t0),
      allRemovalsTimeMs: Math.round(t2 - t1),
    };
    if (out.numRows > 0) yield out;
  }

  /** Event time of each (row, window) pair: the window end, or the raw timestamp key. */
  private pairEventTimes(keyVecs: readonly Vec[], starts: Float64Array | null, rows: Int32Array | null, m: number): Float64Array {
    const evt = new Float64Array(m);
    const a = this.analysis;
    if (a.eventTime === 'window') {
      for (let i = 0; i < m; i++) evt[i] = starts![i]! + this.sizeMs;
    } else if (a.eventTime !== null) {
      const v = keyVecs[a.eventTime.key] as NumVec;
      for (let i = 0; i < m; i++) {
        const r = rows === null ? i : rows[i]!;
        evt[i] = v.valid !== null && v.valid[r] === 0 ? Infinity : v.values[r]!;
      }
    } else evt.fill(Infinity);
    return evt;
  }

  /** Output rows for the given groups: grouping columns in groupBy order, then aggregates. */
  outputBatch(gids: Int32Array): RecordBatch {
    const a = this.analysis;
    const st = this.state;
    const keys = st.keyVecs(gids);
    const hasWindow = a.window !== null;
    const keyOut: Vec[] = hasWindow ? keys.slice(1) : keys;
    const cols: Vec[] = [];
    let k = 0;
    const total = a.keys.length + (hasWindow ? 1 : 0);
    for (let pos = 0; pos < total; pos++) {
      if (hasWindow && pos === a.window!.position) cols.push(windowVec(keys[0] as NumVec, this.sizeMs));
      else cols.push(keyOut[k++]!);
    }
    cols.push(...st.acc.output(gids));
    return batchFromVecs(this.schema, cols, gids.length);
  }

  describe(): string {
    const a = this.analysis;
    const w = a.window?.kind === 'time' ? a.window : null;
    const win = w
      ? w.sizeMs === w.slideMs
        ? `tumbling(${formatDuration(w.sizeMs)})`
        : `sliding(${formatDuration(w.sizeMs)}, ${formatDuration(w.slideMs)})`
      : 'none';
    return `WindowAggregateExec: window=${win} keys=[${a.keys.map((k) => k.name).join(', ')}] aggs=[${a.aggs.map((x) => x.name).join(', ')}]`;
  }

  // ---------------------------------------------------------------------------------------------------------- state

  stateSignature(): string {
    const s = this.state.stateSchema;
    return `aggregate(${s.fields.map((f) => `${f.name}:${typeToString(f.type)}`).join(',')})`;
  }

  async restore(stateDir: (partition: number) => string, version: number): Promise<void> {
    const store = new StateStore(stateDir(0), this.state.stateSchema, this.state.layout.keyTypes.length);
    this.state.restore(await store.load(version));
  }

  async commit(stateDir: (partition: number) => string, version: number, snapshot: boolean): Promise<void> {
    const t0 = performance.now();
    const store = new StateStore(stateDir(0), this.state.stateSchema, this.state.layout.keyTypes.length);
    await store.commit(version, this.state.takeDelta());
    if (snapshot) await store.snapshot(version, this.state.size > 0 ? this.state.stateBatch(this.state.allGroups()) : null);
    this.m.commitTimeMs = Math.round(performance.now() - t0);
  }

  async purge(stateDir: (partition: number) => string, minVersion: number): Promise<void> {
    await new StateStore(stateDir(0), this.state.stateSchema, this.state.layout.keyTypes.length).purge(minVersion);
  }

  metrics(): StateOperatorMetrics {
    return this.m;
  }

  needsNoDataBatch(newWatermarkMs: number): boolean {
    // Spark's StateStoreSaveExec.shouldRunAnotherBatch.
    return (
      (this.outputMode === 'append' || this.outputMode === 'update') &&
      this.analysis.eventTime !== null &&
      this.lastEvictionWm !== null &&
      newWatermarkMs > this.lastEvictionWm
    );
  }
}

function countUpdated(st: AggregateState): number {
  let c = 0;
  for (let g = 0; g < st.size; g++) c += st.updated[g]!;
  return c;
}

/** The `window {start, end}` struct column from window starts. */
export function windowVec(starts: NumVec, sizeMs: number): Vec {
  const n = starts.length;
  const ends = new Float64Array(n);
  for (let i = 0; i < n; i++) ends[i] = starts.values[i]! + sizeMs;
  return {
    kind: 'struct',
    type: WINDOW_TYPE,
    length: n,
    fields: [
      { kind: 'num', type: 'timestamp', length: n, values: starts.values, big: null, valid: null },
      { kind: 'num', type: 'timestamp', length: n, values: ends, big: null, valid: null },
    ],
    valid: null,
  };
}

export { exprToString };
