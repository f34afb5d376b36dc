/**
 * The keyed state of one partition of a (windowed) aggregation: a group table of keys, their accumulators, each group's
 * event time for eviction, and the bookkeeping a checkpoint delta needs (groups changed, keys removed).
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import { Accumulators, type AggSpec } from '../kernels/agg-kernel.js';
import { GroupTable, type GroupIndex } from '../kernels/hash-kernel.js';
import { WindowGroupTable } from '../kernels/window-table.js';
import { KeyCodec } from '../kernels/key-codec.js';
import { concatVecs } from '../kernels/select-kernel.js';
import { nullVec, windowEnds, type NumVec, type Vec } from '../kernels/vec.js';
import { field, isStruct, schemaOf, type DataType, type Schema } from '../types/data-type.js';
import { batchFromVecs, columnVec } from '../types/values.js';
import { OP_DELETE, OP_PUT, deltaSchema, type StateEviction } from './state-store.js';

/** Name of the key slot that holds a time window's start (the first slot when there is one). */
export const WINDOW_START_KEY = '__window_start';

/** How an aggregation's keys are laid out in its state. */
export interface AggregateLayout {
  /** Names and types of the key slots: the window start first when there is a time window, then the grouping keys. */
  readonly keyNames: readonly string[];
  readonly keyTypes: readonly DataType[];
  readonly specs: readonly AggSpec[];
  /**
   * Which key slot gives a group's event time: with `windowSizeMs` set it is a window start (event time = start + size),
   * otherwise a raw timestamp key, or a window column key (`groupBy(col('window'))`: its end; such groups leave by
   * delete records, not an eviction record); null when groups never expire.
   */
  readonly eventTimeSlot: number | null;
  readonly windowSizeMs: number | null;
  /** True when the first key slot is a time window's start (the state then keeps one hash table per window). */
  readonly timeWindow?: boolean;
}

/** `AggregateState.flags` bit: the group was touched in the current batch. */
const UPDATED = 1;
/** `AggregateState.flags` bit: the group changed since the last checkpoint commit. */
const DIRTY = 2;

/**
 * Groups, accumulators and event times of one aggregation partition.
 *
 * @example
 * const st = new AggregateState(layout);
 * st.absorb([starts, users], rows, m, inputs, seqBase);
 * const closed = st.groupsUpTo(watermark);
 */
export class AggregateState {
  readonly codec: KeyCodec;
  readonly table: GroupIndex;
  readonly acc: Accumulators;
  /** Event time of each group (NaN: never expires). */
  evt = new Float64Array(1024);
  /**
   * Per group: `UPDATED` (touched in the current batch) and `DIRTY` (changed since the last checkpoint commit) bits.
   * One array, so a row's update writes one byte (one cache line) for both.
   */
  flags = new Uint8Array(1024);
  /** Key columns of groups removed since the last commit (for delete records). */
  private removed: Vec[][] = [];
  private removedCount = 0;
  /** The highest watermark `evict` used since the last commit (its rows have no delete records), or null. */
  private evictedUpToMs: number | null = null;
  private gidScratch = new Int32Array(1024);
  /** `mergeWindowsOf`'s key rows and source panes (reused). */
  private windowKeys = new Float64Array(0);
  private windowSrc = new Int32Array(0);

  /** `codec`: another state's, to share its string dictionaries (and so its key encoding; see `mergeWindowsOf`). */
  constructor(
    readonly layout: AggregateLayout,
    codec?: KeyCodec,
  ) {
    this.codec = codec ?? new KeyCodec(layout.keyTypes);
    // Time-windowed groups (window start first) get one small table per window: the open windows stay in cache.
    this.table = layout.timeWindow === true ? new WindowGroupTable(this.codec.width) : new GroupTable(this.codec.width);
    this.acc = new Accumulators(layout.specs);
  }

  get size(): number {
    return this.table.size;
  }

  /** State columns: keys, then accumulator state. */
  get stateSchema(): Schema {
    return schemaOf([...this.layout.keyNames.map((n, i) => field(n, this.layout.keyTypes[i]!)), ...this.acc.stateFields()]);
  }

  private grow(size: number): void {
    if (size <= this.evt.length) return;
    let cap = this.evt.length;
    while (cap < size) cap *= 2;
    const e = new Float64Array(cap);
    e.set(this.evt);
    this.evt = e;
    const f = new Uint8Array(cap);
    f.set(this.flags);
    this.flags = f;
  }

  /** Group ids for `m` key rows, inserting new groups (initialising their accumulators and event times). */
  groupIds(keys: Float64Array, m: number): Int32Array {
    if (this.gidScratch.length < m) this.gidScratch = new Int32Array(Math.max(m, this.gidScratch.length * 2));
    const gids = this.gidScratch.subarray(0, m);
    const before = this.table.size;
    this.table.findOrInsert(keys, m, gids);
    const after = this.table.size;
    if (after > before) {
      this.acc.ensure(after, before);
      this.grow(after);
      this.setEventTimes(before, after);
    }
    return gids;
  }

  private setEventTimes(from: number, to: number): void {
    const slot = this.layout.eventTimeSlot;
    const W = this.codec.width;
    const keys = this.table.keys;
    const size = this.layout.windowSizeMs ?? 0;
    if (slot !== null && this.windowKeyTime) {
      // A window column as the key (`groupBy(col('window'))`): its end, decoded once per new group.
      const gids = new Int32Array(to - from);
      for (let i = 0; i < gids.length; i++) gids[i] = from + i;
      const end = windowEnds(this.codec.decode(keys, gids, slot));
      for (let g = from; g < to; g++) {
        this.flags[g] = 0;
        const i = g - from;
        this.evt[g] = end.valid !== null && end.valid[i] === 0 ? NaN : end.values[i]!;
      }
      return;
    }
    for (let g = from; g < to; g++) {
      this.flags[g] = 0;
      if (slot === null || (keys[g * W + W - 1]! & (1 << slot)) !== 0) this.evt[g] = NaN;
      else this.evt[g] = keys[g * W + slot]! + size;
    }
  }

  /** True when the event-time key is a window column (its end is the event time), not a timestamp. */
  private get windowKeyTime(): boolean {
    const slot = this.layout.eventTimeSlot;
    return slot !== null && isStruct(this.layout.keyTypes[slot]!);
  }

  /**
   * Folds input rows into their groups. `keyCols` follow `layout.keyTypes`; `rows[i]` maps pair i to its input row
   * (null: identity), `inputs` are the aggregates' argument columns (indexed by input row).
   */
  absorb(keyCols: readonly (Vec | Float64Array)[], rows: Int32Array | null, m: number, inputs: readonly (Vec | null)[], seqBase: number): void {
    if (m === 0) return;
    const keys = this.codec.encode(keyCols, rows, m);
    const gids = this.groupIds(keys, m);
    this.acc.update(gids, rows, m, inputs, seqBase);
    const flags = this.flags;
    for (let i = 0; i < m; i++) flags[gids[i]!] = UPDATED | DIRTY;
  }

  /** Forgets the input columns the codec and accumulators kept for piecewise absorbs (after a batch). */
  release(): void {
    this.codec.release();
    this.acc.release();
  }

  /**
   * Merges the groups of `panes` (this layout, window start first, each a pane of one slide) into the `k` windows
   * each pane lies in: starts `pane − c · slideMs`, `c = 0 … k − 1`.
   *
   * @example
   * state.mergeWindowsOf(panes, 5, 2000); // 10 s windows sliding every 2 s
   */
  mergeWindowsOf(panes: AggregateState, k: number, slideMs: number): void {
    if (panes.codec !== this.codec) throw new RangeError('mergeWindowsOf: the panes must share this state\'s codec');
    const g = panes.size;
    if (g === 0) return;
    const W = this.codec.width;
    const m = g * k;
    if (this.windowKeys.length < m * W) this.windowKeys = new Float64Array(Math.max(m * W, this.windowKeys.length * 2));
    if (this.windowSrc.length < m) this.windowSrc = new Int32Array(Math.max(m, this.windowSrc.length * 2));
    const keys = this.windowKeys;
    const src = this.windowSrc;
    const pk = panes.table.keys;
    // Same codec, same encoding: each pane's key row is copied k times, with the window start in slot 0.
    for (let p = 0, i = 0; p < g; p++) {
      const base = p * W;
      const s = pk[base]!;
      for (let c = 0; c < k; c++, i++) {
        const o = i * W;
        keys[o] = s - c * slideMs;
        for (let w = 1; w < W; w++) keys[o + w] = pk[base + w]!;
        src[i] = p;
      }
    }
    const gids = this.groupIds(keys.subarray(0, m * W), m);
    const srcIds = src.subarray(0, m);
    this.acc.mergeFrom(panes.acc, srcIds, gids, m);
    const flags = this.flags;
    for (let i = 0; i < m; i++) flags[gids[i]!] = UPDATED | DIRTY;
  }

  /** Merges partial aggregates (a batch of this state's `stateSchema`) into the groups. */
  absorbPartials(partial: RecordBatch, partialState: AggregateState): void {
    const n = partial.numRows;
    if (n === 0) return;
    const schema = this.stateSchema;
    const kc = this.layout.keyTypes.length;
    const keyCols = this.layout.keyTypes.map((_, i) => columnVec(partial, schema, i));
    const keys = this.codec.encode(keyCols, null, n);
    const gids = Int32Array.from(this.groupIds(keys, n));
    const stateCols = schema.fields.slice(kc).map((_, i) => columnVec(partial, schema, kc + i));
    // Load the partials into a scratch accumulator, then merge group by group.
    const src = partialState.acc;
    const srcIds = new Int32Array(n);
    for (let i = 0; i < n; i++) srcIds[i] = i;
    src.truncate(0);
    src.ensure(n, 0);
    src.fromState(stateCols, srcIds);
    this.acc.mergeFrom(src, srcIds, gids, n);
    for (let i = 0; i < n; i++) this.flags[gids[i]!] = UPDATED | DIRTY;
  }

  /** Clears the per-batch "updated" flags. */
  startBatch(): void {
    const flags = this.flags;
    for (let g = 0, n = this.table.size; g < n; g++) flags[g]! &= DIRTY;
  }

  /** Marks a group changed since the last checkpoint commit (without counting it as updated in this batch). */
  markDirty(g: number): void {
    this.flags[g]! |= DIRTY;
  }

  /** Number of groups updated in this batch. */
  updatedCount(): number {
    const flags = this.flags;
    let n = 0;
    for (let g = 0, size = this.table.size; g < size; g++) n += flags[g]! & UPDATED;
    return n;
  }

  /** Groups updated in this batch, in id order. */
  updatedGroups(): Int32Array {
    return this.groupsFlagged(UPDATED);
  }

  /** Groups with `bit` set, in id order. */
  private groupsFlagged(bit: number): Int32Array {
    const flags = this.flags;
    const size = this.table.size;
    let n = 0;
    for (let g = 0; g < size; g++) if ((flags[g]! & bit) !== 0) n++;
    const out = new Int32Array(n);
    for (let g = 0, k = 0; k < n; g++) if ((flags[g]! & bit) !== 0) out[k++] = g;
    return out;
  }

  /** Groups whose event time is ≤ `watermarkMs` (closed windows), in id order. */
  groupsUpTo(watermarkMs: number): Int32Array {
    const out: number[] = [];
    const evt = this.evt;
    for (let g = 0; g < this.table.size; g++) if (evt[g]! <= watermarkMs) out.push(g);
    return Int32Array.from(out);
  }

  /** Whether some group would be evicted by this watermark. */
  hasGroupsUpTo(watermarkMs: number): boolean {
    const evt = this.evt;
    for (let g = 0; g < this.table.size; g++) if (evt[g]! <= watermarkMs) return true;
    return false;
  }

  /** Every group id. */
  allGroups(): Int32Array {
    const out = new Int32Array(this.table.size);
    for (let g = 0; g < out.length; g++) out[g] = g;
    return out;
  }

  /** Key columns of the given groups, in `layout.keyTypes` order. */
  keyVecs(gids: Int32Array): Vec[] {
    return this.layout.keyTypes.map((_, c) => this.codec.decode(this.table.keys, gids, c));
  }

  /** Removes groups (their keys are remembered as deletes for the next checkpoint). */
  remove(gids: Int32Array): void {
    if (gids.length === 0) return;
    this.removed.push(this.keyVecs(gids));
    this.removedCount += gids.length;
    this.drop(gids);
  }

  /** Removes groups from the table, the accumulators and the per-group arrays (ids are renumbered densely). */
  private drop(gids: Int32Array): void {
    const keep = new Uint8Array(this.table.size).fill(1);
    for (let i = 0; i < gids.length; i++) keep[gids[i]!] = 0;
    const remap = this.table.compact(keep);
    const size = this.table.size;
    this.acc.compact(remap, size);
    for (let g = 0; g < remap.length; g++) {
      const t = remap[g]!;
      if (t >= 0 && t !== g) {
        this.evt[t] = this.evt[g]!;
        this.flags[t] = this.flags[g]!;
      }
    }
  }

  /**
   * Removes groups closed by the watermark `watermarkMs` (every group whose event time is ≤ it, from `groupsUpTo`).
   * Unlike `remove`, their keys are not kept as delete records: the next delta records the watermark and window
   * size once (`takeEviction`), and loading the state replays it at that version, removing the same groups.
   */
  evict(gids: Int32Array, watermarkMs: number): void {
    if (gids.length === 0) return;
    // An eviction record replays by a timestamp key; a window key's groups leave as delete records instead.
    if (this.windowKeyTime) return this.remove(gids);
    this.drop(gids);
    this.evictedUpToMs = this.evictedUpToMs === null ? watermarkMs : Math.max(this.evictedUpToMs, watermarkMs);
  }

  /** The eviction since the last call (the highest watermark `evict` used), for the commit's delta; null: none. */
  takeEviction(): StateEviction | null {
    const w = this.evictedUpToMs;
    this.evictedUpToMs = null;
    const keyColumn = this.layout.eventTimeSlot;
    // evict() runs only with an event-time key (groupsUpTo finds nothing otherwise).
    return w === null || keyColumn === null ? null : { watermarkMs: w, windowSizeMs: this.layout.windowSizeMs ?? 0, keyColumn };
  }

  /** Groups as state rows (keys + accumulator state). */
  stateBatch(gids: Int32Array): RecordBatch {
    return batchFromVecs(this.stateSchema, [...this.keyVecs(gids), ...this.acc.toState(gids)], gids.length);
  }

  /** The changes since the last call, as a delta batch (`__op`, keys, state), and resets the bookkeeping. */
  takeDelta(): RecordBatch | null {
    const gids = this.groupsFlagged(DIRTY);
    const flags = this.flags;
    for (let g = 0, size = this.table.size; g < size; g++) flags[g]! &= UPDATED;
    const removed = this.removed;
    const removedCount = this.removedCount;
    this.removed = [];
    this.removedCount = 0;
    if (gids.length === 0 && removedCount === 0) return null;
    const schema = this.stateSchema;
    const kc = this.layout.keyTypes.length;
    const putKeys = this.keyVecs(gids);
    const putState = this.acc.toState(gids);
    const n = gids.length + removedCount;
    const ops = new Float64Array(n);
    ops.fill(OP_PUT, 0, gids.length);
    ops.fill(OP_DELETE, gids.length);
    const cols: Vec[] = [{ kind: 'num', type: 'int', length: n, values: ops, big: null, valid: null }];
    for (let c = 0; c < kc; c++) cols.push(removed.length === 0 ? putKeys[c]! : concatVecs([putKeys[c]!, ...removed.map((r) => r[c]!)]));
    for (let c = 0; c < putState.length; c++) {
      const f = schema.fields[kc + c]!;
      cols.push(removedCount === 0 ? putState[c]! : concatVecs([putState[c]!, nullVec(f.type, removedCount)]));
    }
    return batchFromVecs(deltaSchema(schema), cols, n);
  }

  /** Forgets pending changes (after loading state). */
  clearDelta(): void {
    this.evictedUpToMs = null;
    const flags = this.flags;
    for (let g = 0; g < flags.length; g++) flags[g]! &= UPDATED;
    this.removed = [];
    this.removedCount = 0;
  }

  /** Loads state rows (a batch of `stateSchema`). */
  restore(rows: RecordBatch | null): void {
    this.table.clear();
    this.acc.truncate(0);
    if (rows !== null && rows.numRows > 0) {
      const schema = this.stateSchema;
      const kc = this.layout.keyTypes.length;
      const keyCols = this.layout.keyTypes.map((_, i) => columnVec(rows, schema, i));
      const keys = this.codec.encode(keyCols, null, rows.numRows);
      const gids = Int32Array.from(this.groupIds(keys, rows.numRows));
      this.acc.fromState(schema.fields.slice(kc).map((_, i) => columnVec(rows, schema, kc + i)), gids);
    }
    this.clearDelta();
    this.flags.fill(0);
  }

  memoryBytes(): number {
    return this.table.memoryBytes + this.acc.memoryBytes() + this.evt.byteLength + this.flags.byteLength;
  }
}

export type { NumVec };
