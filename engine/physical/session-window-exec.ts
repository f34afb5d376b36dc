/**
 * Session-window aggregation: rows start sessions `[t, t + gap)` that merge per key when they overlap or touch; in
 * streaming, late rows (session end ≤ the late-events watermark) are dropped and counted one by one, and append mode
 * emits a session once its end is ≤ the eviction watermark.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import type { AggregateAnalysis } from '../logical/analyzer.js';
import { evaluate } from '../kernels/expr-kernel.js';
import { assignSessions } from '../kernels/window-kernel.js';
import { strAt, type NumVec, type StrVec, type Vec } from '../kernels/vec.js';
import { typeToString, WINDOW_TYPE, type Schema } from '../types/data-type.js';
import { formatDuration, parseDuration } from '../types/duration.js';
import { batchFromVecs } from '../types/values.js';
import { SessionState } from '../state/session-state.js';
import { StateStore } from '../state/state-store.js';
import { ExecNode, emptyMetrics, type ExecContext, type StatefulOperator, type StateOperatorMetrics } from './exec-node.js';
import { SEQ_PER_BATCH } from './window-aggregate-exec.js';

/** `SessionWindowExec: gap=10 seconds keys=[user] aggs=[count(1)]` */
export class SessionWindowExec extends ExecNode implements StatefulOperator {
  operatorId = 0;
  readonly operatorName = 'sessionWindowStateStoreSaveExec';
  readonly state: SessionState;
  private m: StateOperatorMetrics = emptyMetrics('sessionWindowStateStoreSaveExec');
  private lastEvictionWm: number | null = null;
  private outputMode: string | null = null;

  constructor(
    readonly child: ExecNode,
    readonly analysis: AggregateAnalysis,
  ) {
    super();
    if (analysis.window?.kind !== 'session') throw new Error('SessionWindowExec needs a session window');
    this.state = new SessionState(
      analysis.keys.map((k) => k.name),
      analysis.keys.map((k) => k.type),
      analysis.aggs.map((a) => a.spec),
    );
  }

  get schema(): Schema {
    return this.analysis.schema;
  }
  get children() {
    return [this.child];
  }

  private gaps(batch: RecordBatch, ctx: ExecContext): { gaps: number | Float64Array; valid: Uint8Array | null } {
    const w = this.analysis.window as Extract<AggregateAnalysis['window'], { kind: 'session' }>;
    if (typeof w.gap === 'number') return { gaps: w.gap, valid: null };
    const v = evaluate(w.gap, batch, this.child.schema, ctx.env);
    const n = batch.numRows;
    if (v.kind === 'num') return { gaps: v.values, valid: v.valid };
    if (v.kind === 'null') return { gaps: new Float64Array(n).fill(NaN), valid: null };
    // Duration strings: parse each distinct text once; an unparseable gap drops the row, as Spark.
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

  async *execute(ctx: ExecContext): AsyncIterable<RecordBatch> {
    const t0 = performance.now();
    const a = this.analysis;
    const w = a.window as Extract<AggregateAnalysis['window'], { kind: 'session' }>;
    const inSchema = this.child.schema;
    const st = this.state;
    this.outputMode = ctx.outputMode;
    const dropLate = ctx.streaming && a.eventTime !== null;
    let late = 0;
    let rowOffset = 0;
    st.takeTouched();
    for await (const batch of this.child.execute(ctx)) {
      const n = batch.numRows;
      if (n === 0) continue;
      const keyVecs = a.keys.map((k) => evaluate(k.bound, batch, inSchema, ctx.env));
      const inputs = a.aggs.map((x) => (x.input ? evaluate(x.input, batch, inSchema, ctx.env) : null));
      const tv = evaluate(w.time, batch, inSchema, ctx.env) as NumVec;
      const { gaps, valid } = this.gaps(batch, ctx);
      const asg = assignSessions(tv, gaps, valid);
      let { rows, starts, ends } = asg;
      let m = asg.count;
      if (dropLate) {
        const wm = ctx.lateWatermarkMs;
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
      st.absorb(keyVecs, rows.subarray(0, m), starts, ends, m, inputs, ctx.batchId * SEQ_PER_BATCH + rowOffset);
      rowOffset += n;
    }
    const t1 = performance.now();
    const updated = st.takeTouched();
    let out: RecordBatch;
    let removed = 0;
    if (!ctx.streaming || ctx.outputMode === 'complete') out = this.outputBatch(st.allSessions());
    else {
      const closed = a.eventTime !== null ? st.sessionsEndingBy(ctx.evictionWatermarkMs) : new Int32Array(0);
      out = this.outputBatch(closed);
      removed = closed.length;
      st.remove(closed);
    }
    st.maintain();
    if (ctx.streaming) this.lastEvictionWm = ctx.evictionWatermarkMs;
    this.m = {
      ...emptyMetrics(this.operatorName),
      numRowsTotal: st.size,
      numRowsUpdated: updated,
      numRowsRemoved: removed,
      numRowsDroppedByWatermark: late,
      memoryUsedBytes: st.memoryBytes(),
      allUpdatesTimeMs: Math.round(t1 - t0),
      allRemovalsTimeMs: Math.round(performance.now() - t1),
    };
    if (out.numRows > 0) yield out;
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
    const win: Vec = {
      kind: 'struct',
      type: WINDOW_TYPE,
      length: n,
      fields: [
        { kind: 'num', type: 'timestamp', length: n, values: s, big: null, valid: null },
        { kind: 'num', type: 'timestamp', length: n, values: e, big: null, valid: null },
      ],
      valid: null,
    };
    const cols: Vec[] = [];
    let k = 0;
    for (let pos = 0; pos <= a.keys.length; pos++) cols.push(pos === a.window!.position ? win : keys[k++]!);
    cols.push(...st.acc.output(ids));
    return batchFromVecs(this.schema, cols, n);
  }

  describe(): string {
    const w = this.analysis.window as Extract<AggregateAnalysis['window'], { kind: 'session' }>;
    const gap = typeof w.gap === 'number' ? formatDuration(w.gap) : 'per-row';
    return `SessionWindowExec: gap=${gap} keys=[${this.analysis.keys.map((k) => k.name).join(', ')}] aggs=[${this.analysis.aggs.map((x) => x.name).join(', ')}]`;
  }

  stateSignature(): string {
    return `session(${this.state.stateSchema.fields.map((f) => `${f.name}:${typeToString(f.type)}`).join(',')})`;
  }

  private store(dir: string): StateStore {
    return new StateStore(dir, this.state.stateSchema, this.state.stateKeyCount);
  }

  async restore(stateDir: (p: number) => string, version: number): Promise<void> {
    this.state.restore(await this.store(stateDir(0)).load(version));
  }

  async commit(stateDir: (p: number) => string, version: number, snapshot: boolean): Promise<void> {
    const t0 = performance.now();
    const store = this.store(stateDir(0));
    await store.commit(version, this.state.takeDelta());
    if (snapshot) {
      const all = this.state.allSessions();
      await store.snapshot(version, all.length > 0 ? this.state.stateBatch(all) : null);
    }
    this.m.commitTimeMs = Math.round(performance.now() - t0);
  }

  async purge(stateDir: (p: number) => string, minVersion: number): Promise<void> {
    await this.store(stateDir(0)).purge(minVersion);
  }

  metrics(): StateOperatorMetrics {
    return this.m;
  }

  needsNoDataBatch(newWatermarkMs: number): boolean {
    return this.outputMode === 'append' && this.analysis.eventTime !== null && this.lastEvictionWm !== null && newWatermarkMs > this.lastEvictionWm;
  }
}
