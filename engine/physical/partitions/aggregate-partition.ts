/**
 * One partition of a (windowed) hash aggregation.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import type { AggregateAnalysis } from '../../logical/analyzer.js';
import { evaluate, type EvalEnv } from '../../kernels/expr-kernel.js';
import { GroupTable, partitionIds, rowsByPartition } from '../../kernels/hash-kernel.js';
import { gatherBatch, gatherVec } from '../../kernels/select-kernel.js';
import { assignWindows } from '../../kernels/window-kernel.js';
import { WINDOW_TYPE, type Schema } from '../../types/data-type.js';
import { batchFromVecs, columnVec } from '../../types/values.js';
import type { NumVec, Vec } from '../../kernels/vec.js';
import { AggregateState, WINDOW_START_KEY, type AggregateLayout } from '../../state/aggregate-state.js';
import type { BatchInfo, PartialResult, PartitionMetrics, PartitionOperator } from './partition-operator.js';

/** The evaluation environment of a batch whose first row has arrival sequence `seqBase`. */
export function envOf(info: BatchInfo, seqBase: number): EvalEnv {
  return { batchTimestampMs: info.batchTimestampMs, rowBase: seqBase - info.batchId * 2 ** 30 };
}

/** Builds the state layout of an analyzed aggregation. */
export function aggregateLayout(a: AggregateAnalysis): AggregateLayout {
  const w = a.window;
  const hasTimeWindow = w !== null && w.kind === 'time';
  const keyNames = [...(hasTimeWindow ? [WINDOW_START_KEY] : []), ...a.keys.map((k) => k.name)];
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

/**
 * Groups of one partition: absorbs raw rows (window assignment, late filter, typed hash aggregation) or partial
 * aggregates from other threads, and emits per output mode.
 *
 * @example
 * const p = new AggregatePartition(analysis, inputSchema);
 * p.startBatch(info); p.absorb(batch, seqBase, info); const { output } = p.finish(info);
 */
export class AggregatePartition implements PartitionOperator {
  readonly state: AggregateState;
  private readonly sizeMs: number;
  private readonly windowSlots: number;
  private lateGroups: GroupTable | null = null;

  constructor(
    readonly analysis: AggregateAnalysis,
    readonly inputSchema: Schema,
  ) {
    this.state = new AggregateState(aggregateLayout(analysis));
    this.sizeMs = analysis.window?.kind === 'time' ? analysis.window.sizeMs : 0;
    this.windowSlots = analysis.window?.kind === 'time' ? 1 : 0;
  }

  get partialSchema(): Schema {
    return this.stateSchema;
  }
  get outputSchema(): Schema {
    return this.analysis.schema;
  }
  get stateSchema(): Schema {
    return this.state.stateSchema;
  }
  get stateKeyCount(): number {
    return this.state.layout.keyTypes.length;
  }
  get partitionKeyColumns(): number[] {
    return this.analysis.keys.map((_, i) => i + this.windowSlots);
  }

  startBatch(): void {
    this.state.startBatch();
    this.lateGroups = null;
  }

  /** Evaluates keys and window pairs of a batch; drops (and reports) late pairs when asked. */
  private pairs(batch: RecordBatch, info: BatchInfo, env: EvalEnv) {
    const a = this.analysis;
    const w = a.window?.kind === 'time' ? a.window : null;
    const keyVecs = a.keys.map((k) => evaluate(k.bound, batch, this.inputSchema, env));
    const inputs = a.aggs.map((x) => (x.input ? evaluate(x.input, batch, this.inputSchema, env) : null));
    let rows: Int32Array | null = null;
    let m = batch.numRows;
    let starts: Float64Array | null = null;
    if (w) {
      const tv = evaluate(w.time, batch, this.inputSchema, env) as NumVec;
      const asg = assignWindows(tv, w.sizeMs, w.slideMs, w.startMs);
      rows = asg.rows;
      m = asg.count;
      starts = asg.starts;
    }
    let late: { rows: Int32Array; starts: Float64Array | null } | null = null;
    const dropLate = info.streaming && info.outputMode !== 'complete' && a.eventTime !== null;
    if (dropLate) {
      const lateWm = info.lateWatermarkMs;
      const lateIdx: number[] = [];
      const keepRows = new Int32Array(m);
      const keepStarts = starts ? new Float64Array(m) : null;
      let kept = 0;
      const keyTime = a.eventTime !== 'window' && a.eventTime !== null ? (keyVecs[a.eventTime.key] as NumVec) : null;
      for (let i = 0; i < m; i++) {
        const r = rows === null ? i : rows[i]!;
        let evt: number;
        if (keyTime === null) evt = starts![i]! + this.sizeMs;
        else evt = keyTime.valid !== null && keyTime.valid[r] === 0 ? Infinity : keyTime.values[r]!;
        if (evt <= lateWm) {
          lateIdx.push(i);
          continue;
        }
        keepRows[kept] = r;
        if (keepStarts) keepStarts[kept] = starts![i]!;
        kept++;
      }
      if (lateIdx.length > 0) {
        const lr = new Int32Array(lateIdx.length);
        const ls = starts ? new Float64Array(lateIdx.length) : null;
        lateIdx.forEach((i, j) => {
          lr[j] = rows === null ? i : rows[i]!;
          if (ls) ls[j] = starts![i]!;
        });
        late = { rows: lr, starts: ls };
        rows = keepRows;
        starts = keepStarts;
        m = kept;
      }
    }
    return { keyVecs, inputs, rows, starts, m, late };
  }

  absorb(batch: RecordBatch, seqBase: number, info: BatchInfo): void {
    if (batch.numRows === 0) return;
    const { keyVecs, inputs, rows, starts, m, late } = this.pairs(batch, info, envOf(info, seqBase));
    if (late) this.countLate([...(late.starts ? [late.starts] : []), ...keyVecs], late.rows);
    const keyCols: (Vec | Float64Array)[] = starts ? [starts.subarray(0, m), ...keyVecs] : keyVecs;
    this.state.absorb(keyCols, rows, m, inputs, seqBase);
  }

  /** Spark counts late groups, not rows: distinct late keys of this batch. */
  private countLate(cols: readonly (Vec | Float64Array)[], rows: Int32Array): void {
    const keys = this.state.codec.encode(cols, rows, rows.length);
    this.lateGroups ??= new GroupTable(this.state.codec.width, 64);
    this.lateGroups.findOrInsert(keys, rows.length, new Int32Array(rows.length));
  }

  partial(batch: RecordBatch, seqBase: number, info: BatchInfo, partitions: number): PartialResult {
    const scratch = new AggregatePartition(this.analysis, this.inputSchema);
    const { keyVecs, inputs, rows, starts, m, late } = scratch.pairs(batch, info, envOf(info, seqBase));
    const keyCols: (Vec | Float64Array)[] = starts ? [starts.subarray(0, m), ...keyVecs] : keyVecs;
    scratch.state.absorb(keyCols, rows, m, inputs, seqBase);
    const all = scratch.state.stateBatch(scratch.state.allGroups());
    const partials = split(all, this.stateSchema, this.partitionKeyColumns, partitions);
    let lateKeys: (RecordBatch | null)[] = new Array(partitions).fill(null);
    if (late) {
      const lateSchema: Schema = { fields: this.stateSchema.fields.slice(0, this.stateKeyCount) };
      const lateCols: Vec[] = [];
      if (late.starts) lateCols.push({ kind: 'num', type: 'timestamp', length: late.starts.length, values: late.starts, big: null, valid: null });
      for (const kv of keyVecs) lateCols.push(gatherVec(kv, late.rows));
      lateKeys = split(batchFromVecs(lateSchema, lateCols, late.rows.length), lateSchema, this.partitionKeyColumns, partitions);
    }
    return { partials, lateKeys, lateRows: 0 };
  }

  absorbPartial(partial: RecordBatch | null, lateKeys: RecordBatch | null): void {
    if (partial && partial.numRows > 0) {
      this.state.absorbPartials(partial, new AggregateState(this.state.layout));
    }
    if (lateKeys && lateKeys.numRows > 0) {
      const schema: Schema = { fields: this.stateSchema.fields.slice(0, this.stateKeyCount) };
      const cols = schema.fields.map((_, i) => columnVec(lateKeys, schema, i));
      this.countLate(cols, identity(lateKeys.numRows));
    }
  }

  finish(info: BatchInfo): { output: RecordBatch | null; metrics: PartitionMetrics } {
    const a = this.analysis;
    const st = this.state;
    if (!info.streaming && a.keys.length === 0 && a.window === null && st.size === 0) {
      // A global aggregate over no rows still has one group (count 0, sum null), as in SQL.
      st.groupIds(st.codec.encode([], null, 1), 1);
    }
    let updated = 0;
    for (let g = 0; g < st.size; g++) updated += st.updated[g]!;
    let out: RecordBatch;
    let removed = 0;
    if (!info.streaming || info.outputMode === 'complete') out = this.outputBatch(st.allGroups());
    else if (info.outputMode === 'update') {
      out = this.outputBatch(st.updatedGroups());
      if (a.eventTime !== null) {
        const closed = st.groupsUpTo(info.evictionWatermarkMs);
        removed = closed.length;
        st.remove(closed);
      }
    } else {
      const closed = a.eventTime !== null ? st.groupsUpTo(info.evictionWatermarkMs) : new Int32Array(0);
      out = this.outputBatch(closed);
      removed = closed.length;
      st.remove(closed);
    }
    return {
      output: out.numRows > 0 ? out : null,
      metrics: {
        numRowsTotal: st.size,
        numRowsUpdated: updated,
        numRowsRemoved: removed,
        numRowsDroppedByWatermark: this.lateGroups?.size ?? 0,
        memoryUsedBytes: st.memoryBytes(),
      },
    };
  }

  /** Output rows: grouping columns in groupBy order, then aggregates. */
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
    return batchFromVecs(a.schema, cols, gids.length);
  }

  takeDelta(): RecordBatch | null {
    return this.state.takeDelta();
  }
  snapshot(): RecordBatch | null {
    return this.state.size > 0 ? this.state.stateBatch(this.state.allGroups()) : null;
  }
  restore(rows: RecordBatch | null): void {
    this.state.restore(rows);
  }
}

function identity(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}


/**
 * Splits rows by the partition of their key columns (`partitionIds`); null for a partition with no rows.
 *
 * @example
 * split(batch, schema, [0], 2); // [rows of partition 0, rows of partition 1]
 */
export function split(batch: RecordBatch, schema: Schema, keyColumns: readonly number[], partitions: number): (RecordBatch | null)[] {
  const n = batch.numRows;
  if (partitions <= 1) return [n > 0 ? batch : null];
  const sels = rowsByPartition(partitionIds(keyColumns.map((c) => columnVec(batch, schema, c)), null, n, partitions), partitions);
  return sels.map((sel) => (sel.length === 0 ? null : gatherBatch(batch, schema, sel)));
}
