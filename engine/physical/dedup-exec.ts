/**
 * `dropDuplicates(cols)` and `dropDuplicatesWithinWatermark(cols)`: emits the first row of each key and remembers the
 * key. In streaming, rows whose watermark column is ≤ the late-events watermark are dropped; `dropDuplicates` forgets
 * keys once the watermark passes their event time (only when the watermark column is a key), the within-watermark
 * variant once it passes `eventTime + delay` of the first occurrence (Spark's StreamingDeduplicate[WithinWatermark]Exec).
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import { gatherBatch } from '../kernels/select-kernel.js';
import type { NumVec, Vec } from '../kernels/vec.js';
import { typeToString, type Schema } from '../types/data-type.js';
import { columnVec } from '../types/values.js';
import { AggregateState } from '../state/aggregate-state.js';
import { StateStore } from '../state/state-store.js';
import { ExecNode, emptyMetrics, type ExecContext, type StatefulOperator, type StateOperatorMetrics } from './exec-node.js';

/** `DedupExec: keys=[id] watermark=eventTime` */
export class DedupExec extends ExecNode implements StatefulOperator {
  operatorId = 0;
  readonly operatorName: string;
  readonly state: AggregateState;
  private m: StateOperatorMetrics;
  private lastEvictionWm: number | null = null;

  /**
   * @param keyOrdinals input columns that form the key
   * @param watermark the input's watermark column (ordinal) and delay, if any
   */
  constructor(
    readonly child: ExecNode,
    readonly keyOrdinals: readonly number[],
    readonly watermark: { readonly ordinal: number; readonly delayMs: number } | null,
    readonly withinWatermark: boolean,
  ) {
    super();
    const fields = child.schema.fields;
    const wmKey = watermark ? keyOrdinals.indexOf(watermark.ordinal) : -1;
    this.operatorName = withinWatermark ? 'dedupeWithinWatermark' : 'dedupe';
    this.m = emptyMetrics(this.operatorName);
    this.state = new AggregateState({
      keyNames: keyOrdinals.map((o) => fields[o]!.name),
      keyTypes: keyOrdinals.map((o) => fields[o]!.type),
      specs: withinWatermark ? [{ fn: 'max', input: 'timestamp', output: 'timestamp' }] : [],
      eventTimeSlot: !withinWatermark && wmKey >= 0 ? wmKey : null,
      windowSizeMs: null,
    });
  }

  get schema(): Schema {
    return this.child.schema;
  }
  get children() {
    return [this.child];
  }

  async *execute(ctx: ExecContext): AsyncIterable<RecordBatch> {
    const t0 = performance.now();
    const schema = this.child.schema;
    const st = this.state;
    const wm = this.watermark;
    const dropLate = ctx.streaming && wm !== null;
    let late = 0;
    let updated = 0;
    for await (const batch of this.child.execute(ctx)) {
      const n = batch.numRows;
      if (n === 0) continue;
      let sel: Int32Array | null = null;
      let tv: NumVec | null = null;
      if (wm !== null) tv = columnVec(batch, schema, wm.ordinal) as NumVec;
      if (dropLate) {
        const lateWm = ctx.lateWatermarkMs;
        const keep: number[] = [];
        for (let i = 0; i < n; i++) {
          if (tv!.valid === null || tv!.valid[i] === 1) {
            if (tv!.values[i]! <= lateWm) {
              late++;
              continue;
            }
          }
          keep.push(i);
        }
        if (keep.length !== n) sel = Int32Array.from(keep);
      }
      const m = sel ? sel.length : n;
      if (m === 0) continue;
      const keyCols: Vec[] = this.keyOrdinals.map((o) => columnVec(batch, schema, o));
      const before = st.size;
      const gids = st.groupIds(st.codec.encode(keyCols, sel, m), m);
      const first = new Uint8Array(st.size - before);
      const out: number[] = [];
      const outGids: number[] = [];
      for (let i = 0; i < m; i++) {
        const g = gids[i]!;
        if (g >= before && first[g - before] === 0) {
          first[g - before] = 1;
          out.push(sel ? sel[i]! : i);
          outGids.push(g);
          st.dirty[g] = 1;
        }
      }
      updated += out.length;
      if (out.length === 0) continue;
      const rows = Int32Array.from(out);
      if (this.withinWatermark && tv !== null) {
        const expiry = new Float64Array(n);
        for (let i = 0; i < n; i++) expiry[i] = tv.values[i]! + wm!.delayMs;
        const ev: NumVec = { kind: 'num', type: 'timestamp', length: n, values: expiry, big: null, valid: tv.valid };
        const og = Int32Array.from(outGids);
        st.acc.update(og, rows, og.length, [ev], 0);
        for (let i = 0; i < og.length; i++) st.evt[og[i]!] = tv.valid && !tv.valid[rows[i]!] ? NaN : expiry[rows[i]!]!;
      }
      yield gatherBatch(batch, schema, rows);
    }
    const t1 = performance.now();
    let removed = 0;
    if (ctx.streaming && wm !== null && (this.withinWatermark || st.layout.eventTimeSlot !== null)) {
      const gone = st.groupsUpTo(ctx.evictionWatermarkMs);
      removed = gone.length;
      st.remove(gone);
    }
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
  }

  describe(): string {
    const keys = this.keyOrdinals.map((o) => this.schema.fields[o]!.name).join(', ');
    return `DedupExec: keys=[${keys}]${this.watermark ? ` watermark=${this.schema.fields[this.watermark.ordinal]!.name}` : ''}${this.withinWatermark ? ' withinWatermark' : ''}`;
  }

  stateSignature(): string {
    return `${this.operatorName}(${this.state.stateSchema.fields.map((f) => `${f.name}:${typeToString(f.type)}`).join(',')})`;
  }

  private store(dir: string): StateStore {
    return new StateStore(dir, this.state.stateSchema, this.state.layout.keyTypes.length);
  }

  async restore(stateDir: (p: number) => string, version: number): Promise<void> {
    this.state.restore(await this.store(stateDir(0)).load(version));
    if (this.withinWatermark) {
      const all = this.state.allGroups();
      const v = this.state.acc.output(all)[0] as NumVec;
      for (let i = 0; i < all.length; i++) this.state.evt[all[i]!] = v.valid && !v.valid[i] ? NaN : v.values[i]!;
    }
  }

  async commit(stateDir: (p: number) => string, version: number, snapshot: boolean): Promise<void> {
    const t0 = performance.now();
    const store = this.store(stateDir(0));
    await store.commit(version, this.state.takeDelta());
    if (snapshot) await store.snapshot(version, this.state.size > 0 ? this.state.stateBatch(this.state.allGroups()) : null);
    this.m.commitTimeMs = Math.round(performance.now() - t0);
  }

  async purge(stateDir: (p: number) => string, minVersion: number): Promise<void> {
    await this.store(stateDir(0)).purge(minVersion);
  }

  metrics(): StateOperatorMetrics {
    return this.m;
  }

  needsNoDataBatch(newWatermarkMs: number): boolean {
    return this.watermark !== null && this.lastEvictionWm !== null && newWatermarkMs > this.lastEvictionWm;
  }
}
