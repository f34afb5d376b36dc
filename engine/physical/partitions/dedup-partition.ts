/**
 * One partition of `dropDuplicates` / `dropDuplicatesWithinWatermark`.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import { concatVecs, gatherBatch } from '../../kernels/select-kernel.js';
import type { NumVec, Vec } from '../../kernels/vec.js';
import type { Schema } from '../../types/data-type.js';
import { batchFromVecs, columnVec } from '../../types/values.js';
import { AggregateState } from '../../state/aggregate-state.js';
import { eventTimeOf, mainTable, split } from './aggregate-partition.js';
import {
  defineOperatorKind,
  type BatchInfo,
  type KeyedOperator,
  type KeyedOperatorSpec,
  type MapSide,
  type PartialResult,
  type PartitionMetrics,
  type StateTable,
} from './keyed-operator.js';

/** How a dedup is set up (plain data: it crosses to worker threads). */
export interface DedupSpec {
  readonly keyOrdinals: readonly number[];
  readonly watermark: { readonly ordinal: number; readonly delayMs: number } | null;
  readonly withinWatermark: boolean;
}

/**
 * Keys seen by one partition; emits the first row of each new key.
 *
 * @example
 * const p = new DedupPartition(spec, inputSchema);
 */
export class DedupPartition implements KeyedOperator, MapSide {
  readonly state: AggregateState;
  /** One table, the partition folder itself (`''`). */
  readonly tables: readonly StateTable[];
  /** Measured: most rows of a chunk are new keys, so big inputs go straight to their owners. */
  readonly firstRoute = 'direct';
  private late = 0;
  private updated = 0;
  private out: RecordBatch[] = [];

  constructor(
    readonly spec: DedupSpec,
    readonly inputSchema: Schema,
  ) {
    const fields = inputSchema.fields;
    const wmKey = spec.watermark ? spec.keyOrdinals.indexOf(spec.watermark.ordinal) : -1;
    this.state = new AggregateState({
      keyNames: spec.keyOrdinals.map((o) => fields[o]!.name),
      keyTypes: spec.keyOrdinals.map((o) => fields[o]!.type),
      specs: spec.withinWatermark ? [{ fn: 'max', input: 'timestamp', output: 'timestamp' }] : [],
      eventTimeSlot: !spec.withinWatermark && wmKey >= 0 ? wmKey : null,
      windowSizeMs: null,
    });
    this.tables = [mainTable(this.state.stateSchema, this.stateKeyCount, this.partitionKeyColumns)];
  }

  /** Repeats dropped per chunk (`partial`, `absorbPartial`), unused by default (`firstRoute`). */
  get mapSide(): MapSide {
    return this;
  }

  get partialSchema(): Schema {
    return this.inputSchema;
  }
  get outputSchema(): Schema {
    return this.inputSchema;
  }
  get stateSchema(): Schema {
    return this.state.stateSchema;
  }
  get stateKeyCount(): number {
    return this.spec.keyOrdinals.length;
  }
  get partitionKeyColumns(): number[] {
    return this.spec.keyOrdinals.map((_, i) => i);
  }

  startBatch(): void {
    this.late = 0;
    this.updated = 0;
    this.out = [];
  }

  /** Rows that are not late (by the input's watermark column). */
  private notLate(batch: RecordBatch, info: BatchInfo): { sel: Int32Array | null; late: number } {
    const wm = this.spec.watermark;
    if (!info.streaming || wm === null) return { sel: null, late: 0 };
    const tv = eventTimeOf(columnVec(batch, this.inputSchema, wm.ordinal));
    const lateWm = info.lateWatermarkMs;
    const keep: number[] = [];
    let late = 0;
    for (let i = 0; i < batch.numRows; i++) {
      if ((tv.valid === null || tv.valid[i] === 1) && tv.values[i]! <= lateWm) late++;
      else keep.push(i);
    }
    return { sel: late > 0 ? Int32Array.from(keep) : null, late };
  }

  absorb(batch: RecordBatch, _seqBase: number, info: BatchInfo, _input = 0): void {
    const n = batch.numRows;
    if (n === 0) return;
    const { sel, late } = this.notLate(batch, info);
    this.late += late;
    const m = sel ? sel.length : n;
    if (m === 0) return;
    const st = this.state;
    const keyCols: Vec[] = this.spec.keyOrdinals.map((o) => columnVec(batch, this.inputSchema, o));
    const before = st.size;
    const gids = st.groupIds(st.codec.encode(keyCols, sel, m), m);
    const first = new Uint8Array(st.size - before);
    const rows: number[] = [];
    const outGids: number[] = [];
    for (let i = 0; i < m; i++) {
      const g = gids[i]!;
      if (g >= before && first[g - before] === 0) {
        first[g - before] = 1;
        rows.push(sel ? sel[i]! : i);
        outGids.push(g);
        st.markDirty(g);
      }
    }
    this.updated += rows.length;
    if (rows.length === 0) return;
    const r = Int32Array.from(rows);
    const wm = this.spec.watermark;
    if (this.spec.withinWatermark && wm !== null) {
      const ev = expiryOf(columnVec(batch, this.inputSchema, wm.ordinal) as NumVec, wm.delayMs);
      const og = Int32Array.from(outGids);
      st.acc.update(og, r, og.length, [ev], 0);
      for (let i = 0; i < og.length; i++) st.evt[og[i]!] = ev.values[r[i]!]!;
    }
    this.out.push(gatherBatch(batch, this.inputSchema, r));
  }

  partial(batch: RecordBatch, _seqBase: number, info: BatchInfo, partitions: number): PartialResult {
    // Map side: drop late rows and repeats within the chunk; the owner keeps the first occurrence across chunks
    // because it absorbs chunks in arrival order.
    const scratch = new DedupPartition(this.spec, this.inputSchema);
    scratch.absorb(batch, 0, info);
    const kept = scratch.out.length > 0 ? scratch.out[0]! : null;
    const partials = kept === null ? new Array(partitions).fill(null) : split(kept, this.inputSchema, this.spec.keyOrdinals, partitions);
    return { partials, lateKeys: new Array(partitions).fill(null), lateRows: scratch.late };
  }

  absorbPartial(partial: RecordBatch | null, _lateKeys: RecordBatch | null, lateRows: number, info?: BatchInfo, _panes?: boolean): void {
    this.late += lateRows;
    if (partial && partial.numRows > 0) {
      // Late rows were already dropped on the map side.
      this.absorb(partial, 0, { ...(info ?? DEFAULT_INFO), streaming: false });
    }
  }

  finish(info: BatchInfo): { output: RecordBatch | null; metrics: PartitionMetrics } {
    const st = this.state;
    let removed = 0;
    if (info.streaming && this.spec.watermark !== null && (this.spec.withinWatermark || st.layout.eventTimeSlot !== null)) {
      const gone = st.groupsUpTo(info.evictionWatermarkMs);
      removed = gone.length;
      st.remove(gone);
    }
    const out = this.out.length === 0 ? null : this.out.length === 1 ? this.out[0]! : concat(this.out, this.inputSchema);
    this.out = [];
    return {
      output: out,
      metrics: { numRowsTotal: st.size, numRowsUpdated: this.updated, numRowsRemoved: removed, numRowsDroppedByWatermark: this.late, memoryUsedBytes: st.memoryBytes() },
    };
  }

  takeDelta(_table = ''): RecordBatch | null {
    return this.state.takeDelta();
  }
  snapshot(_table = ''): RecordBatch | null {
    return this.state.size > 0 ? this.state.stateBatch(this.state.allGroups()) : null;
  }
  restore(tables: ReadonlyMap<string, RecordBatch | null>): void {
    this.state.restore(tables.get('') ?? null);
    if (this.spec.withinWatermark) {
      // A null expiry comes from a checkpoint written before null times expired: it reads as Spark's, 0 + delay.
      const all = this.state.allGroups();
      const v = this.state.acc.output(all)[0] as NumVec;
      const nullExpiry = this.spec.watermark?.delayMs ?? 0;
      for (let i = 0; i < all.length; i++) this.state.evt[all[i]!] = v.valid && !v.valid[i] ? nullExpiry : v.values[i]!;
    }
  }
}

/**
 * When each row's key expires: its event time plus the delay, a null time reading as 0 as Spark's
 * StreamingDeduplicateWithinWatermarkExec reads it (`getLong` of a null field of an UnsafeRow), so such a key expires
 * once the watermark reaches the delay instead of suppressing its later rows forever. Never null.
 *
 * @example
 * expiryOf(timeVec, 10_000).values[i]; // t + 10 s, or 10 s for a null t
 */
export function expiryOf(time: NumVec, delayMs: number): NumVec {
  const n = time.length;
  const t = time.values;
  const valid = time.valid;
  const expiry = new Float64Array(n);
  if (valid === null) for (let i = 0; i < n; i++) expiry[i] = t[i]! + delayMs;
  else for (let i = 0; i < n; i++) expiry[i] = (valid[i] === 0 ? 0 : t[i]!) + delayMs;
  return { kind: 'num', type: 'timestamp', length: n, values: expiry, big: null, valid: null };
}

/** What a dedup operator is made from (plain data). */
export interface DedupOperatorSpec extends KeyedOperatorSpec {
  readonly kind: 'dedup';
  readonly dedup: DedupSpec;
}

/** The `dedup` kind: `dropDuplicates`, `dropDuplicatesWithinWatermark` (whole rows out: every column is shipped). */
export const DEDUP_KIND = defineOperatorKind<DedupOperatorSpec>({
  kind: 'dedup',
  create: (spec) => new DedupPartition(spec.dedup, spec.inputSchemas[0]!),
  inputKeys: (spec, batch) => spec.dedup.keyOrdinals.map((o) => columnVec(batch, spec.inputSchemas[0]!, o)),
  describeKeys: (spec) => spec.dedup.keyOrdinals.map((o) => spec.inputSchemas[0]!.fields[o]!.name),
});

const DEFAULT_INFO: BatchInfo = { batchId: 0, streaming: false, outputMode: 'append', lateWatermarkMs: 0, evictionWatermarkMs: 0, batchTimestampMs: 0 };

function concat(batches: readonly RecordBatch[], schema: Schema): RecordBatch {
  const n = batches.reduce((s, b) => s + b.numRows, 0);
  return batchFromVecs(schema, schema.fields.map((_, i) => concatVecs(batches.map((b) => columnVec(b, schema, i)))), n);
}
