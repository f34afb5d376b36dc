/**
 * One partition of a session-window aggregation.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import type { AggregateAnalysis } from '../../logical/analyzer.js';
import type { Bound } from '../../logical/bound-expr.js';
import { evaluate, type EvalEnv } from '../../kernels/expr-kernel.js';
import { assignSessions } from '../../kernels/window-kernel.js';
import { Accumulators } from '../../kernels/agg-kernel.js';
import { strAt, windowStructVec, type NumVec, type StrVec, type Vec } from '../../kernels/vec.js';
import type { Schema } from '../../types/data-type.js';
import { parseDuration } from '../../types/duration.js';
import { batchFromVecs, columnVec } from '../../types/values.js';
import { SessionState } from '../../state/session-state.js';
import { defineAggregateKind, envOf, mainTable, split } from './aggregate-partition.js';
import type { BatchInfo, KeyedOperator, MapSide, PartialResult, PartitionMetrics, StateTable } from './keyed-operator.js';

type SessionWindow = Extract<NonNullable<AggregateAnalysis['window']>, { kind: 'session' }>;

/**
 * Each row's session gap in ms: a constant, or a per-row expression evaluated over the batch (numbers are ms; duration
 * strings are parsed once per distinct text). A null or unparseable gap is NaN, which drops the row, as Spark.
 *
 * @example
 * const { gaps, valid } = sessionGaps(window.gap, batch, schema, env); // for assignSessions(time, gaps, valid)
 */
export function sessionGaps(gap: number | Bound, batch: RecordBatch, schema: Schema, env: EvalEnv): { gaps: number | Float64Array; valid: Uint8Array | null } {
  if (typeof gap === 'number') return { gaps: gap, valid: null };
  const v = evaluate(gap, batch, schema, env);
  const n = batch.numRows;
  if (v.kind === 'num') return { gaps: v.values, valid: v.valid };
  if (v.kind === 'null') return { gaps: new Float64Array(n).fill(NaN), valid: null };
  const s = v as StrVec;
  const out = new Float64Array(n);
  const cache = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    if (s.valid !== null && s.valid[i] === 0) {
      out[i] = NaN;
      continue;
    }
    const text = strAt(s, i);
    let ms = cache.get(text);
    if (ms === undefined) {
      try {
        ms = parseDuration(text);
      } catch {
        ms = NaN;
      }
      cache.set(text, ms);
    }
    out[i] = ms;
  }
  return { gaps: out, valid: null };
}

/**
 * Sessions of one partition: rows open `[t, t + gap)` and merge per key.
 *
 * @example
 * const p = new SessionPartition(analysis, inputSchema);
 */
export class SessionPartition implements KeyedOperator, MapSide {
  readonly state: SessionState;
  /** One table, the partition folder itself (`''`). */
  readonly tables: readonly StateTable[];
  /** Measured: a chunk's sessions are about as many rows as the chunk, so big inputs go straight to their owners. */
  readonly firstRoute = 'direct';
  private late = 0;

  constructor(
    readonly analysis: AggregateAnalysis,
    readonly inputSchema: Schema,
  ) {
    this.state = new SessionState(
      analysis.keys.map((k) => k.name),
      analysis.keys.map((k) => k.type),
      analysis.aggs.map((a) => a.spec),
    );
    this.tables = [mainTable(this.state.stateSchema, this.stateKeyCount, this.partitionKeyColumns)];
  }

  /** Sessions per chunk (`partial`, `absorbPartial`), unused by default (`firstRoute`). */
  get mapSide(): MapSide {
    return this;
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
    return this.state.stateKeyCount;
  }
  get partitionKeyColumns(): number[] {
    return this.analysis.keys.map((_, i) => i);
  }

  private get window(): SessionWindow {
    return this.analysis.window as SessionWindow;
  }

  private rows(batch: RecordBatch, info: BatchInfo, seqBase: number) {
    const a = this.analysis;
    const env = envOf(info, seqBase);
    const keyVecs = a.keys.map((k) => evaluate(k.bound, batch, this.inputSchema, env));
    const inputs = a.aggs.map((x) => (x.input ? evaluate(x.input, batch, this.inputSchema, env) : null));
    const tv = evaluate(this.window.time, batch, this.inputSchema, env) as NumVec;
    const { gaps, valid } = sessionGaps(this.window.gap, batch, this.inputSchema, env);
    const asg = assignSessions(tv, gaps, valid);
    const { rows, starts, ends } = asg;
    let m = asg.count;
    let late = 0;
    if (info.streaming && a.eventTime !== null) {
      const wm = info.lateWatermarkMs;
      let kept = 0;
      for (let i = 0; i < m; i++) {
        if (ends[i]! <= wm) {
          late++;
          continue;
        }
        rows[kept] = rows[i]!;
        starts[kept] = starts[i]!;
        ends[kept] = ends[i]!;
        kept++;
      }
      m = kept;
    }
    return { keyVecs, inputs, rows: rows.subarray(0, m), starts, ends, m, late };
  }

  startBatch(): void {
    this.late = 0;
    this.state.takeTouched();
  }

  absorb(batch: RecordBatch, seqBase: number, info: BatchInfo, _input = 0): void {
    if (batch.numRows === 0) return;
    const r = this.rows(batch, info, seqBase);
    this.late += r.late;
    this.state.absorb(r.keyVecs, r.rows, r.starts, r.ends, r.m, r.inputs, seqBase);
  }

  partial(batch: RecordBatch, seqBase: number, info: BatchInfo, partitions: number): PartialResult {
    const scratch = new SessionPartition(this.analysis, this.inputSchema);
    const r = scratch.rows(batch, info, seqBase);
    scratch.state.absorb(r.keyVecs, r.rows, r.starts, r.ends, r.m, r.inputs, seqBase);
    const all = scratch.state.allSessions();
    const partials = all.length === 0 ? new Array(partitions).fill(null) : split(scratch.state.stateBatch(all), this.stateSchema, this.partitionKeyColumns, partitions);
    return { partials, lateKeys: new Array(partitions).fill(null), lateRows: r.late };
  }

  absorbPartial(partial: RecordBatch | null, _lateKeys: RecordBatch | null, lateRows: number, _info?: BatchInfo, _panes?: boolean): void {
    this.late += lateRows;
    if (!partial || partial.numRows === 0) return;
    const schema = this.stateSchema;
    const kc = this.analysis.keys.length;
    const n = partial.numRows;
    const keyCols = schema.fields.slice(0, kc).map((_, i) => columnVec(partial, schema, i));
    const starts = (columnVec(partial, schema, kc) as NumVec).values;
    const ends = (columnVec(partial, schema, kc + 1) as NumVec).values;
    const acc = new Accumulators(this.analysis.aggs.map((a) => a.spec));
    const ids = new Int32Array(n);
    for (let i = 0; i < n; i++) ids[i] = i;
    acc.ensure(n, 0);
    acc.fromState(schema.fields.slice(kc + 2).map((_, i) => columnVec(partial, schema, kc + 2 + i)), ids);
    this.state.absorbSessions(keyCols, starts, ends, n, acc);
  }

  finish(info: BatchInfo): { output: RecordBatch | null; metrics: PartitionMetrics } {
    const st = this.state;
    const updated = st.takeTouched();
    let out: RecordBatch;
    let removed = 0;
    if (!info.streaming || info.outputMode === 'complete') out = this.outputBatch(st.allSessions());
    else {
      const closed = this.analysis.eventTime !== null ? st.sessionsEndingBy(info.evictionWatermarkMs) : new Int32Array(0);
      out = this.outputBatch(closed);
      removed = closed.length;
      st.remove(closed);
    }
    st.maintain();
    return {
      output: out.numRows > 0 ? out : null,
      metrics: {
        numRowsTotal: st.size,
        numRowsUpdated: updated,
        numRowsRemoved: removed,
        numRowsDroppedByWatermark: this.late,
        memoryUsedBytes: st.memoryBytes(),
      },
    };
  }

  /** Output rows: grouping columns in groupBy order (the session window as `{start, end}`), then aggregates. */
  outputBatch(ids: Int32Array): RecordBatch {
    const a = this.analysis;
    const st = this.state;
    const keys = st.keyVecs(ids);
    const n = ids.length;
    const s = new Float64Array(n);
    const e = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = st.start[ids[i]!]!;
      e[i] = st.end[ids[i]!]!;
    }
    const win = windowStructVec(s, e);
    const cols: Vec[] = [];
    let k = 0;
    for (let pos = 0; pos <= a.keys.length; pos++) cols.push(pos === a.window!.position ? win : keys[k++]!);
    cols.push(...st.acc.output(ids));
    return batchFromVecs(a.schema, cols, n);
  }

  takeDelta(_table = ''): RecordBatch | null {
    return this.state.takeDelta();
  }
  snapshot(_table = ''): RecordBatch | null {
    const all = this.state.allSessions();
    return all.length > 0 ? this.state.stateBatch(all) : null;
  }
  restore(tables: ReadonlyMap<string, RecordBatch | null>): void {
    this.state.restore(tables.get('') ?? null);
  }
}

/** The `session` kind: session window aggregation. */
export const SESSION_KIND = defineAggregateKind('session', (analysis, input) => new SessionPartition(analysis, input));
