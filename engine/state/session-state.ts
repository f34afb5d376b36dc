/**
 * Session windows per key: each key's sessions (sorted by start) with their accumulators. New rows start as
 * `[t, t + gap)` and merge with every session they overlap or touch (Spark's MergingSessionsIterator: `start ≤ end`
 * merges). Sessions live in typed arrays indexed by a session id that is also the accumulator group id.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import { Accumulators, type AggSpec } from '../kernels/agg-kernel.js';
import { GroupTable } from '../kernels/hash-kernel.js';
import { KeyCodec } from '../kernels/key-codec.js';
import { concatVecs } from '../kernels/select-kernel.js';
import { nullVec, type Vec } from '../kernels/vec.js';
import { field, schemaOf, type DataType, type Schema } from '../types/data-type.js';
import { batchFromVecs, columnVec } from '../types/values.js';
import { OP_DELETE, OP_PUT, deltaSchema } from './state-store.js';

/**
 * Sessions of one partition of a session-window aggregation.
 *
 * @example
 * const s = new SessionState(['user'], ['string'], specs);
 * s.absorb([users], rows, starts, ends, m, inputs, seqBase);
 * s.sessionsEndingBy(watermark);
 */
export class SessionState {
  readonly codec: KeyCodec;
  readonly keys: GroupTable;
  readonly acc: Accumulators;
  start = new Float64Array(256);
  end = new Float64Array(256);
  keyOf = new Int32Array(256);
  live = new Uint8Array(256);
  dirty = new Uint8Array(256);
  /** Start under which the session was last written to the checkpoint (NaN: never written). */
  persisted = new Float64Array(256).fill(NaN);
  private free: number[] = [];
  private next = 0;
  /** Session ids of each key, sorted by start. */
  private byKey: number[][] = [];
  private liveCount = 0;
  private deadKeys = 0;
  /** Deletes for the next checkpoint: (key id, start) until decoded. */
  private pendingDeletes: { key: number; start: number }[] = [];
  private decodedDeletes: Vec[][] = [];
  private decodedDeleteCount = 0;
  private gidScratch = new Int32Array(256);
  /** Sessions created or changed since `takeTouched()`: marked with the current epoch, and counted. */
  private touchMark = new Uint32Array(256);
  private touchEpoch = 1;
  private touchedCount = 0;
  /** (session, input row) pairs to fold after a merge, reused across batches. */
  private pairGid = new Int32Array(256);
  private pairRow = new Int32Array(256);
  private pairCount = 0;
  /** A key's sessions while `mergeKey` rebuilds them (reused). */
  private readonly keyScratch: number[] = [];

  constructor(
    readonly keyNames: readonly string[],
    readonly keyTypes: readonly DataType[],
    readonly specs: readonly AggSpec[],
  ) {
    this.codec = new KeyCodec(keyTypes);
    this.keys = new GroupTable(this.codec.width);
    this.acc = new Accumulators(specs);
  }

  get size(): number {
    return this.liveCount;
  }

  get stateSchema(): Schema {
    return schemaOf([
      ...this.keyNames.map((n, i) => field(n, this.keyTypes[i]!)),
      field('__session_start', 'timestamp'),
      field('__session_end', 'timestamp'),
      ...this.acc.stateFields(),
    ]);
  }

  /** Key columns in the checkpoint (the keys plus the session start). */
  get stateKeyCount(): number {
    return this.keyTypes.length + 1;
  }

  private allocate(key: number, s: number, e: number): number {
    let id: number;
    if (this.free.length > 0) id = this.free.pop()!;
    else {
      id = this.next++;
      if (id >= this.start.length) this.grow(id + 1);
    }
    this.acc.ensure(Math.max(this.next, id + 1));
    this.acc.resetGroup(id);
    this.start[id] = s;
    this.end[id] = e;
    this.keyOf[id] = key;
    this.live[id] = 1;
    this.dirty[id] = 1;
    this.persisted[id] = NaN;
    this.liveCount++;
    return id;
  }

  private release(id: number): void {
    if (!Number.isNaN(this.persisted[id]!)) this.pendingDeletes.push({ key: this.keyOf[id]!, start: this.persisted[id]! });
    this.live[id] = 0;
    this.dirty[id] = 0;
    this.persisted[id] = NaN;
    if (this.touchMark[id] === this.touchEpoch) this.touchedCount--;
    this.touchMark[id] = 0;
    this.free.push(id);
    this.liveCount--;
  }

  private grow(size: number): void {
    let cap = this.start.length;
    while (cap < size) cap *= 2;
    const f = (a: Float64Array, fill = 0) => {
      const b = new Float64Array(cap).fill(fill);
      b.set(a);
      return b;
    };
    const u = (a: Uint8Array) => {
      const b = new Uint8Array(cap);
      b.set(a);
      return b;
    };
    this.start = f(this.start);
    this.end = f(this.end);
    this.persisted = f(this.persisted, NaN);
    const k = new Int32Array(cap);
    k.set(this.keyOf);
    this.keyOf = k;
    this.live = u(this.live);
    this.dirty = u(this.dirty);
    const t = new Uint32Array(cap);
    t.set(this.touchMark);
    this.touchMark = t;
  }

  /** Key ids of `m` key rows (inserting new keys). */
  private keyIds(keyCols: readonly Vec[], rows: Int32Array | null, m: number): Int32Array {
    const k = this.codec.encode(keyCols, rows, m);
    if (this.gidScratch.length < m) this.gidScratch = new Int32Array(Math.max(m, this.gidScratch.length * 2));
    const ids = this.gidScratch.subarray(0, m);
    this.keys.findOrInsert(k, m, ids);
    while (this.byKey.length < this.keys.size) this.byKey.push([]);
    return ids;
  }

  /**
   * Merges `m` new row sessions (`rows[i]` is the input row of pair i, `[starts[i], ends[i])` its session) into the
   * sessions of their keys, then folds the rows into the accumulators.
   */
  absorb(
    keyCols: readonly Vec[],
    rows: Int32Array,
    starts: Float64Array,
    ends: Float64Array,
    m: number,
    inputs: readonly (Vec | null)[],
    seqBase: number,
  ): void {
    if (m === 0) return;
    const n = this.mergeAll(keyCols, rows, starts, ends, m);
    this.acc.update(this.pairGid.subarray(0, n), this.pairRow.subarray(0, n), n, inputs, seqBase);
  }

  /**
   * Merges partial sessions computed elsewhere (keys, `[start, end)`, and their accumulators as groups `0…m−1` of
   * `partials`) into the sessions of their keys.
   */
  absorbSessions(keyCols: readonly Vec[], starts: Float64Array, ends: Float64Array, m: number, partials: Accumulators): void {
    if (m === 0) return;
    const ids = new Int32Array(m);
    for (let i = 0; i < m; i++) ids[i] = i;
    const n = this.mergeAll(keyCols, ids, starts, ends, m);
    this.acc.mergeFrom(partials, this.pairRow.subarray(0, n), this.pairGid.subarray(0, n), n);
  }

  /**
   * Buckets items by key, each bucket ordered by start (ties by item), and merges each key's sessions. Leaves the
   * (target session, item row) pairs to fold in `pairGid`/`pairRow`; returns their count.
   */
  private mergeAll(keyCols: readonly Vec[], rows: Int32Array, starts: Float64Array, ends: Float64Array, m: number): number {
    const keyIds = Int32Array.from(this.keyIds(keyCols, rows, m));
    if (this.pairGid.length < m) {
      this.pairGid = new Int32Array(Math.max(m, this.pairGid.length * 2));
      this.pairRow = new Int32Array(this.pairGid.length);
    }
    this.pairCount = 0;
    // Items in start order (null when the starts do not suit a radix sort: each bucket is then sorted on its own).
    const byStart = radixByStart(starts, m);
    // Bucket items by key (a stable counting sort), so a bucket keeps the order the items came in.
    const nk = this.keys.size;
    const counts = new Int32Array(nk + 1);
    for (let i = 0; i < m; i++) counts[keyIds[i]! + 1]!++;
    for (let k = 0; k < nk; k++) counts[k + 1]! += counts[k]!;
    const bucketStart = counts.slice();
    const order = new Int32Array(m);
    if (byStart === null) for (let i = 0; i < m; i++) order[bucketStart[keyIds[i]!]!++] = i;
    else
      for (let j = 0; j < m; j++) {
        const i = byStart[j]!;
        order[bucketStart[keyIds[i]!]!++] = i;
      }
    for (let k = 0; k < nk; k++) {
      const a = counts[k]!;
      const b = counts[k + 1]!;
      if (a === b) continue;
      if (byStart === null) sortByStart(order, a, b, starts);
      this.mergeKey(k, order, a, b, rows, starts, ends);
    }
    return this.pairCount;
  }

  /** The new rows of the run `mergeKey` is building (reused). */
  private readonly runRows: number[] = [];

  private mergeKey(key: number, order: Int32Array, a: number, b: number, rows: Int32Array, starts: Float64Array, ends: Float64Array): void {
    const existing = this.byKey[key]!;
    if (existing.length === 0 && this.deadKeys > 0) this.deadKeys--;
    const result = this.keyScratch;
    result.length = 0;
    let e = 0;
    let p = a;
    let curStart = 0;
    let curEnd = -Infinity;
    let open = false;
    let target = -1;
    let merged = false;
    const curRows = this.runRows;
    curRows.length = 0;
    while (e < existing.length || p < b) {
      const takeExisting = p >= b || (e < existing.length && this.start[existing[e]!]! <= starts[order[p]!]!);
      let s: number;
      let en: number;
      let sid = -1;
      let pair = -1;
      if (takeExisting) {
        sid = existing[e++]!;
        s = this.start[sid]!;
        en = this.end[sid]!;
      } else {
        pair = order[p++]!;
        s = starts[pair]!;
        en = ends[pair]!;
      }
      if (open && s <= curEnd) {
        if (en > curEnd) curEnd = en;
      } else {
        if (open) {
          result.push(this.closeRun(key, curStart, curEnd, target, merged, curRows));
          merged = false;
          target = -1;
        }
        open = true;
        curStart = s;
        curEnd = en;
      }
      if (sid >= 0) {
        if (target < 0) target = sid;
        else {
          // Two stored sessions bridged by new rows: fold the later one into the target.
          const src = Int32Array.of(sid);
          this.acc.mergeFrom(this.acc, src, Int32Array.of(target), 1);
          this.release(sid);
          merged = true;
        }
      } else curRows.push(rows[pair]!);
    }
    if (open) result.push(this.closeRun(key, curStart, curEnd, target, merged, curRows));
    // The key's list is rewritten in place (no array per key and batch).
    if (existing.length > result.length) existing.length = result.length;
    for (let i = 0; i < result.length; i++) existing[i] = result[i]!;
  }

  /**
   * Ends one merged run `[curStart, curEnd)` of a key: its session (`target`, or a new one) takes the bounds, and the
   * run's new rows fold into it. Returns the session. A method, not a closure per key: `mergeKey` runs once per key
   * and batch.
   */
  private closeRun(key: number, curStart: number, curEnd: number, target: number, merged: boolean, curRows: number[]): number {
    if (target < 0) target = this.allocate(key, curStart, curEnd);
    if (merged || curRows.length > 0 || this.start[target] !== curStart || this.end[target] !== curEnd) {
      this.start[target] = curStart;
      this.end[target] = curEnd;
      this.dirty[target] = 1;
      if (this.touchMark[target] !== this.touchEpoch) {
        this.touchMark[target] = this.touchEpoch;
        this.touchedCount++;
      }
    }
    const gids = this.pairGid;
    const gRows = this.pairRow;
    let n = this.pairCount;
    for (let i = 0; i < curRows.length; i++) {
      gids[n] = target;
      gRows[n++] = curRows[i]!;
    }
    this.pairCount = n;
    curRows.length = 0;
    return target;
  }

  /** How many live sessions were created or changed since the last call (for progress's numRowsUpdated). */
  takeTouched(): number {
    const n = this.touchedCount;
    this.touchedCount = 0;
    if (++this.touchEpoch === 0xffffffff) {
      this.touchMark.fill(0);
      this.touchEpoch = 1;
    }
    return n;
  }

  /** Live session ids whose end is ≤ `watermarkMs`. */
  sessionsEndingBy(watermarkMs: number): Int32Array {
    const out: number[] = [];
    for (let id = 0; id < this.next; id++) if (this.live[id] && this.end[id]! <= watermarkMs) out.push(id);
    return Int32Array.from(out);
  }

  /** Every live session id. */
  allSessions(): Int32Array {
    const out: number[] = [];
    for (let id = 0; id < this.next; id++) if (this.live[id]) out.push(id);
    return Int32Array.from(out);
  }

  /** Key columns of sessions. */
  keyVecs(ids: Int32Array): Vec[] {
    const kids = new Int32Array(ids.length);
    for (let i = 0; i < ids.length; i++) kids[i] = this.keyOf[ids[i]!]!;
    return this.keyTypes.map((_, c) => this.codec.decode(this.keys.keys, kids, c));
  }

  /** Removes sessions (evicted after emission). */
  remove(ids: Int32Array): void {
    if (ids.length === 0) return;
    const gone = new Set<number>();
    for (let i = 0; i < ids.length; i++) {
      gone.add(ids[i]!);
      this.release(ids[i]!);
    }
    const touched = new Set<number>();
    for (let i = 0; i < ids.length; i++) touched.add(this.keyOf[ids[i]!]!);
    for (const k of touched) {
      const l = this.byKey[k]!.filter((id) => !gone.has(id));
      this.byKey[k] = l;
      if (l.length === 0) this.deadKeys++;
    }
  }

  /** Decodes pending deletes and drops keys without sessions when they dominate the key table. */
  maintain(): void {
    if (this.pendingDeletes.length > 0) {
      const kids = Int32Array.from(this.pendingDeletes.map((d) => d.key));
      const keyCols = this.keyTypes.map((_, c) => this.codec.decode(this.keys.keys, kids, c));
      const st = new Float64Array(this.pendingDeletes.map((d) => d.start));
      keyCols.push({ kind: 'num', type: 'timestamp', length: st.length, values: st, big: null, valid: null });
      this.decodedDeletes.push(keyCols);
      this.decodedDeleteCount += st.length;
      this.pendingDeletes = [];
    }
    if (this.deadKeys > 1024 && this.deadKeys * 2 > this.keys.size) {
      const keep = new Uint8Array(this.keys.size);
      for (let k = 0; k < this.keys.size; k++) keep[k] = this.byKey[k]!.length > 0 ? 1 : 0;
      const remap = this.keys.compact(keep);
      const byKey: number[][] = [];
      for (let k = 0; k < remap.length; k++) if (remap[k]! >= 0) byKey[remap[k]!] = this.byKey[k]!;
      this.byKey = byKey;
      for (let id = 0; id < this.next; id++) if (this.live[id]) this.keyOf[id] = remap[this.keyOf[id]!]!;
      this.deadKeys = 0;
    }
  }

  /** Sessions as checkpoint rows. */
  stateBatch(ids: Int32Array): RecordBatch {
    const n = ids.length;
    const s = new Float64Array(n);
    const e = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = this.start[ids[i]!]!;
      e[i] = this.end[ids[i]!]!;
    }
    return batchFromVecs(
      this.stateSchema,
      [
        ...this.keyVecs(ids),
        { kind: 'num', type: 'timestamp', length: n, values: s, big: null, valid: null },
        { kind: 'num', type: 'timestamp', length: n, values: e, big: null, valid: null },
        ...this.acc.toState(ids),
      ],
      n,
    );
  }

  /** Changes since the last call as a delta batch. */
  takeDelta(): RecordBatch | null {
    this.maintain();
    const ids: number[] = [];
    for (let id = 0; id < this.next; id++) {
      if (this.live[id] && this.dirty[id]) {
        ids.push(id);
        // A session whose start moved is stored under a new key: delete the old one.
        const p = this.persisted[id]!;
        if (!Number.isNaN(p) && p !== this.start[id]) this.pendingDeletes.push({ key: this.keyOf[id]!, start: p });
      }
    }
    this.maintain();
    const deletes = this.decodedDeletes;
    const dn = this.decodedDeleteCount;
    this.decodedDeletes = [];
    this.decodedDeleteCount = 0;
    if (ids.length === 0 && dn === 0) return null;
    const puts = this.stateBatch(Int32Array.from(ids));
    for (const id of ids) {
      this.dirty[id] = 0;
      this.persisted[id] = this.start[id]!;
    }
    const schema = this.stateSchema;
    const kc = this.stateKeyCount;
    const n = ids.length + dn;
    const ops = new Float64Array(n);
    ops.fill(OP_PUT, 0, ids.length);
    ops.fill(OP_DELETE, ids.length);
    const cols: Vec[] = [{ kind: 'num', type: 'int', length: n, values: ops, big: null, valid: null }];
    schema.fields.forEach((f, c) => {
      const put = columnVec(puts, schema, c);
      if (dn === 0) cols.push(put);
      else if (c < kc) cols.push(concatVecs([put, ...deletes.map((d) => d[c]!)]));
      else cols.push(concatVecs([put, nullVec(f.type, dn)]));
    });
    return batchFromVecs(deltaSchema(schema), cols, n);
  }

  /** Loads sessions from checkpoint rows. */
  restore(rows: RecordBatch | null): void {
    this.keys.clear();
    this.byKey = [];
    this.free = [];
    this.next = 0;
    this.liveCount = 0;
    this.deadKeys = 0;
    this.live.fill(0);
    this.acc.truncate(0);
    this.pendingDeletes = [];
    this.decodedDeletes = [];
    this.decodedDeleteCount = 0;
    this.touchMark.fill(0);
    this.touchedCount = 0;
    if (rows === null || rows.numRows === 0) return;
    const schema = this.stateSchema;
    const n = rows.numRows;
    const kc = this.keyTypes.length;
    const keyCols = this.keyTypes.map((_, c) => columnVec(rows, schema, c));
    const kids = Int32Array.from(this.keyIds(keyCols, null, n));
    const s = (columnVec(rows, schema, kc) as { values: Float64Array }).values;
    const e = (columnVec(rows, schema, kc + 1) as { values: Float64Array }).values;
    const ids = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      ids[i] = this.allocate(kids[i]!, s[i]!, e[i]!);
      this.byKey[kids[i]!]!.push(ids[i]!);
      this.dirty[ids[i]!] = 0;
      this.persisted[ids[i]!] = s[i]!;
    }
    for (const l of this.byKey) l.sort((x, y) => this.start[x]! - this.start[y]!);
    this.acc.fromState(schema.fields.slice(kc + 2).map((_, i) => columnVec(rows, schema, kc + 2 + i)), ids);
  }

  memoryBytes(): number {
    return this.keys.memoryBytes + this.acc.memoryBytes() + this.start.length * 34 + this.byKey.length * 32;
  }
}

/**
 * Sorts `order[a..b)` by `starts[order[i]]`, ties by `order[i]` (the bucket arrives in ascending `order[i]`). A bucket
 * already in order (a key's rows mostly arrive in event-time order) is left as is; a small or nearly sorted one gets
 * an insertion sort; a bigger one whose starts are whole milliseconds within 2^30 of each other is sorted as numbers
 * `(start − min) · 2^21 + position` (a native typed-array sort, no comparator calls); anything else by comparator.
 *
 * @example
 * sortByStart(order, 0, order.length, starts); // order now ascends by starts[order[i]]
 */
export function sortByStart(order: Int32Array, a: number, b: number, starts: Float64Array): void {
  const n = b - a;
  let descents = 0;
  let min = Infinity;
  let max = -Infinity;
  let whole = true;
  for (let i = a; i < b; i++) {
    const s = starts[order[i]!]!;
    if (i > a && s < starts[order[i - 1]!]!) descents++;
    if (s < min) min = s;
    if (s > max) max = s;
    if (s !== Math.floor(s)) whole = false;
  }
  if (descents === 0) return;
  if (n <= 24 || descents * 8 <= n) {
    for (let i = a + 1; i < b; i++) {
      const x = order[i]!;
      const sx = starts[x]!;
      let j = i - 1;
      while (j >= a && (starts[order[j]!]! > sx || (starts[order[j]!]! === sx && order[j]! > x))) {
        order[j + 1] = order[j]!;
        j--;
      }
      order[j + 1] = x;
    }
    return;
  }
  if (whole && max - min < 2 ** 30 && n < POSITION_SPAN) {
    const keys = new Float64Array(n);
    for (let j = 0; j < n; j++) keys[j] = (starts[order[a + j]!]! - min) * POSITION_SPAN + j;
    keys.sort();
    const bucket = order.slice(a, b);
    for (let j = 0; j < n; j++) {
      const k = keys[j]!;
      order[a + j] = bucket[k - Math.floor(k / POSITION_SPAN) * POSITION_SPAN]!;
    }
    return;
  }
  const part = Array.from(order.subarray(a, b));
  part.sort((x, y) => starts[x]! - starts[y]! || x - y);
  order.set(part, a);
}

/** Bits per pass of `radixByStart`: 2048 counters fit in the first-level cache. */
const RADIX_BITS = 11;
const RADIX_PASSES = 3;

/**
 * The items `0…m−1` ordered by `starts[i]`, ties by `i` (a stable least-significant-digit radix sort on the starts'
 * offsets from their minimum), or null when the starts are not all whole numbers within 2^33 of each other. One pass
 * over a batch instead of a sort per key: a batch of a busy key's rows arrives slightly out of order, and sorting
 * each such bucket on its own cost more than the merge itself.
 *
 * @example
 * radixByStart(Float64Array.of(30, 10, 20, 10), 4); // Int32Array [1, 3, 2, 0]
 */
export function radixByStart(starts: Float64Array, m: number): Int32Array | null {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < m; i++) {
    const s = starts[i]!;
    if (s < min) min = s;
    if (s > max) max = s;
  }
  const span = max - min;
  if (!(span < 2 ** (RADIX_BITS * RADIX_PASSES))) return null;
  // Offsets split in a low (RADIX_BITS · 2) and a high word, so each digit comes from an int32 shift.
  const LOW = 2 ** (RADIX_BITS * 2);
  const lo = new Int32Array(m);
  const hi = span < LOW ? null : new Int32Array(m);
  for (let i = 0; i < m; i++) {
    const d = starts[i]! - min;
    if (d !== Math.floor(d)) return null;
    if (hi === null) lo[i] = d;
    else {
      const h = Math.floor(d / LOW);
      hi[i] = h;
      lo[i] = d - h * LOW;
    }
  }
  let src = new Int32Array(m);
  for (let i = 0; i < m; i++) src[i] = i;
  let dst = new Int32Array(m);
  const counts = new Int32Array(1 << RADIX_BITS);
  const mask = (1 << RADIX_BITS) - 1;
  for (let pass = 0; pass < RADIX_PASSES && (pass === 0 || span >= 2 ** (RADIX_BITS * pass)); pass++) {
    const words = pass < 2 ? lo : hi!;
    const shift = pass < 2 ? pass * RADIX_BITS : 0;
    counts.fill(0);
    for (let j = 0; j < m; j++) counts[(words[j]! >>> shift) & mask]!++;
    // A pass whose digit is the same for every item leaves the order as it is.
    if (counts[(words[0]! >>> shift) & mask] === m) continue;
    let sum = 0;
    for (let d = 0; d <= mask; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
    for (let j = 0; j < m; j++) {
      const i = src[j]!;
      dst[counts[(words[i]! >>> shift) & mask]!++] = i;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}

/** Positions in a bucket sorted as numbers by `sortByStart` stay below this (2^21). */
const POSITION_SPAN = 2 ** 21;
