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
import { assignWindowsInto } from '../../kernels/window-kernel.js';
import type { Schema } from '../../types/data-type.js';
import { batchFromVecs, columnVec } from '../../types/values.js';
import { windowEnds, windowStructVec, type NumVec, type Vec } from '../../kernels/vec.js';
import { AggregateState, WINDOW_START_KEY, type AggregateLayout } from '../../state/aggregate-state.js';
import type { StateEviction } from '../../state/state-store.js';
import { boundColumns, remapColumns, type Bound } from '../../logical/bound-expr.js';
import {
  defineOperatorKind,
  type BatchInfo,
  type KeyedOperator,
  type KeyedOperatorSpec,
  type MapSide,
  type OperatorKind,
  type PartialResult,
  type PartitionMetrics,
  type StateTable,
} from './keyed-operator.js';

/** (row, window) pairs per piece of a batch: a piece's arrays stay in cache (see `AggregatePartition.pieces`). */
const PIECE_PAIRS = 16_384;

/** Rows below which a batch of sliding windows goes pair by pair instead of by panes (see `absorbByPanes`). */
const PANE_MIN_ROWS = 2048;

/** One piece of a batch: `m` pairs, their input rows, key columns (window starts by pair, the rest by row) and inputs. */
interface Piece {
  readonly keyCols: readonly (Vec | Float64Array)[];
  readonly rows: Int32Array;
  readonly m: number;
  readonly inputs: readonly (Vec | null)[];
}

/** The late (row, window start) pairs of a batch, with the batch's key columns. */
interface LatePairs {
  readonly rows: Int32Array;
  readonly starts: Float64Array | null;
  readonly keyVecs: readonly Vec[];
}

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
    timeWindow: hasTimeWindow,
  };
}

/**
 * The event times of a watermarked column: a timestamp as it is, a window column's end (Spark's watermark predicates).
 *
 * @example
 * eventTimeOf(columnVec(batch, schema, ordinal)).values[i];
 */
export function eventTimeOf(key: Vec): NumVec {
  return key.kind === 'struct' ? windowEnds(key) : (key as NumVec);
}

/** The `window {start, end}` struct column from window starts. */
export function windowVec(starts: NumVec, sizeMs: number): Vec {
  const n = starts.length;
  const ends = new Float64Array(n);
  for (let i = 0; i < n; i++) ends[i] = starts.values[i]! + sizeMs;
  return windowStructVec(starts.values, ends);
}

/** Strings the map side's scratch may hold in its key dictionary before it is replaced (see `partial`). */
const MAPPER_MAX_STRINGS = 1 << 20;

/**
 * Groups of one partition: absorbs raw rows (window assignment, late filter, typed hash aggregation) or partial
 * aggregates from other threads, and emits per output mode.
 *
 * @example
 * const p = new AggregatePartition(analysis, inputSchema);
 * p.startBatch(info); p.absorb(batch, seqBase, info); const { output } = p.finish(info);
 */
export class AggregatePartition implements KeyedOperator, MapSide {
  readonly state: AggregateState;
  /** One table, the partition folder itself (`''`): the layout of every checkpoint written before named tables. */
  readonly tables: readonly StateTable[];
  private readonly sizeMs: number;
  private readonly windowSlots: number;
  private lateGroups: GroupTable | null = null;
  /** Groups per (pane, key) of the current batch (see `absorbByPanes`), merged into the windows by `finish`. */
  private panes: AggregateState | null = null;
  private panesPending = false;
  /** The (row, window start) pairs of the current piece (see `pieces`). */
  private pieceRows = new Int32Array(0);
  private pieceStarts = new Float64Array(0);
  /**
   * The map side's scratch (see `partial`), kept between chunks: emptied per chunk with its tables' capacity, where
   * a fresh one per chunk grew its tables from the smallest size every time.
   */
  private mapper: { scratch: AggregatePartition; panes: AggregateState } | null = null;

  constructor(
    readonly analysis: AggregateAnalysis,
    readonly inputSchema: Schema,
  ) {
    this.state = new AggregateState(aggregateLayout(analysis));
    this.sizeMs = analysis.window?.kind === 'time' ? analysis.window.sizeMs : 0;
    this.windowSlots = analysis.window?.kind === 'time' ? 1 : 0;
    this.tables = [mainTable(this.state.stateSchema, this.stateKeyCount, this.partitionKeyColumns)];
  }

  /** Pre-aggregation per chunk (this partition's `partial` and `absorbPartial`). */
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
    return this.state.layout.keyTypes.length;
  }
  get partitionKeyColumns(): number[] {
    return this.analysis.keys.map((_, i) => i + this.windowSlots);
  }

  startBatch(): void {
    this.state.startBatch();
    this.lateGroups = null;
    if (this.panesPending) this.panes!.restore(null);
    this.panesPending = false;
  }

  /** Merges the batch's pane groups into their windows (before `finish` reads the windows). */
  private flushPanes(): void {
    if (!this.panesPending) return;
    const w = this.analysis.window as { sizeMs: number; slideMs: number };
    this.state.mergeWindowsOf(this.panes!, w.sizeMs / w.slideMs, w.slideMs);
    this.panes!.restore(null);
    this.panesPending = false;
  }

  /**
   * Walks a batch in pieces of about `PIECE_PAIRS` (row, window) pairs: evaluates keys and aggregate inputs once, then
   * per piece assigns windows, drops late pairs (when asked) and hands the piece to `use`. Pieces keep each step's
   * arrays (pairs, key rows, group ids) cache-sized and reused, instead of batch-sized arrays that stream through
   * memory (a 1 M-row batch of 5 windows per row made ~200 MB of them per call). Returns the batch's late pairs.
   */
  private pieces(batch: RecordBatch, info: BatchInfo, env: EvalEnv, use: (piece: Piece) => void): LatePairs | null {
    const a = this.analysis;
    const w = a.window?.kind === 'time' ? a.window : null;
    const keyVecs = a.keys.map((k) => evaluate(k.bound, batch, this.inputSchema, env));
    const inputs = a.aggs.map((x) => (x.input ? evaluate(x.input, batch, this.inputSchema, env) : null));
    const tv = w ? (evaluate(w.time, batch, this.inputSchema, env) as NumVec) : null;
    const n = batch.numRows;
    const k = w ? Math.ceil(w.sizeMs / w.slideMs) : 1;
    const step = Math.max(256, Math.floor(PIECE_PAIRS / k));
    const cap = Math.min(n, step) * k;
    this.ensurePieceArrays(cap);
    const rows = this.pieceRows;
    const starts = w ? this.pieceStarts : null;
    const dropLate = info.streaming && info.outputMode !== 'complete' && a.eventTime !== null;
    const keyTime = a.eventTime !== 'window' && a.eventTime !== null ? eventTimeOf(keyVecs[a.eventTime.key]!) : null;
    const lateWm = info.lateWatermarkMs;
    const lateRows: number[] = [];
    const lateStarts: number[] = [];
    for (let from = 0; from < n; from += step) {
      const to = Math.min(n, from + step);
      let m: number;
      if (w) m = assignWindowsInto(tv!, w.sizeMs, w.slideMs, w.startMs, null, from, to, rows, starts!);
      else {
        m = to - from;
        for (let i = 0; i < m; i++) rows[i] = from + i;
      }
      if (dropLate) {
        let kept = 0;
        for (let i = 0; i < m; i++) {
          const r = rows[i]!;
          let evt: number;
          if (keyTime === null) evt = starts![i]! + this.sizeMs;
          else evt = keyTime.valid !== null && keyTime.valid[r] === 0 ? Infinity : keyTime.values[r]!;
          if (evt <= lateWm) {
            lateRows.push(r);
            if (starts) lateStarts.push(starts[i]!);
            continue;
          }
          rows[kept] = r;
          if (starts) starts[kept] = starts[i]!;
          kept++;
        }
        m = kept;
      }
      if (m === 0) continue;
      const keyCols: (Vec | Float64Array)[] = starts ? [starts.subarray(0, m), ...keyVecs] : keyVecs;
      use({ keyCols, rows, m, inputs });
    }
    if (lateRows.length === 0) return null;
    return { rows: Int32Array.from(lateRows), starts: starts ? Float64Array.from(lateStarts) : null, keyVecs };
  }

  /** Grows the reused (row, window start) pair arrays to hold `cap` pairs. */
  private ensurePieceArrays(cap: number): void {
    if (this.pieceRows.length >= cap) return;
    this.pieceRows = new Int32Array(cap);
    this.pieceStarts = new Float64Array(cap);
  }

  /** Late pairs' key columns (window start first), for counting or for the owner of each key. */
  private static lateKeyCols(late: LatePairs): Vec[] {
    const cols: Vec[] = [];
    if (late.starts) cols.push({ kind: 'num', type: 'timestamp', length: late.starts.length, values: late.starts, big: null, valid: null });
    for (const kv of late.keyVecs) cols.push(gatherVec(kv, late.rows));
    return cols;
  }

  absorb(batch: RecordBatch, seqBase: number, info: BatchInfo, _input = 0): void {
    if (batch.numRows === 0) return;
    const late = this.absorbRows(batch, seqBase, info);
    if (late) {
      this.countLate(AggregatePartition.lateKeyCols(late), identity(late.rows.length));
    }
  }

  /** Folds a batch's rows into the groups (by panes when `absorbByPanes` takes it); returns its late pairs. */
  private absorbRows(batch: RecordBatch, seqBase: number, info: BatchInfo): LatePairs | null {
    const env = envOf(info, seqBase);
    if (this.absorbByPanes(batch, seqBase, info, env)) return null;
    const late = this.pieces(batch, info, env, (p) => this.state.absorb(p.keyCols, p.rows, p.m, p.inputs, seqBase));
    this.state.release();
    return late;
  }

  /**
   * Sliding windows whose size is a whole number `k` of slides, over a batch with no late (row, window) pair: the
   * rows are aggregated per (pane, key) first, a pane being one slide (a row is in exactly one), and at `finish` each
   * of the batch's pane groups merges into its `k` windows. The windows' table sees `k` lookups per pane group instead of `k` per row: a
   * batch has far fewer pane groups than rows when keys repeat within a slide. The result equals folding each
   * (row, window) pair (the aggregates merge exactly; first/last keep their arrival order). Returns false, having
   * done nothing, for any other window, a small batch, or a batch with a late pair (that path counts them).
   */
  private absorbByPanes(batch: RecordBatch, seqBase: number, info: BatchInfo, env: EvalEnv): boolean {
    const panes = (this.panes ??= new AggregateState(this.state.layout, this.state.codec));
    if (!this.buildPanes(batch, seqBase, info, env, panes)) return false;
    this.panesPending = true;
    return true;
  }

  /**
   * Adds the batch's rows, per (pane, key), to `panes` (see `absorbByPanes`); false (nothing added) when the batch
   * does not qualify: not sliding by a whole number of slides, small, or holding a late (row, window) pair.
   */
  private buildPanes(batch: RecordBatch, seqBase: number, info: BatchInfo, env: EvalEnv, panes: AggregateState): boolean {
    const a = this.analysis;
    const w = a.window?.kind === 'time' ? a.window : null;
    if (w === null || batch.numRows < PANE_MIN_ROWS) return false;
    const slide = w.slideMs;
    const k = w.sizeMs / slide;
    if (!Number.isInteger(k) || k < 2) return false;
    const dropLate = info.streaming && info.outputMode !== 'complete' && a.eventTime !== null;
    if (dropLate && a.eventTime !== 'window') return false;
    const tv = evaluate(w.time, batch, this.inputSchema, env) as NumVec;
    const n = batch.numRows;
    // One pane per row: a piece of PIECE_PAIRS rows.
    this.ensurePieceArrays(Math.min(n, PIECE_PAIRS));
    const rows = this.pieceRows;
    const starts = this.pieceStarts;
    if (dropLate) {
      // A row's earliest window is late first, and that window's end grows with the row's time: the batch has a
      // late pair exactly when its earliest row's earliest window (computed as `assignWindowsInto` does) is late.
      const t = tv.values;
      const valid = tv.valid;
      let min = Infinity;
      let at = -1;
      for (let i = 0; i < n; i++) {
        if ((valid === null || valid[i] !== 0) && t[i]! < min) {
          min = t[i]!;
          at = i;
        }
      }
      if (at >= 0) {
        assignWindowsInto(tv, slide, slide, w.startMs, null, at, at + 1, rows, starts);
        if (starts[0]! - (k - 1) * slide + w.sizeMs <= info.lateWatermarkMs) return false;
      }
    }
    const keyVecs = a.keys.map((key) => evaluate(key.bound, batch, this.inputSchema, env));
    const inputs = a.aggs.map((x) => (x.input ? evaluate(x.input, batch, this.inputSchema, env) : null));
    for (let from = 0; from < n; from += PIECE_PAIRS) {
      const to = Math.min(n, from + PIECE_PAIRS);
      const m = assignWindowsInto(tv, slide, slide, w.startMs, null, from, to, rows, starts);
      if (m > 0) panes.absorb([starts.subarray(0, m), ...keyVecs], rows, m, inputs, seqBase);
    }
    panes.release();
    return true;
  }

  /** Spark counts late groups, not rows: distinct late keys of this batch. */
  private countLate(cols: readonly (Vec | Float64Array)[], rows: Int32Array): void {
    const keys = this.state.codec.encode(cols, rows, rows.length);
    this.lateGroups ??= new GroupTable(this.state.codec.width, 64);
    this.lateGroups.findOrInsert(keys, rows.length, new Int32Array(rows.length));
  }

  partial(batch: RecordBatch, seqBase: number, info: BatchInfo, partitions: number): PartialResult {
    // String keys stay in the scratch's dictionary: a fresh scratch starts over once it holds many.
    if (this.mapper === null || this.mapper.scratch.state.codec.dictionarySize > MAPPER_MAX_STRINGS) {
      const s = new AggregatePartition(this.analysis, this.inputSchema);
      this.mapper = { scratch: s, panes: new AggregateState(s.state.layout, s.state.codec) };
    }
    const { scratch, panes } = this.mapper;
    // Nothing of the previous chunk stays: the results below are copies (`stateBatch`, `split`).
    scratch.state.restore(null);
    scratch.lateGroups = null;
    panes.restore(null);
    if (scratch.buildPanes(batch, seqBase, info, envOf(info, seqBase), panes)) {
      // Pane groups, not windows, cross to the owners: k times fewer rows; each owner merges them into its windows.
      const rows = panes.size > 0 ? panes.stateBatch(panes.allGroups()) : null;
      const partials = rows ? split(rows, this.stateSchema, this.partitionKeyColumns, partitions) : new Array<RecordBatch | null>(partitions).fill(null);
      return { partials, lateKeys: new Array<RecordBatch | null>(partitions).fill(null), lateRows: 0, panes: true };
    }
    const late = scratch.absorbRows(batch, seqBase, info);
    const all = scratch.state.stateBatch(scratch.state.allGroups());
    const partials = split(all, this.stateSchema, this.partitionKeyColumns, partitions);
    let lateKeys: (RecordBatch | null)[] = new Array(partitions).fill(null);
    if (late) {
      const lateSchema: Schema = { fields: this.stateSchema.fields.slice(0, this.stateKeyCount) };
      lateKeys = split(batchFromVecs(lateSchema, AggregatePartition.lateKeyCols(late), late.rows.length), lateSchema, this.partitionKeyColumns, partitions);
    }
    return { partials, lateKeys, lateRows: 0 };
  }

  absorbPartial(partial: RecordBatch | null, lateKeys: RecordBatch | null, _lateRows?: number, _info?: BatchInfo, panes = false): void {
    if (partial && partial.numRows > 0 && panes) {
      // Pane partials of every slice gather per (pane, key) here; `finish` merges them into the windows once.
      const ps = (this.panes ??= new AggregateState(this.state.layout, this.state.codec));
      ps.absorbPartials(partial, new AggregateState(this.state.layout));
      this.panesPending = true;
    } else if (partial && partial.numRows > 0) {
      this.state.absorbPartials(partial, new AggregateState(this.state.layout));
    }
    if (lateKeys && lateKeys.numRows > 0) {
      const schema: Schema = { fields: this.stateSchema.fields.slice(0, this.stateKeyCount) };
      const cols = schema.fields.map((_, i) => columnVec(lateKeys, schema, i));
      this.countLate(cols, identity(lateKeys.numRows));
    }
  }

  finish(info: BatchInfo): { output: RecordBatch | null; metrics: PartitionMetrics } {
    this.flushPanes();
    const a = this.analysis;
    const st = this.state;
    if (!info.streaming && a.keys.length === 0 && a.window === null && st.size === 0) {
      // A global aggregate over no rows still has one group (count 0, sum null), as in SQL.
      st.groupIds(st.codec.encode([], null, 1), 1);
    }
    const updated = st.updatedCount();
    let out: RecordBatch;
    let removed = 0;
    if (!info.streaming || info.outputMode === 'complete') out = this.outputBatch(st.allGroups());
    else if (info.outputMode === 'update') {
      out = this.outputBatch(st.updatedGroups());
      if (a.eventTime !== null) {
        const closed = st.groupsUpTo(info.evictionWatermarkMs);
        removed = closed.length;
        st.evict(closed, info.evictionWatermarkMs);
      }
    } else {
      const closed = a.eventTime !== null ? st.groupsUpTo(info.evictionWatermarkMs) : new Int32Array(0);
      out = this.outputBatch(closed);
      removed = closed.length;
      st.evict(closed, info.evictionWatermarkMs);
    }
    return {
      output: out.numRows > 0 ? out : null,
      metrics: {
        numRowsTotal: st.size,
        numRowsUpdated: updated,
        numRowsRemoved: removed,
        numRowsDroppedByWatermark: this.lateGroups?.size ?? 0,
        memoryUsedBytes: st.memoryBytes() + (this.panes?.memoryBytes() ?? 0),
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

  takeDelta(_table = ''): RecordBatch | null {
    return this.state.takeDelta();
  }
  takeEviction(_table = ''): StateEviction | null {
    return this.state.takeEviction();
  }
  snapshot(_table = ''): RecordBatch | null {
    return this.state.size > 0 ? this.state.stateBatch(this.state.allGroups()) : null;
  }
  restore(tables: ReadonlyMap<string, RecordBatch | null>): void {
    this.state.restore(tables.get('') ?? null);
  }
}

/**
 * The single state table of the built-in operators: named `''`, so it is the partition folder itself
 * (`state/<op>/<p>/<v>.delta`), where their checkpoints have always kept it.
 *
 * @example
 * mainTable(state.stateSchema, 2, [1]); // { name: '', keyCount: 2, partitionKeyColumns: [1], role: 'internal', ttlMs: null, … }
 */
export function mainTable(schema: Schema, keyCount: number, partitionKeyColumns: readonly number[]): StateTable {
  return { name: '', schema, keyCount, partitionKeyColumns, ttlMs: null, role: 'internal' };
}

/** What a (windowed) aggregation or a session window aggregation is made from (plain data). */
export interface AggregateSpec extends KeyedOperatorSpec {
  readonly kind: 'aggregate' | 'session';
  readonly analysis: AggregateAnalysis;
}

/** The group keys of input rows of an aggregation (`inputKeys` of the `aggregate` and `session` kinds). */
function aggregateInputKeys(spec: AggregateSpec, batch: RecordBatch, info: BatchInfo): Vec[] {
  const schema = spec.inputSchemas[0]!;
  return spec.analysis.keys.map((k) => evaluate(k.bound, batch, schema, { batchTimestampMs: info.batchTimestampMs }));
}

/**
 * The aggregation's spec reading only the input columns it uses, and those columns' ordinals (null: every column):
 * worker threads get batches of just these columns.
 *
 * @example
 * const { spec: narrow, columns } = projectAggregate(spec); // columns = [[3, 5]]
 */
export function projectAggregate<S extends AggregateSpec>(spec: S): { spec: S; columns: (number[] | null)[] } {
  const a = spec.analysis;
  const input = spec.inputSchemas[0]!;
  const used = new Set<number>();
  for (const k of a.keys) boundColumns(k.bound, used);
  for (const x of a.aggs) if (x.input) boundColumns(x.input, used);
  if (a.window) {
    boundColumns(a.window.time, used);
    if (a.window.kind === 'session' && typeof a.window.gap !== 'number') boundColumns(a.window.gap, used);
  }
  const columns = [...used].sort((x, y) => x - y);
  if (columns.length === input.fields.length) return { spec, columns: [null] };
  const map = new Map(columns.map((c, i) => [c, i]));
  const r = (b: Bound) => remapColumns(b, map);
  const w = a.window;
  const window =
    w === null
      ? null
      : w.kind === 'time'
        ? { ...w, time: r(w.time) }
        : { ...w, time: r(w.time), gap: typeof w.gap === 'number' ? w.gap : r(w.gap) };
  const analysis = {
    ...a,
    keys: a.keys.map((k) => ({ ...k, bound: r(k.bound) })),
    aggs: a.aggs.map((x) => ({ ...x, input: x.input ? r(x.input) : null })),
    window,
  } as typeof a;
  const inputSchemas = [{ fields: columns.map((c) => input.fields[c]!) }];
  return { spec: { ...spec, analysis, inputSchemas }, columns: [columns] };
}

/**
 * Registers an aggregation kind (`aggregate`, `session`): partitioned by the group keys, workers get only the columns
 * it reads.
 *
 * @example
 * defineAggregateKind('session', (analysis, input) => new SessionPartition(analysis, input));
 */
export function defineAggregateKind(kind: AggregateSpec['kind'], create: (analysis: AggregateAnalysis, input: Schema) => KeyedOperator): OperatorKind<AggregateSpec> {
  return defineOperatorKind<AggregateSpec>({
    kind,
    create: (spec) => create(spec.analysis, spec.inputSchemas[0]!),
    inputKeys: (spec, batch, _input, info) => aggregateInputKeys(spec, batch, info),
    project: projectAggregate,
    describeKeys: (spec) => spec.analysis.keys.map((k) => k.name),
  });
}

/** The `aggregate` kind: hash aggregation, tumbling and sliding windows. */
export const AGGREGATE_KIND = defineAggregateKind('aggregate', (analysis, input) => new AggregatePartition(analysis, input));

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
