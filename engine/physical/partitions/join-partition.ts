/**
 * One partition of a stream–stream join (Spark's StreamingSymmetricHashJoinExec): both sides' rows of the keys that
 * hash here, buffered until the watermark says no future row of the other side can match them.
 *
 * Per batch, in Spark's order: each side's late rows are dropped (its watermark column ≤ the late-event watermark);
 * the left rows (input 0, absorbed first) join the right state and are stored; the right rows (input 1) join the left
 * state, this batch's left rows included, and are stored; `finish` evicts both sides at the batch's eviction
 * watermark. A row failing its own side's conjuncts is never stored (emitted with nulls at once when its side is
 * preserved); a row with a null key (not `<=>`) never matches and is kept only on a preserved side, to be emitted
 * with nulls when evicted. A right row this batch would evict is not stored unless the join keeps it unmatched
 * (right/full outer). Stored rows carry a matched flag: an outer side's unmatched rows are emitted null-padded when
 * evicted; a left semi join emits a left row at its first match and never matches it again. A side whose flags
 * the join never reads (both sides of an inner join, an outer join's other side) keeps the flag it had on arrival, so a
 * later match rewrites no state.
 *
 * State: two named tables, `left` and `right`, rows `(__key0…, __seq, <input columns>, __matched)`, keyed by the
 * join key and the row's arrival sequence, partitioned by the join key (so both sides of a key meet in one partition,
 * inline or on a worker thread).
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import { evaluate, type EvalEnv } from '../../kernels/expr-kernel.js';
import { GroupTable } from '../../kernels/hash-kernel.js';
import { KeyCodec } from '../../kernels/key-codec.js';
import { concatVecs, gatherVec } from '../../kernels/select-kernel.js';
import { nullVec, numVec, windowEnds, type BoolVec, type NumVec, type Vec } from '../../kernels/vec.js';
import type { Bound } from '../../logical/bound-expr.js';
import type { SideEviction, SideTime } from '../../logical/join-watermark.js';
import { field, schemaOf, type DataType, type Schema } from '../../types/data-type.js';
import { batchFromVecs, columnVec } from '../../types/values.js';
import { OP_DELETE, OP_PUT, deltaSchema } from '../../state/state-store.js';
import { envOf } from './aggregate-partition.js';
import { defineOperatorKind, type BatchInfo, type KeyedOperator, type KeyedOperatorSpec, type PartitionMetrics, type StateTable } from './keyed-operator.js';

/** The join types a stream–stream join runs (left anti is refused before planning). */
export type StreamJoinType = 'inner' | 'leftOuter' | 'rightOuter' | 'fullOuter' | 'leftSemi';

/** What a stream–stream join partition is built from (plain data: it crosses to worker threads). */
export interface JoinOperatorSpec extends KeyedOperatorSpec {
  readonly kind: 'join';
  readonly joinType: StreamJoinType;
  /** Equi-keys over each input's columns, both cast to `keyTypes`. */
  readonly leftKeys: readonly Bound[];
  readonly rightKeys: readonly Bound[];
  readonly keyTypes: readonly DataType[];
  readonly nullSafe: readonly boolean[];
  /** One-side conjuncts over that input's columns, and the conjuncts reading both over `combined`. */
  readonly leftCondition: Bound | null;
  readonly rightCondition: Bound | null;
  readonly residual: Bound | null;
  /** Left columns then right columns, as the residual and the output read them. */
  readonly combined: Schema;
  /** The output columns over `combined` (plain references, or a using column's coalesce). */
  readonly output: readonly Bound[];
  readonly outputSchema: Schema;
  readonly lateLeft: SideTime | null;
  readonly lateRight: SideTime | null;
  readonly evictLeft: SideEviction | null;
  readonly evictRight: SideEviction | null;
}

const NONE = -1;

/** One side's buffered rows: columnar chunks, and per row handle its place, key group, time and flags. */
class SideState {
  /** Columns of each stored chunk: key columns, `__seq`, then the input's columns (the table's columns but `__matched`). */
  chunks: Vec[][] = [];
  /** Per chunk: its first handle (its rows' handles are consecutive), and the least time of its live rows (NaN times not counted). */
  chunkStart: number[] = [];
  chunkMinTime: number[] = [];
  chunk = new Int32Array(64);
  row = new Int32Array(64);
  group = new Int32Array(64);
  next = new Int32Array(64);
  time = new Float64Array(64);
  matched = new Uint8Array(64);
  alive = new Uint8Array(64);
  persisted = new Uint8Array(64);
  dirty = new Uint8Array(64);
  /** Handles changed since the last commit (`dirtyCount` of them). */
  dirtyList: Int32Array = new Int32Array(64);
  dirtyCount = 0;
  size = 0;
  live = 0;
  head = new Int32Array(64).fill(NONE);
  tail = new Int32Array(64).fill(NONE);

  /**
   * Whether the join reads this side's matched flags (an outer join's preserved side, a left semi join's left side).
   * Elsewhere a match changes nothing and the stored flag keeps its value at arrival, so matching never rewrites a
   * stored row (an inner join's state is written once per row and deleted once).
   */
  constructor(
    readonly name: 'left' | 'right',
    readonly tracksMatched: boolean,
  ) {}

  private grow(n: number): void {
    if (n <= this.chunk.length) return;
    let cap = this.chunk.length;
    while (cap < n) cap *= 2;
    const g32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    const g8 = (a: Uint8Array) => {
      const b = new Uint8Array(cap);
      b.set(a);
      return b;
    };
    this.chunk = g32(this.chunk);
    this.row = g32(this.row);
    this.group = g32(this.group);
    this.next = g32(this.next);
    const t = new Float64Array(cap);
    t.set(this.time);
    this.time = t;
    this.matched = g8(this.matched);
    this.alive = g8(this.alive);
    this.persisted = g8(this.persisted);
    this.dirty = g8(this.dirty);
  }

  ensureGroups(n: number): void {
    if (n <= this.head.length) return;
    let cap = this.head.length;
    while (cap < n) cap *= 2;
    const h = new Int32Array(cap).fill(NONE);
    h.set(this.head);
    const t = new Int32Array(cap).fill(NONE);
    t.set(this.tail);
    this.head = h;
    this.tail = t;
  }

  markDirty(h: number): void {
    if (this.dirty[h] === 0) {
      this.dirty[h] = 1;
      if (this.dirtyCount === this.dirtyList.length) this.dirtyList = growInt32(this.dirtyList, this.dirtyCount * 2);
      this.dirtyList[this.dirtyCount++] = h;
    }
  }

  /** Flags the rows `handles` of matched pairs (and the input rows `inputs` in `inputMatched`); returns the rows matched for the first time. */
  markMatched(inputs: Int32Array, handles: Int32Array, inputMatched: Uint8Array): number[] {
    const first: number[] = [];
    if (!this.tracksMatched) {
      for (let p = 0; p < inputs.length; p++) inputMatched[inputs[p]!] = 1;
      return first;
    }
    for (let p = 0; p < handles.length; p++) {
      const h = handles[p]!;
      inputMatched[inputs[p]!] = 1;
      if (this.matched[h] === 0) {
        this.matched[h] = 1;
        this.markDirty(h);
        first.push(h);
      }
    }
    return first;
  }

  /** Appends a chunk's rows (`groups[i]`, `times[i]`, `matched[i]` per row) and links them to their groups. */
  add(cols: Vec[], n: number, groups: Int32Array, times: Float64Array, matched: Uint8Array, persisted: boolean): void {
    const c = this.chunks.length;
    this.chunks.push(cols);
    this.chunkStart.push(this.size);
    let min = Infinity;
    for (let i = 0; i < n; i++) if (times[i]! < min) min = times[i]!;
    this.chunkMinTime.push(min);
    this.grow(this.size + n);
    for (let i = 0; i < n; i++) {
      const h = this.size++;
      const g = groups[i]!;
      this.chunk[h] = c;
      this.row[h] = i;
      this.group[h] = g;
      this.next[h] = NONE;
      this.time[h] = times[i]!;
      this.matched[h] = matched[i]!;
      this.alive[h] = 1;
      this.persisted[h] = persisted ? 1 : 0;
      this.dirty[h] = 0;
      if (!persisted) this.markDirty(h);
      if (this.tail[g] === NONE) this.head[g] = h;
      else this.next[this.tail[g]!] = h;
      this.tail[g] = h;
    }
    this.live += n;
  }

  /**
   * Evicts the live rows with time ≤ `th` (marked dead and dirty, unlinked from their groups) and returns them in
   * handle order. Chunks whose least live time is above `th` are skipped unread.
   */
  evict(th: number): Int32Array {
    let gone: Int32Array = new Int32Array(64);
    let n = 0;
    let touched: Int32Array = new Int32Array(64);
    let nTouched = 0;
    for (let c = 0; c < this.chunks.length; c++) {
      if (!(this.chunkMinTime[c]! <= th)) continue;
      const end = c + 1 < this.chunks.length ? this.chunkStart[c + 1]! : this.size;
      let min = Infinity;
      for (let h = this.chunkStart[c]!; h < end; h++) {
        if (this.alive[h] === 0) continue;
        const t = this.time[h]!;
        if (t <= th) {
          this.alive[h] = 0;
          this.markDirty(h);
          if (n === gone.length) gone = growInt32(gone, n * 2);
          gone[n++] = h;
          const g = this.group[h]!;
          if (nTouched === touched.length) touched = growInt32(touched, nTouched * 2);
          touched[nTouched++] = g;
        } else if (t < min) min = t;
      }
      this.chunkMinTime[c] = min;
    }
    this.live -= n;
    // Each group unlinked once, however many of its rows leave.
    const groups = touched.subarray(0, nTouched).sort();
    let u = 0;
    for (let i = 0; i < nTouched; i++) if (i === 0 || groups[i] !== groups[i - 1]) groups[u++] = groups[i]!;
    this.unlink(groups.subarray(0, u));
    return gone.subarray(0, n);
  }

  /** Unlinks the rows `dead` marks (alive already cleared) from their groups. */
  unlink(groupsTouched: Iterable<number>): void {
    for (const g of groupsTouched) {
      let prev = NONE;
      let h = this.head[g]!;
      this.head[g] = NONE;
      this.tail[g] = NONE;
      while (h !== NONE) {
        const nx = this.next[h]!;
        if (this.alive[h] === 1) {
          if (prev === NONE) this.head[g] = h;
          else this.next[prev] = h;
          this.next[h] = NONE;
          this.tail[g] = h;
          prev = h;
        }
        h = nx;
      }
    }
  }

  /**
   * Columns `from…to` of the rows `handles` (at least one), in that order. Rows of one chunk are gathered directly; rows of several
   * chunks are read straight from each chunk for numbers and booleans, and otherwise gathered chunk by chunk (a
   * counting sort by chunk), concatenated and put back in order.
   */
  gather(handles: Int32Array, from: number, to: number): Vec[] {
    const m = handles.length;
    const chunkOf = this.chunk;
    const rowOf = this.row;
    const sel = new Int32Array(m);
    let single = true;
    const c0 = m > 0 ? chunkOf[handles[0]!]! : 0;
    for (let i = 0; i < m; i++) {
      const h = handles[i]!;
      sel[i] = rowOf[h]!;
      if (chunkOf[h] !== c0) single = false;
    }
    const out: Vec[] = [];
    if (single) {
      const cols = this.chunks[c0]!;
      // The whole chunk in its order (a batch's new rows, a compacted side): its columns as they are.
      let whole = cols.length > 0 && cols[0]!.length === m;
      for (let i = 0; whole && i < m; i++) whole = sel[i] === i;
      for (let k = from; k < to; k++) out.push(whole ? cols[k]! : gatherVec(cols[k]!, sel));
      return out;
    }
    let bySel: { order: Int32Array; parts: Int32Array[]; used: number[] } | null = null;
    for (let k = from; k < to; k++) {
      const direct = gatherAcrossChunks(this.chunks, k, handles, chunkOf, sel);
      if (direct !== null) {
        out.push(direct);
        continue;
      }
      bySel ??= this.splitByChunk(handles, sel);
      const { order, parts, used } = bySel;
      out.push(gatherVec(concatVecs(used.map((c, j) => gatherVec(this.chunks[c]![k]!, parts[j]!))), order));
    }
    return out;
  }

  /** Rows of `handles` per chunk (`parts[j]` the rows of chunk `used[j]`), and where each handle lands in their concatenation. */
  private splitByChunk(handles: Int32Array, sel: Int32Array): { order: Int32Array; parts: Int32Array[]; used: number[] } {
    const m = handles.length;
    const nc = this.chunks.length;
    const count = new Int32Array(nc + 1);
    for (let i = 0; i < m; i++) count[this.chunk[handles[i]!]! + 1]!++;
    for (let c = 0; c < nc; c++) count[c + 1]! += count[c]!;
    const start = count.slice(0, nc);
    const at = count.slice(0, nc);
    const flat = new Int32Array(m);
    const order = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      const c = this.chunk[handles[i]!]!;
      const j = at[c]!++;
      flat[j] = sel[i]!;
      order[i] = j;
    }
    const parts: Int32Array[] = [];
    const used: number[] = [];
    for (let c = 0; c < nc; c++) {
      if (at[c]! > start[c]!) {
        used.push(c);
        parts.push(flat.subarray(start[c]!, at[c]!));
      }
    }
    return { order, parts, used };
  }

  /** Every live handle, in arrival order. */
  liveHandles(): Int32Array {
    const out = new Int32Array(this.live);
    let j = 0;
    for (let h = 0; h < this.size; h++) if (this.alive[h] === 1) out[j++] = h;
    return out;
  }

  /** Bytes of the buffered rows: the chunks' buffers in proportion to the live rows, plus the per-row arrays. */
  memoryBytes(): number {
    let bytes = 0;
    for (const cols of this.chunks) for (const v of cols) bytes += vecBytes(v);
    return Math.round(this.size === 0 ? 0 : (bytes * this.live) / this.size) + this.chunk.length * 31 + this.head.length * 8;
  }
}

function growInt32(a: Int32Array, cap: number): Int32Array {
  const b = new Int32Array(cap);
  b.set(a);
  return b;
}

function vecBytes(v: Vec): number {
  switch (v.kind) {
    case 'num':
      return v.values.byteLength + (v.valid?.byteLength ?? 0);
    case 'bool':
      return v.values.byteLength + (v.valid?.byteLength ?? 0);
    case 'str':
      return v.bytes.byteLength + v.offsets.byteLength + (v.valid?.byteLength ?? 0);
    case 'struct':
      return v.fields.reduce((s, f) => s + vecBytes(f), 0) + (v.valid?.byteLength ?? 0);
    case 'list':
      return vecBytes(v.child) + v.offsets.byteLength + (v.valid?.byteLength ?? 0);
    default:
      return 0;
  }
}

/**
 * Column `k` of the rows (`chunkOf[h]`, `rows[i]`) of `handles`, read straight from each chunk, when every chunk
 * holds it as plain numbers (no 64-bit exact values) or booleans; null otherwise (the caller gathers chunk by chunk).
 */
function gatherAcrossChunks(chunks: readonly Vec[][], k: number, handles: Int32Array, chunkOf: Int32Array, rows: Int32Array): Vec | null {
  const first = chunks[0]![k]!;
  let anyNull = false;
  for (const cols of chunks) {
    const v = cols[k]!;
    if (v.kind !== first.kind || (v.kind !== 'num' && v.kind !== 'bool') || (v.kind === 'num' && v.big !== null)) return null;
    if (v.valid !== null) anyNull = true;
  }
  const m = handles.length;
  const valids = anyNull ? chunks.map((cols) => cols[k]!.valid) : null;
  const valid = anyNull ? new Uint8Array(m) : null;
  if (valid !== null) {
    for (let i = 0; i < m; i++) {
      const v = valids![chunkOf[handles[i]!]!];
      valid[i] = v === null || v === undefined ? 1 : v[rows[i]!]!;
    }
  }
  if (first.kind === 'bool') {
    const src = chunks.map((cols) => (cols[k] as BoolVec).values);
    const out = new Uint8Array(m);
    for (let i = 0; i < m; i++) out[i] = src[chunkOf[handles[i]!]!]![rows[i]!]!;
    return { kind: 'bool', type: 'boolean', length: m, values: out, valid };
  }
  const src = chunks.map((cols) => (cols[k] as NumVec).values);
  const out = new Float64Array(m);
  for (let i = 0; i < m; i++) out[i] = src[chunkOf[handles[i]!]!]![rows[i]!]!;
  return { kind: 'num', type: (first as NumVec).type, length: m, values: out, big: null, valid } satisfies NumVec;
}

/** Rows of a boolean result that are true (null and false are not). */
function isTrue(v: Vec, i: number): boolean {
  if (v.kind !== 'bool') return false;
  return v.values[i] === 1 && (v.valid === null || v.valid[i] === 1);
}

/** The time a watermark rule reads from a column: a timestamp, or a window's end. */
function timesOf(v: Vec): NumVec {
  return v.kind === 'struct' ? windowEnds(v) : (v as NumVec);
}

/**
 * One partition of a stream–stream join.
 *
 * @example
 * const p = new JoinPartition(spec);
 * p.startBatch(info); p.absorb(left, 0, info, 0); p.absorb(right, 0, info, 1); const { output } = p.finish(info);
 */
export class JoinPartition implements KeyedOperator {
  readonly tables: readonly StateTable[];
  /** Rebuilt with the state (`compact`): its string dictionaries would otherwise keep every key ever seen. */
  private codec: KeyCodec;
  private groups: GroupTable;
  private readonly sides: [SideState, SideState];
  private readonly nKeys: number;
  private readonly leftWidth: number;
  private out: RecordBatch[] = [];
  private late = 0;
  private updated = 0;

  constructor(readonly spec: JoinOperatorSpec) {
    this.nKeys = spec.keyTypes.length;
    this.codec = new KeyCodec(spec.keyTypes);
    this.groups = new GroupTable(this.codec.width);
    this.sides = [new SideState('left', this.tracksMatched(0)), new SideState('right', this.tracksMatched(1))];
    this.leftWidth = spec.inputSchemas[0]!.fields.length;
    this.tables = [0, 1].map((s) => {
      const schema = this.tableSchema(s);
      return { name: s === 0 ? 'left' : 'right', schema, keyCount: this.nKeys + 1, partitionKeyColumns: spec.keyTypes.map((_, i) => i), ttlMs: null, role: 'internal' } as const;
    });
  }

  get outputSchema(): Schema {
    return this.spec.outputSchema;
  }

  /** `(__key0…, __seq, <input columns>, __matched)`. */
  private tableSchema(side: number): Schema {
    const input = this.spec.inputSchemas[side]!;
    return schemaOf([
      ...this.spec.keyTypes.map((t, i) => field(`__key${i}`, t, true)),
      field('__seq', 'double', false),
      ...input.fields.map((f) => field(f.name, f.type, true)),
      field('__matched', 'boolean', false),
    ]);
  }

  private preserves(side: number): boolean {
    const t = this.spec.joinType;
    return t === 'fullOuter' || (side === 0 ? t === 'leftOuter' : t === 'rightOuter');
  }

  /** Whether a side's matched flags are ever read: its unmatched rows are emitted at eviction, or (left semi) it matches once. */
  private tracksMatched(side: number): boolean {
    return this.preserves(side) || (this.spec.joinType === 'leftSemi' && side === 0);
  }

  private eviction(side: number): SideEviction | null {
    return side === 0 ? this.spec.evictLeft : this.spec.evictRight;
  }

  /** The state watermark of a side for eviction watermark `wm` (rows with time ≤ it go), or null: never evicted. */
  private threshold(side: number, info: BatchInfo): number | null {
    const e = this.eviction(side);
    if (!info.streaming || e === null) return null;
    return e.kind === 'key' ? info.evictionWatermarkMs : info.evictionWatermarkMs + e.offsetMs;
  }

  /** Each row's eviction time (NaN: never: no rule, or a null time). */
  private rowTimes(side: number, keys: readonly Vec[], batch: RecordBatch): Float64Array {
    const n = batch.numRows;
    const out = new Float64Array(n).fill(Number.NaN);
    const e = this.eviction(side);
    if (e === null) return out;
    const v = timesOf(e.kind === 'key' ? keys[e.key]! : columnVec(batch, this.spec.inputSchemas[side]!, e.ordinal));
    for (let i = 0; i < n; i++) if (v.valid === null || v.valid[i] === 1) out[i] = v.values[i]!;
    return out;
  }

  startBatch(): void {
    this.out = [];
    this.late = 0;
    this.updated = 0;
    this.compact();
  }

  absorb(batch: RecordBatch, seqBase: number, info: BatchInfo, input: number): void {
    const n = batch.numRows;
    if (n === 0) return;
    const side = input === 0 ? 0 : 1;
    const spec = this.spec;
    const schema = spec.inputSchemas[side]!;
    const env: EvalEnv = envOf(info, seqBase);
    // Late rows: only a side with a watermark column, only in a streaming query.
    const lateRule = side === 0 ? spec.lateLeft : spec.lateRight;
    const keep = new Uint8Array(n).fill(1);
    if (info.streaming && lateRule !== null) {
      const t = timesOf(columnVec(batch, schema, lateRule.ordinal));
      const wm = info.lateWatermarkMs;
      for (let i = 0; i < n; i++) {
        if ((t.valid === null || t.valid[i] === 1) && t.values[i]! <= wm) {
          keep[i] = 0;
          this.late++;
        }
      }
    }
    const own = side === 0 ? spec.leftCondition : spec.rightCondition;
    const ownPass = own === null ? null : evaluate(own, batch, schema, env);
    const keyBounds = side === 0 ? spec.leftKeys : spec.rightKeys;
    const keys = keyBounds.map((k) => evaluate(k, batch, schema, env));
    const preserved = this.preserves(side);
    // Rows that join: kept, passing their own conjuncts, with a key that can match (`canMatch`; a null key not
    // `<=>` matches nothing and is kept only on a preserved side).
    const keyNull = this.nullKeyRows(keys, n);
    const padNow = new Int32Array(n);
    let nPad = 0;
    const sel = new Int32Array(n);
    const canMatch = new Uint8Array(n);
    let m = 0;
    const pass = ownPass === null ? null : ownPass.kind === 'bool' ? ownPass : null;
    for (let i = 0; i < n; i++) {
      if (keep[i] === 0) continue;
      if (ownPass !== null && (pass === null || pass.values[i] !== 1 || (pass.valid !== null && pass.valid[i] !== 1))) {
        if (preserved) padNow[nPad++] = i;
        continue;
      }
      const nullKey = keyNull !== null && keyNull[i] === 1;
      if (nullKey && !preserved) continue;
      canMatch[m] = nullKey ? 0 : 1;
      sel[m++] = i;
    }
    if (nPad > 0) this.emitPadded(side, batch, padNow.subarray(0, nPad), null);
    if (m === 0) return;
    const all = m === n;
    const rowsIn = all ? sel : sel.subarray(0, m);
    const gids = new Int32Array(m);
    this.groups.findOrInsert(this.codec.encode(keys, all ? null : rowsIn, m), m, gids);
    const me = this.sides[side]!;
    const other = this.sides[1 - side]!;
    me.ensureGroups(this.groups.size);
    other.ensureGroups(this.groups.size);
    // Candidate pairs: (row of this input, handle of the other side's state).
    const semiRight = spec.joinType === 'leftSemi' && side === 1;
    let pairsI: Int32Array = new Int32Array(Math.max(16, m));
    let pairsH: Int32Array = new Int32Array(pairsI.length);
    let np = 0;
    const head = other.head;
    const next = other.next;
    const otherMatched = other.matched;
    for (let j = 0; j < m; j++) {
      if (canMatch[j] === 0) continue;
      for (let h = head[gids[j]!]!; h !== NONE; h = next[h]!) {
        if (semiRight && otherMatched[h] === 1) continue;
        if (np === pairsI.length) {
          pairsI = growInt32(pairsI, np * 2);
          pairsH = growInt32(pairsH, np * 2);
        }
        pairsI[np] = j;
        pairsH[np++] = h;
      }
    }
    pairsI = pairsI.subarray(0, np);
    pairsH = pairsH.subarray(0, np);
    // The candidates' combined rows, gathered once: the residual reads them, and the passing ones are the output.
    let pairRows: Vec[] | null = null;
    if (spec.residual !== null && np > 0) {
      pairRows = this.combinedVecs(side, batch, rowsIn, pairsI, pairsH);
      const ok = evaluate(spec.residual, batchFromVecs(spec.combined, pairRows, np), spec.combined, env);
      const keepPairs = new Int32Array(np);
      let nk = 0;
      if (ok.kind === 'bool') {
        const v = ok.values;
        const valid = ok.valid;
        for (let p = 0; p < np; p++) if (v[p] === 1 && (valid === null || valid[p] === 1)) keepPairs[nk++] = p;
      }
      if (nk < np) {
        const k = keepPairs.subarray(0, nk);
        const ki = new Int32Array(nk);
        const kh = new Int32Array(nk);
        for (let q = 0; q < nk; q++) {
          ki[q] = pairsI[k[q]!]!;
          kh[q] = pairsH[k[q]!]!;
        }
        pairsI = ki;
        pairsH = kh;
        np = nk;
        pairRows = pairRows.map((v) => gatherVec(v, k));
      }
    }
    const inputMatched = new Uint8Array(m);
    if (spec.joinType === 'leftSemi') {
      if (side === 0) {
        const first = new Int32Array(np);
        let nf = 0;
        for (let p = 0; p < np; p++) {
          const j = pairsI[p]!;
          if (inputMatched[j] === 0) {
            inputMatched[j] = 1;
            first[nf++] = rowsIn[j]!;
          }
        }
        if (nf > 0) this.emitRows(batch, schema, first.subarray(0, nf));
      } else {
        // Each left row once, at its first match (a right row matches only left rows not matched yet).
        const emit = other.markMatched(pairsI, pairsH, inputMatched);
        if (emit.length > 0) {
          const h = Int32Array.from(emit);
          const cols = other.gather(h, this.nKeys + 1, this.nKeys + 1 + this.leftWidth);
          this.out.push(batchFromVecs(spec.outputSchema, cols, h.length));
        }
      }
    } else {
      other.markMatched(pairsI, pairsH, inputMatched);
      if (np > 0) this.emitCombined(pairRows ?? this.combinedVecs(side, batch, rowsIn, pairsI, pairsH), np);
    }
    // Store: all left rows (but a left semi's matched ones); right rows unless this batch evicts them and the join
    // does not keep them unmatched.
    const times = this.rowTimes(side, keys, batch);
    const th = side === 1 ? this.threshold(1, info) : null;
    const semiLeft = spec.joinType === 'leftSemi' && side === 0;
    const store = new Int32Array(m);
    let ns = 0;
    for (let j = 0; j < m; j++) {
      if (semiLeft && inputMatched[j] === 1) continue;
      if (th !== null && times[rowsIn[j]!]! <= th && !(preserved && inputMatched[j] === 0)) continue;
      store[ns++] = j;
    }
    if (ns === 0) return;
    const rowSel = new Int32Array(ns);
    const g = new Int32Array(ns);
    const t = new Float64Array(ns);
    const mt = new Uint8Array(ns);
    const seq = new Float64Array(ns);
    for (let k = 0; k < ns; k++) {
      const j = store[k]!;
      const i = rowsIn[j]!;
      rowSel[k] = i;
      g[k] = gids[j]!;
      t[k] = times[i]!;
      mt[k] = inputMatched[j]!;
      seq[k] = seqBase + i;
    }
    // Every input row stored: the chunk holds the batch's own columns, not copies.
    const whole = ns === n;
    const cols: Vec[] = [
      ...keys.map((v) => (whole ? v : gatherVec(v, rowSel))),
      numVec('double', seq),
      ...schema.fields.map((_, c) => (whole ? columnVec(batch, schema, c) : gatherVec(columnVec(batch, schema, c), rowSel))),
    ];
    me.add(cols, ns, g, t, mt, false);
    this.updated += ns;
  }

  /** Rows (1) whose key is null in a column not compared with `<=>`, or null: none. */
  private nullKeyRows(keys: readonly Vec[], n: number): Uint8Array | null {
    let out: Uint8Array | null = null;
    for (let k = 0; k < this.nKeys; k++) {
      if (this.spec.nullSafe[k]) continue;
      const v = keys[k]!;
      if (v.kind === 'null') return new Uint8Array(n).fill(1);
      if (v.valid === null) continue;
      out ??= new Uint8Array(n);
      const valid = v.valid;
      for (let i = 0; i < n; i++) if (valid[i] === 0) out[i] = 1;
    }
    return out;
  }

  /** The combined (left ++ right) rows of candidate pairs, for the residual condition and the output. */
  private combinedVecs(side: number, batch: RecordBatch, sel: Int32Array, pairsI: Int32Array, pairsH: Int32Array): Vec[] {
    const schema = this.spec.inputSchemas[side]!;
    const m = pairsI.length;
    const inputRows = new Int32Array(m);
    for (let p = 0; p < m; p++) inputRows[p] = sel[pairsI[p]!]!;
    const mine = schema.fields.map((_, c) => gatherVec(columnVec(batch, schema, c), inputRows));
    const other = this.sides[1 - side]!;
    const otherWidth = this.spec.inputSchemas[1 - side]!.fields.length;
    const theirs = other.gather(pairsH, this.nKeys + 1, this.nKeys + 1 + otherWidth);
    return side === 0 ? [...mine, ...theirs] : [...theirs, ...mine];
  }

  /** The output columns of combined rows. */
  private emitCombined(vecs: Vec[], n: number): void {
    const spec = this.spec;
    const combined = batchFromVecs(spec.combined, vecs, n);
    const env: EvalEnv = { batchTimestampMs: 0 };
    const cols = spec.output.map((b) => (b.k === 'ref' && b.path.length === 0 ? vecs[b.ordinal]! : evaluate(b, combined, spec.combined, env)));
    this.out.push(batchFromVecs(spec.outputSchema, cols, n));
  }

  /** Left rows as they are (a left semi join's output). */
  private emitRows(batch: RecordBatch, schema: Schema, rows: Int32Array): void {
    const cols = schema.fields.map((_, c) => gatherVec(columnVec(batch, schema, c), rows));
    this.out.push(batchFromVecs(this.spec.outputSchema, cols, rows.length));
  }

  /** Rows of `side` with the other side's columns null: input rows (`batch`) or state rows (`handles`). */
  private emitPadded(side: number, batch: RecordBatch | null, rows: Int32Array | null, handles: Int32Array | null): void {
    const spec = this.spec;
    const schema = spec.inputSchemas[side]!;
    const n = rows !== null ? rows.length : handles!.length;
    const mine =
      batch !== null && rows !== null
        ? schema.fields.map((_, c) => gatherVec(columnVec(batch, schema, c), rows))
        : this.sides[side]!.gather(handles!, this.nKeys + 1, this.nKeys + 1 + schema.fields.length);
    const otherSchema = spec.inputSchemas[1 - side]!;
    const empty = otherSchema.fields.map((f) => nullVec(f.type, n));
    this.emitCombined(side === 0 ? [...mine, ...empty] : [...empty, ...mine], n);
  }

  finish(info: BatchInfo): { output: RecordBatch | null; metrics: PartitionMetrics } {
    let removed = 0;
    for (const side of [0, 1]) {
      const th = this.threshold(side, info);
      if (th === null) continue;
      const st = this.sides[side]!;
      const gone = st.evict(th);
      if (gone.length === 0) continue;
      removed += gone.length;
      if (this.preserves(side)) {
        const unmatched = gone.filter((h) => st.matched[h] === 0);
        if (unmatched.length > 0) this.emitPadded(side, null, null, unmatched);
      }
    }
    const out = this.out.length === 0 ? null : this.out.length === 1 ? this.out[0]! : concatBatches(this.out, this.spec.outputSchema);
    this.out = [];
    const [l, r] = this.sides;
    const lb = l.memoryBytes();
    const rb = r.memoryBytes();
    return {
      output: out,
      metrics: {
        numRowsTotal: l.live + r.live,
        numRowsUpdated: this.updated,
        numRowsRemoved: removed,
        numRowsDroppedByWatermark: this.late,
        memoryUsedBytes: lb + rb + this.groups.memoryBytes,
        custom: { leftStateRows: l.live, rightStateRows: r.live, leftStateBytes: lb, rightStateBytes: rb },
      },
    };
  }

  /**
   * Once a side's dead rows outnumber its live ones, rewrites that side into one chunk (its key groups kept); once
   * the key groups outnumber twice the live rows, rebuilds everything, dropping the keys nobody holds. Only between
   * commits (no change waits for `takeDelta`), so both cost O(1) per row amortised.
   */
  private compact(): void {
    const [l, r] = this.sides;
    if (l.dirtyCount > 0 || r.dirtyCount > 0) return;
    if (this.groups.size > 2 * (l.live + r.live) + 1024) {
      const rows = new Map<string, RecordBatch | null>([
        ['left', this.snapshot('left')],
        ['right', this.snapshot('right')],
      ]);
      this.reset();
      this.load(rows, true);
      return;
    }
    for (const side of [0, 1]) {
      const st = this.sides[side]!;
      if (st.size - st.live <= st.live) continue;
      const live = st.liveHandles();
      const fresh = new SideState(st.name, st.tracksMatched);
      fresh.ensureGroups(this.groups.size);
      if (live.length > 0) {
        const cols = st.gather(live, 0, st.chunks[0]!.length);
        const m = live.length;
        const groups = new Int32Array(m);
        const times = new Float64Array(m);
        const matched = new Uint8Array(m);
        for (let i = 0; i < m; i++) {
          const h = live[i]!;
          groups[i] = st.group[h]!;
          times[i] = st.time[h]!;
          matched[i] = st.matched[h]!;
        }
        fresh.add(cols, live.length, groups, times, matched, true);
      }
      this.sides[side] = fresh;
    }
  }

  private reset(): void {
    this.codec = new KeyCodec(this.spec.keyTypes);
    this.groups = new GroupTable(this.codec.width);
    this.sides[0] = new SideState('left', this.tracksMatched(0));
    this.sides[1] = new SideState('right', this.tracksMatched(1));
  }

  private load(tables: ReadonlyMap<string, RecordBatch | null>, persisted: boolean): void {
    for (const side of [0, 1]) {
      const t = this.tables[side]!;
      const rows = tables.get(t.name) ?? null;
      if (rows === null || rows.numRows === 0) continue;
      const n = rows.numRows;
      const vecs = t.schema.fields.map((_, c) => columnVec(rows, t.schema, c));
      const keys = vecs.slice(0, this.nKeys);
      const gids = new Int32Array(n);
      this.groups.findOrInsert(this.codec.encode(keys, null, n), n, gids);
      const st = this.sides[side]!;
      st.ensureGroups(this.groups.size);
      this.sides[1 - side]!.ensureGroups(this.groups.size);
      const inputWidth = this.spec.inputSchemas[side]!.fields.length;
      const cols = vecs.slice(0, this.nKeys + 1 + inputWidth);
      const e = this.eviction(side);
      const times = new Float64Array(n).fill(Number.NaN);
      if (e !== null) {
        const v = timesOf(e.kind === 'key' ? keys[e.key]! : vecs[this.nKeys + 1 + e.ordinal]!);
        for (let i = 0; i < n; i++) if (v.valid === null || v.valid[i] === 1) times[i] = v.values[i]!;
      }
      const mv = vecs[vecs.length - 1]!;
      const matched = new Uint8Array(n);
      for (let i = 0; i < n; i++) matched[i] = isTrue(mv, i) ? 1 : 0;
      st.add(cols, n, gids, times, matched, persisted);
    }
  }

  private sideOf(table: string): SideState {
    return table === 'right' ? this.sides[1] : this.sides[0];
  }

  /** The table columns of the rows `handles`. */
  private tableRows(st: SideState, table: StateTable, handles: Int32Array): Vec[] {
    const width = table.schema.fields.length - 1;
    const cols = st.gather(handles, 0, width);
    const m = new Uint8Array(handles.length);
    for (let i = 0; i < handles.length; i++) m[i] = st.matched[handles[i]!]!;
    cols.push({ kind: 'bool', type: 'boolean', length: handles.length, values: m, valid: null });
    return cols;
  }

  /**
   * This commit's changes of one side: a put (the whole row) per row stored or re-flagged since the last commit, then
   * a delete per persisted row evicted since, carrying only its key (`__key0…`, `__seq`; the other columns null, as
   * every delete in a state delta).
   */
  takeDelta(table: string): RecordBatch | null {
    const st = this.sideOf(table);
    const t = this.tables[table === 'right' ? 1 : 0]!;
    const n = st.dirtyCount;
    const puts = new Int32Array(n);
    const dels = new Int32Array(n);
    let np = 0;
    let nd = 0;
    for (let i = 0; i < n; i++) {
      const h = st.dirtyList[i]!;
      st.dirty[h] = 0;
      if (st.alive[h] === 1) {
        puts[np++] = h;
        st.persisted[h] = 1;
      } else if (st.persisted[h] === 1) {
        dels[nd++] = h;
        st.persisted[h] = 0;
      }
    }
    st.dirtyCount = 0;
    if (np + nd === 0) return null;
    const ops = new Float64Array(np + nd);
    ops.fill(OP_PUT, 0, np);
    ops.fill(OP_DELETE, np);
    const rows = np > 0 ? this.tableRows(st, t, puts.subarray(0, np)) : null;
    if (nd === 0) return batchFromVecs(deltaSchema(t.schema), [numVec('int', ops), ...rows!], np);
    const keyWidth = this.nKeys + 1;
    const keys = st.gather(dels.subarray(0, nd), 0, keyWidth);
    const fields = t.schema.fields;
    const deleted: Vec[] = fields.map((f, c) =>
      c < keyWidth ? keys[c]! : c === fields.length - 1 ? { kind: 'bool', type: 'boolean', length: nd, values: new Uint8Array(nd), valid: null } : nullVec(f.type, nd),
    );
    const cols = rows === null ? deleted : deleted.map((d, c) => concatVecs([rows[c]!, d]));
    return batchFromVecs(deltaSchema(t.schema), [numVec('int', ops), ...cols], np + nd);
  }

  snapshot(table: string): RecordBatch | null {
    const st = this.sideOf(table);
    if (st.live === 0) return null;
    const t = this.tables[table === 'right' ? 1 : 0]!;
    return batchFromVecs(t.schema, this.tableRows(st, t, st.liveHandles()), st.live);
  }

  restore(tables: ReadonlyMap<string, RecordBatch | null>): void {
    this.reset();
    this.load(tables, true);
  }
}

function concatBatches(batches: readonly RecordBatch[], schema: Schema): RecordBatch {
  const n = batches.reduce((s, b) => s + b.numRows, 0);
  return batchFromVecs(schema, schema.fields.map((_, i) => concatVecs(batches.map((b) => columnVec(b, schema, i)))), n);
}

/** The `join` kind: a stream–stream join, partitioned by its equi-key (each side by its own key expressions). */
export const JOIN_KIND = defineOperatorKind<JoinOperatorSpec>({
  kind: 'join',
  create: (spec) => new JoinPartition(spec),
  inputKeys: (spec, batch, input, info) => {
    const side = input === 0 ? 0 : 1;
    const env = envOf(info, 0);
    return (side === 0 ? spec.leftKeys : spec.rightKeys).map((k) => evaluate(k, batch, spec.inputSchemas[side]!, env));
  },
  describeKeys: (spec) => spec.keyTypes.map((_, i) => `__key${i}`),
});
