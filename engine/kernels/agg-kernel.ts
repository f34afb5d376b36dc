/**
 * Aggregate accumulators as typed arrays indexed by group id. `update` runs one loop per aggregate per batch over
 * (group id, row) pairs; `mergeFrom` combines partial states (session merges, partial aggregation); `toState` /
 * `fromState` turn the accumulators into columns for checkpoints and for crossing worker boundaries.
 *
 * Semantics: count(*) counts rows, count(x) non-null x; sum/avg/min/max ignore nulls and give null for a group with
 * none; sum of int/long is a long (exact, wrapping at 64 bits like Spark's non-ANSI mode), of double a double; avg is
 * a double; min/max order NaN above every number (Spark); first/last take the value (null included) of the earliest /
 * latest row in arrival order; countDistinct counts distinct non-null values.
 *
 * @module
 */
import { field, type DataType, type Field } from '../types/data-type.js';
import type { AggFn } from '../logical/expr.js';
import { valueAt } from '../types/values.js';
import { GroupTable, StringDict } from './hash-kernel.js';
import { compareBytes } from './expr-kernel.js';
import { ColumnBuilder } from '../types/values.js';
import {
  LastOf,
  MAX_EXACT,
  strAt,
  TWO32,
  vecFromData,
  type BoolVec,
  type ListVec,
  type NumVec,
  type StrVec,
  type Vec,
} from './vec.js';

/** One aggregate of an aggregation. */
export interface AggSpec {
  readonly fn: AggFn;
  /** Input type; null for count(*). */
  readonly input: DataType | null;
  readonly output: DataType;
}

/** The result type of an aggregate, Spark's rules. */
export function aggOutputType(fn: AggFn, input: DataType | null): DataType {
  switch (fn) {
    case 'count':
    case 'countDistinct':
      return 'long';
    case 'avg':
      return 'double';
    case 'sum':
      return input === 'double' ? 'double' : 'long';
    default:
      return input ?? 'long';
  }
}

interface Acc {
  /** Drops what the accumulator kept of the last input column (see `LastOf`). */
  release?(): void;
  /** Forgets every group's side data (called when every group id is freed; ids are initialised again on reuse). */
  clear?(): void;
  grow(cap: number): void;
  init(from: number, to: number): void;
  update(gids: Int32Array, rows: Int32Array | null, m: number, input: Vec | null, seqBase: number): void;
  mergeFrom(src: Acc, srcGids: Int32Array, dstGids: Int32Array, m: number): void;
  output(gids: Int32Array): Vec;
  compact(remap: Int32Array, size: number): void;
  stateFields(prefix: string): Field[];
  toState(gids: Int32Array): Vec[];
  fromState(vecs: readonly Vec[], gids: Int32Array): void;
  memoryBytes(): number;
}

function growF64(a: Float64Array<ArrayBuffer>, cap: number): Float64Array<ArrayBuffer> {
  if (a.length >= cap) return a;
  const b = new Float64Array(cap);
  b.set(a);
  return b;
}
function growU8(a: Uint8Array<ArrayBuffer>, cap: number): Uint8Array<ArrayBuffer> {
  if (a.length >= cap) return a;
  const b = new Uint8Array(cap);
  b.set(a);
  return b;
}
function growBig(a: BigInt64Array<ArrayBuffer>, cap: number): BigInt64Array<ArrayBuffer> {
  if (a.length >= cap) return a;
  const b = new BigInt64Array(cap);
  b.set(a);
  return b;
}

function compactF64(a: Float64Array, remap: Int32Array): void {
  for (let g = 0; g < remap.length; g++) {
    const t = remap[g]!;
    if (t >= 0 && t !== g) a[t] = a[g]!;
  }
}
function compactU8(a: Uint8Array, remap: Int32Array): void {
  for (let g = 0; g < remap.length; g++) {
    const t = remap[g]!;
    if (t >= 0 && t !== g) a[t] = a[g]!;
  }
}
function compactBig(a: BigInt64Array, remap: Int32Array): void {
  for (let g = 0; g < remap.length; g++) {
    const t = remap[g]!;
    if (t >= 0 && t !== g) a[t] = a[g]!;
  }
}
function compactArr<T>(a: T[], remap: Int32Array): void {
  for (let g = 0; g < remap.length; g++) {
    const t = remap[g]!;
    if (t >= 0 && t !== g) a[t] = a[g]!;
  }
}

function numOut(type: DataType, values: Float64Array, valid: Uint8Array | null, big: BigInt64Array | null = null): Vec {
  return { kind: 'num', type: type as NumVec['type'], length: values.length, values, big, valid };
}

// ------------------------------------------------------------------------------------------------------------- count

class CountAcc implements Acc {
  cnt = new Float64Array(0);
  grow(cap: number) {
    this.cnt = growF64(this.cnt, cap);
  }
  init(from: number, to: number) {
    this.cnt.fill(0, from, to);
  }
  update(gids: Int32Array, rows: Int32Array | null, m: number, input: Vec | null) {
    const cnt = this.cnt;
    const valid = input === null ? null : input.kind === 'null' ? new Uint8Array(input.length) : input.valid;
    if (valid === null) {
      for (let i = 0; i < m; i++) cnt[gids[i]!]!++;
    } else if (rows === null) {
      for (let i = 0; i < m; i++) cnt[gids[i]!]! += valid[i]!;
    } else {
      for (let i = 0; i < m; i++) cnt[gids[i]!]! += valid[rows[i]!]!;
    }
  }
  mergeFrom(src: Acc, s: Int32Array, d: Int32Array, m: number) {
    const from = (src as CountAcc).cnt;
    for (let i = 0; i < m; i++) this.cnt[d[i]!]! += from[s[i]!]!;
  }
  output(gids: Int32Array): Vec {
    const out = new Float64Array(gids.length);
    for (let i = 0; i < gids.length; i++) out[i] = this.cnt[gids[i]!]!;
    return numOut('long', out, null);
  }
  compact(remap: Int32Array) {
    compactF64(this.cnt, remap);
  }
  stateFields(p: string) {
    return [field(`${p}count`, 'long')];
  }
  toState(gids: Int32Array) {
    return [this.output(gids)];
  }
  fromState(vecs: readonly Vec[], gids: Int32Array) {
    const v = (vecs[0] as NumVec).values;
    for (let i = 0; i < gids.length; i++) this.cnt[gids[i]!] = v[i]!;
  }
  memoryBytes() {
    return this.cnt.byteLength;
  }
}

// --------------------------------------------------------------------------------------------------------- sum / avg

class SumAcc implements Acc {
  sum = new Float64Array(0);
  /** Rounding errors of double sums (compensated summation): results do not depend on the order rows arrive in. */
  lo = new Float64Array(0);
  nn = new Float64Array(0);
  /** Exact sums once a long sum may leave the exact range of doubles. */
  big: BigInt64Array<ArrayBuffer> | null = null;
  /** Upper bound of |sum| over all groups while in double mode. */
  private bound = 0;
  private readonly comp: boolean;
  constructor(
    readonly integral: boolean,
    readonly isAvg: boolean,
  ) {
    this.comp = !integral || isAvg;
  }
  grow(cap: number) {
    this.sum = growF64(this.sum, cap);
    if (this.comp) this.lo = growF64(this.lo, cap);
    this.nn = growF64(this.nn, cap);
    if (this.big) this.big = growBig(this.big, cap);
  }
  init(from: number, to: number) {
    this.sum.fill(0, from, to);
    if (this.comp) this.lo.fill(0, from, to);
    this.nn.fill(0, from, to);
    if (this.big) this.big.fill(0n, from, to);
  }
  private toBig() {
    const big = new BigInt64Array(this.sum.length);
    for (let g = 0; g < this.sum.length; g++) big[g] = BigInt(this.sum[g]!);
    this.big = big;
  }
  update(gids: Int32Array, rows: Int32Array | null, m: number, input: Vec | null) {
    if (input === null || input.kind === 'null') return;
    const v = input as NumVec;
    const vals = v.values;
    const valid = v.valid;
    const sum = this.sum;
    const nn = this.nn;
    if (this.integral && !this.isAvg && this.big === null) {
      let maxAbs = 0;
      if (v.big !== null) maxAbs = Infinity;
      else if (rows === null) for (let i = 0; i < m; i++) maxAbs = Math.max(maxAbs, Math.abs(vals[i]!));
      else for (let i = 0; i < m; i++) maxAbs = Math.max(maxAbs, Math.abs(vals[rows[i]!]!));
      this.bound += maxAbs * m;
      if (this.bound > MAX_EXACT) this.toBig();
    }
    if (this.big !== null) {
      const big = this.big;
      for (let i = 0; i < m; i++) {
        const r = rows === null ? i : rows[i]!;
        if (valid !== null && valid[r] === 0) continue;
        const g = gids[i]!;
        big[g] = BigInt.asIntN(64, big[g]! + (v.big !== null ? v.big[r]! : BigInt(vals[r]!)));
        nn[g]!++;
      }
      return;
    }
    if (this.comp) {
      // TwoSum: sum[g] + x = t + err exactly; errors accumulate in lo[g].
      const lo = this.lo;
      for (let i = 0; i < m; i++) {
        const r = rows === null ? i : rows[i]!;
        if (valid !== null && valid[r] === 0) continue;
        const g = gids[i]!;
        const x = vals[r]!;
        const s0 = sum[g]!;
        const t = s0 + x;
        const bp = t - s0;
        lo[g]! += s0 - (t - bp) + (x - bp);
        sum[g] = t;
        nn[g]!++;
      }
      return;
    }
    if (valid === null) {
      if (rows === null) {
        for (let i = 0; i < m; i++) {
          const g = gids[i]!;
          sum[g]! += vals[i]!;
          nn[g]!++;
        }
      } else {
        for (let i = 0; i < m; i++) {
          const g = gids[i]!;
          sum[g]! += vals[rows[i]!]!;
          nn[g]!++;
        }
      }
    } else {
      for (let i = 0; i < m; i++) {
        const r = rows === null ? i : rows[i]!;
        if (valid[r] === 0) continue;
        const g = gids[i]!;
        sum[g]! += vals[r]!;
        nn[g]!++;
      }
    }
  }
  mergeFrom(src: Acc, s: Int32Array, d: Int32Array, m: number) {
    const o = src as SumAcc;
    if (this.integral && !this.isAvg) {
      if (o.big !== null && this.big === null) this.toBig();
      if (this.big === null) {
        let maxAbs = 0;
        for (let i = 0; i < m; i++) maxAbs = Math.max(maxAbs, Math.abs(o.sum[s[i]!]!));
        this.bound += maxAbs * m;
        if (this.bound > MAX_EXACT) this.toBig();
      }
    }
    if (this.big !== null) {
      for (let i = 0; i < m; i++) {
        const add = o.big !== null ? o.big[s[i]!]! : BigInt(o.sum[s[i]!]!);
        this.big[d[i]!] = BigInt.asIntN(64, this.big[d[i]!]! + add);
        this.nn[d[i]!]! += o.nn[s[i]!]!;
      }
      return;
    }
    if (this.comp) {
      for (let i = 0; i < m; i++) {
        const g = d[i]!;
        const x = o.sum[s[i]!]!;
        const s0 = this.sum[g]!;
        const t = s0 + x;
        const bp = t - s0;
        this.lo[g]! += s0 - (t - bp) + (x - bp) + o.lo[s[i]!]!;
        this.sum[g] = t;
        this.nn[g]! += o.nn[s[i]!]!;
      }
      return;
    }
    for (let i = 0; i < m; i++) {
      this.sum[d[i]!]! += o.sum[s[i]!]!;
      this.nn[d[i]!]! += o.nn[s[i]!]!;
    }
  }
  output(gids: Int32Array): Vec {
    const n = gids.length;
    const out = new Float64Array(n);
    let valid: Uint8Array | null = null;
    let big: BigInt64Array | null = null;
    for (let i = 0; i < n; i++) {
      const g = gids[i]!;
      if (this.nn[g] === 0) {
        valid ??= new Uint8Array(n).fill(1);
        valid[i] = 0;
        continue;
      }
      if (this.isAvg) out[i] = (this.sum[g]! + this.lo[g]!) / this.nn[g]!;
      else if (this.big !== null) {
        const b = this.big[g]!;
        out[i] = Number(b);
        if (b > 9007199254740991n || b < -9007199254740991n) {
          big ??= new BigInt64Array(n);
        }
      } else out[i] = this.comp ? this.sum[g]! + this.lo[g]! : this.sum[g]!;
    }
    if (big !== null) for (let i = 0; i < n; i++) big[i] = this.big![gids[i]!]!;
    return numOut(this.isAvg || !this.integral ? 'double' : 'long', out, valid, big);
  }
  compact(remap: Int32Array) {
    compactF64(this.sum, remap);
    if (this.comp) compactF64(this.lo, remap);
    compactF64(this.nn, remap);
    if (this.big) compactBig(this.big, remap);
  }
  stateFields(p: string) {
    const f = [field(`${p}sum`, this.integral && !this.isAvg ? 'long' : 'double'), field(`${p}nn`, 'long')];
    if (this.comp) f.push(field(`${p}sumerr`, 'double'));
    return f;
  }
  toState(gids: Int32Array) {
    const n = gids.length;
    const sum = new Float64Array(n);
    const nn = new Float64Array(n);
    let big: BigInt64Array | null = null;
    if (this.big !== null) big = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      const g = gids[i]!;
      sum[i] = this.big !== null ? Number(this.big[g]!) : this.sum[g]!;
      if (big) big[i] = this.big![g]!;
      nn[i] = this.nn[g]!;
    }
    const out = [numOut(this.integral && !this.isAvg ? 'long' : 'double', sum, null, big), numOut('long', nn, null)];
    if (this.comp) {
      const lo = new Float64Array(n);
      for (let i = 0; i < n; i++) lo[i] = this.lo[gids[i]!]!;
      out.push(numOut('double', lo, null));
    }
    return out;
  }
  fromState(vecs: readonly Vec[], gids: Int32Array) {
    const s = vecs[0] as NumVec;
    const nn = (vecs[1] as NumVec).values;
    const lo = this.comp ? (vecs[2] as NumVec).values : null;
    if (s.big !== null && this.big === null) this.toBig();
    for (let i = 0; i < gids.length; i++) {
      const g = gids[i]!;
      if (this.big !== null) this.big[g] = s.big !== null ? s.big[i]! : BigInt(s.values[i]!);
      else this.sum[g] = s.values[i]!;
      if (lo) this.lo[g] = lo[i]!;
      this.nn[g] = nn[i]!;
      if (this.big === null) this.bound = Math.max(this.bound, Math.abs(s.values[i]!));
    }
  }
  memoryBytes() {
    return this.sum.byteLength + this.lo.byteLength + this.nn.byteLength + (this.big?.byteLength ?? 0);
  }
}

// --------------------------------------------------------------------------------------------------------- min / max

/** a is better than b for max (NaN is the largest value, as Spark). */
function gtNaN(a: number, b: number): boolean {
  return a !== a ? b === b : a > b;
}

class MinMaxNumAcc implements Acc {
  val = new Float64Array(0);
  has = new Uint8Array(0);
  big: BigInt64Array<ArrayBuffer> | null = null;
  constructor(
    readonly isMax: boolean,
    readonly type: DataType,
  ) {}
  grow(cap: number) {
    this.val = growF64(this.val, cap);
    this.has = growU8(this.has, cap);
    if (this.big) this.big = growBig(this.big, cap);
  }
  init(from: number, to: number) {
    this.has.fill(0, from, to);
  }
  private toBig() {
    this.big = new BigInt64Array(this.val.length);
    for (let g = 0; g < this.val.length; g++) if (this.has[g]) this.big[g] = BigInt(this.val[g]!);
  }
  private better(a: number, b: number): boolean {
    return this.isMax ? gtNaN(a, b) : gtNaN(b, a);
  }
  update(gids: Int32Array, rows: Int32Array | null, m: number, input: Vec | null) {
    if (input === null || input.kind === 'null') return;
    // Booleans arrive as a BoolVec (0/1 bytes, no `big`): they order like numbers.
    const v = input as NumVec | BoolVec;
    const vbig = v.kind === 'num' ? v.big : null;
    if (vbig !== null && this.big === null) this.toBig();
    const vals = v.values;
    const valid = v.valid;
    const val = this.val;
    const has = this.has;
    if (this.big !== null) {
      for (let i = 0; i < m; i++) {
        const r = rows === null ? i : rows[i]!;
        if (valid !== null && valid[r] === 0) continue;
        const g = gids[i]!;
        const x = vbig !== null ? vbig[r]! : BigInt(vals[r]!);
        if (!has[g] || (this.isMax ? x > this.big[g]! : x < this.big[g]!)) {
          this.big[g] = x;
          val[g] = Number(x);
          has[g] = 1;
        }
      }
      return;
    }
    const isMax = this.isMax;
    for (let i = 0; i < m; i++) {
      const r = rows === null ? i : rows[i]!;
      if (valid !== null && valid[r] === 0) continue;
      const g = gids[i]!;
      const x = vals[r]!;
      if (has[g] === 0) {
        val[g] = x;
        has[g] = 1;
      } else {
        const cur = val[g]!;
        if (isMax ? (x > cur || (x !== x && cur === cur)) : (x < cur || (cur !== cur && x === x))) val[g] = x;
      }
    }
  }
  mergeFrom(src: Acc, s: Int32Array, d: Int32Array, m: number) {
    const o = src as MinMaxNumAcc;
    if (o.big !== null && this.big === null) this.toBig();
    for (let i = 0; i < m; i++) {
      const a = s[i]!;
      const g = d[i]!;
      if (!o.has[a]) continue;
      if (this.big !== null) {
        const x = o.big !== null ? o.big[a]! : BigInt(o.val[a]!);
        if (!this.has[g] || (this.isMax ? x > this.big[g]! : x < this.big[g]!)) {
          this.big[g] = x;
          this.val[g] = Number(x);
          this.has[g] = 1;
        }
      } else if (!this.has[g] || this.better(o.val[a]!, this.val[g]!)) {
        this.val[g] = o.val[a]!;
        this.has[g] = 1;
      }
    }
  }
  output(gids: Int32Array): Vec {
    const n = gids.length;
    const out = new Float64Array(n);
    let valid: Uint8Array | null = null;
    let big: BigInt64Array | null = null;
    for (let i = 0; i < n; i++) {
      const g = gids[i]!;
      if (!this.has[g]) {
        valid ??= new Uint8Array(n).fill(1);
        valid[i] = 0;
      } else out[i] = this.val[g]!;
    }
    if (this.big !== null) {
      big = new BigInt64Array(n);
      for (let i = 0; i < n; i++) big[i] = this.has[gids[i]!] ? this.big[gids[i]!]! : 0n;
    }
    if (this.type === 'boolean') {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = out[i]!;
      return { kind: 'bool', type: 'boolean', length: n, values: b, valid };
    }
    return numOut(this.type, out, valid, big);
  }
  compact(remap: Int32Array) {
    compactF64(this.val, remap);
    compactU8(this.has, remap);
    if (this.big) compactBig(this.big, remap);
  }
  stateFields(p: string) {
    return [field(`${p}value`, this.type)];
  }
  toState(gids: Int32Array) {
    return [this.output(gids)];
  }
  fromState(vecs: readonly Vec[], gids: Int32Array) {
    const v = vecs[0]!;
    const valid = v.valid;
    const vals = v.kind === 'bool' ? Float64Array.from(v.values) : (v as NumVec).values;
    const vbig = v.kind === 'num' ? v.big : null;
    if (vbig !== null && this.big === null) this.toBig();
    for (let i = 0; i < gids.length; i++) {
      const g = gids[i]!;
      if (valid !== null && !valid[i]) {
        this.has[g] = 0;
        continue;
      }
      this.has[g] = 1;
      this.val[g] = vals[i]!;
      if (this.big !== null) this.big[g] = vbig !== null ? vbig[i]! : BigInt(vals[i]!);
    }
  }
  memoryBytes() {
    return this.val.byteLength + this.has.byteLength + (this.big?.byteLength ?? 0);
  }
}

/** Values of types that are not numbers (strings, binaries, structs): kept as JS values, one per group. */
class ObjectValueAcc implements Acc {
  vals: unknown[] = [];
  has = new Uint8Array(0);
  /** first/last: arrival sequence of the kept value. */
  seq = new Float64Array(0);
  /** Scratch of `update`: the best row of each group in the current call (-1: none). */
  private bestRow = new Int32Array(0);
  constructor(
    readonly fn: 'min' | 'max' | 'first' | 'last',
    readonly type: DataType,
  ) {}
  grow(cap: number) {
    this.has = growU8(this.has, cap);
    this.seq = growF64(this.seq, cap);
    if (this.bestRow.length < cap) {
      const b = new Int32Array(cap).fill(-1);
      b.set(this.bestRow);
      this.bestRow = b;
    }
    while (this.vals.length < cap) this.vals.push(null);
  }
  init(from: number, to: number) {
    this.has.fill(0, from, to);
    this.seq.fill(this.fn === 'first' ? Infinity : -Infinity, from, to);
    for (let g = from; g < to; g++) this.vals[g] = null;
  }
  update(gids: Int32Array, rows: Int32Array | null, m: number, input: Vec | null, seqBase: number) {
    if (input === null) return;
    // One best row per touched group, chosen per row by arrival sequence (first/last: rows may come in any order,
    // e.g. sorted by session) or by byte comparison (min/max); each group's value is decoded once.
    const best = this.bestRow;
    const touched = new Int32Array(m);
    let nt = 0;
    const seq = this.seq;
    if (this.fn === 'first' || this.fn === 'last') {
      const isFirst = this.fn === 'first';
      for (let i = 0; i < m; i++) {
        const r = rows === null ? i : rows[i]!;
        const g = gids[i]!;
        const sq = seqBase + r;
        if (isFirst ? sq < seq[g]! : sq > seq[g]!) {
          if (best[g] === -1) touched[nt++] = g;
          best[g] = r;
          seq[g] = sq;
        }
      }
      for (let j = 0; j < nt; j++) {
        const g = touched[j]!;
        this.vals[g] = valueAt(input, best[g]!);
        this.has[g] = 1;
        best[g] = -1;
      }
      return;
    }
    if (input.kind === 'null') return;
    const valid = input.valid;
    const isMax = this.fn === 'max';
    const str = input.kind === 'str' ? input : null;
    for (let i = 0; i < m; i++) {
      const r = rows === null ? i : rows[i]!;
      if (valid !== null && valid[r] === 0) continue;
      const g = gids[i]!;
      const cur = best[g]!;
      if (cur === -1) {
        touched[nt++] = g;
        best[g] = r;
      } else if (str !== null) {
        const c = compareBytes(str, r, str, cur);
        if (isMax ? c > 0 : c < 0) best[g] = r;
      }
    }
    for (let j = 0; j < nt; j++) {
      const g = touched[j]!;
      this.offer(g, valueAt(input, best[g]!));
      best[g] = -1;
    }
  }
  private offer(g: number, value: unknown) {
    if (value === null) return;
    if (!this.has[g]) {
      this.vals[g] = value;
      this.has[g] = 1;
      return;
    }
    const c = compareValues(value, this.vals[g]);
    if (this.fn === 'max' ? c > 0 : c < 0) this.vals[g] = value;
  }
  mergeFrom(src: Acc, s: Int32Array, d: Int32Array, m: number) {
    const o = src as ObjectValueAcc;
    for (let i = 0; i < m; i++) {
      const a = s[i]!;
      const g = d[i]!;
      if (this.fn === 'first' || this.fn === 'last') {
        if (!o.has[a]) continue;
        if (this.fn === 'first' ? o.seq[a]! < this.seq[g]! : o.seq[a]! > this.seq[g]!) {
          this.seq[g] = o.seq[a]!;
          this.vals[g] = o.vals[a];
          this.has[g] = 1;
        }
      } else if (o.has[a]) this.offer(g, o.vals[a]);
    }
  }
  output(gids: Int32Array): Vec {
    const b = new ColumnBuilder(this.type, gids.length);
    for (let i = 0; i < gids.length; i++) b.append(this.has[gids[i]!] ? this.vals[gids[i]!] : null);
    return vecFromData(b.finish(), this.type);
  }
  compact(remap: Int32Array) {
    compactArr(this.vals, remap);
    compactU8(this.has, remap);
    compactF64(this.seq, remap);
  }
  stateFields(p: string) {
    const f = [field(`${p}value`, this.type)];
    if (this.fn === 'first' || this.fn === 'last') f.push(field(`${p}has`, 'boolean'), field(`${p}seq`, 'double'));
    return f;
  }
  toState(gids: Int32Array) {
    const out = [this.output(gids)];
    if (this.fn === 'first' || this.fn === 'last') {
      const has = new Uint8Array(gids.length);
      const seq = new Float64Array(gids.length);
      for (let i = 0; i < gids.length; i++) {
        has[i] = this.has[gids[i]!]!;
        seq[i] = this.seq[gids[i]!]!;
      }
      out.push({ kind: 'bool', type: 'boolean', length: gids.length, values: has, valid: null }, numOut('double', seq, null));
    }
    return out;
  }
  fromState(vecs: readonly Vec[], gids: Int32Array) {
    for (let i = 0; i < gids.length; i++) {
      const g = gids[i]!;
      const v = valueAt(vecs[0]!, i);
      if (this.fn === 'first' || this.fn === 'last') {
        this.has[g] = (vecs[1] as { values: Uint8Array }).values[i]!;
        this.seq[g] = (vecs[2] as NumVec).values[i]!;
        this.vals[g] = v;
      } else {
        this.has[g] = v === null ? 0 : 1;
        this.vals[g] = v;
      }
    }
  }
  memoryBytes() {
    let b = this.has.byteLength + this.seq.byteLength + this.vals.length * 8;
    for (const v of this.vals) if (typeof v === 'string') b += v.length * 2;
    return b;
  }
}

function compareValues(a: unknown, b: unknown): number {
  if (typeof a === 'string' && typeof b === 'string') {
    // UTF-8 byte order equals code point order: compare by code points, not UTF-16 units.
    const ia = a[Symbol.iterator]();
    const ib = b[Symbol.iterator]();
    for (;;) {
      const x = ia.next();
      const y = ib.next();
      if (x.done || y.done) return (x.done ? 0 : 1) - (y.done ? 0 : 1);
      const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
      if (d !== 0) return d;
    }
  }
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
    return a.length - b.length;
  }
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

// ------------------------------------------------------------------------------------------------------- first / last

class FirstLastNumAcc implements Acc {
  private readonly boolValues = new LastOf<Float64Array>();
  release(): void {
    this.boolValues.release();
  }
  val = new Float64Array(0);
  big: BigInt64Array<ArrayBuffer> | null = null;
  isNull = new Uint8Array(0);
  seq = new Float64Array(0);
  constructor(
    readonly isFirst: boolean,
    readonly type: DataType,
  ) {}
  grow(cap: number) {
    this.val = growF64(this.val, cap);
    this.isNull = growU8(this.isNull, cap);
    this.seq = growF64(this.seq, cap);
    if (this.big) this.big = growBig(this.big, cap);
  }
  init(from: number, to: number) {
    this.seq.fill(this.isFirst ? Infinity : -Infinity, from, to);
    this.isNull.fill(1, from, to);
  }
  private toBig() {
    this.big = new BigInt64Array(this.val.length);
    for (let g = 0; g < this.val.length; g++) this.big[g] = BigInt(Number.isFinite(this.val[g]!) ? this.val[g]! : 0);
  }
  update(gids: Int32Array, rows: Int32Array | null, m: number, input: Vec | null, seqBase: number) {
    if (input === null) return;
    const nullVec = input.kind === 'null';
    const v = input as NumVec;
    const vals = nullVec ? null : input.kind === 'bool' ? this.boolValues.of(input, (b) => Float64Array.from((b as BoolVec).values)) : v.values;
    if (!nullVec && input.kind === 'num' && v.big !== null && this.big === null) this.toBig();
    const valid = input.valid;
    const { val, isNull, seq } = this;
    const first = this.isFirst;
    for (let i = 0; i < m; i++) {
      const r = rows === null ? i : rows[i]!;
      const g = gids[i]!;
      const sq = seqBase + r;
      if (first ? sq < seq[g]! : sq > seq[g]!) {
        seq[g] = sq;
        const nul = nullVec || (valid !== null && valid[r] === 0);
        isNull[g] = nul ? 1 : 0;
        if (!nul) {
          val[g] = vals![r]!;
          if (this.big !== null) this.big[g] = v.big !== null ? v.big[r]! : BigInt(vals![r]!);
        }
      }
    }
  }
  mergeFrom(src: Acc, s: Int32Array, d: Int32Array, m: number) {
    const o = src as FirstLastNumAcc;
    if (o.big !== null && this.big === null) this.toBig();
    for (let i = 0; i < m; i++) {
      const a = s[i]!;
      const g = d[i]!;
      if (this.isFirst ? o.seq[a]! < this.seq[g]! : o.seq[a]! > this.seq[g]!) {
        this.seq[g] = o.seq[a]!;
        this.val[g] = o.val[a]!;
        this.isNull[g] = o.isNull[a]!;
        if (this.big !== null) this.big[g] = o.big !== null ? o.big[a]! : BigInt(Number.isFinite(o.val[a]!) ? o.val[a]! : 0);
      }
    }
  }
  output(gids: Int32Array): Vec {
    const n = gids.length;
    const out = new Float64Array(n);
    let valid: Uint8Array | null = null;
    for (let i = 0; i < n; i++) {
      const g = gids[i]!;
      if (this.isNull[g]) {
        valid ??= new Uint8Array(n).fill(1);
        valid[i] = 0;
      } else out[i] = this.val[g]!;
    }
    if (this.type === 'boolean') {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = out[i]!;
      return { kind: 'bool', type: 'boolean', length: n, values: b, valid };
    }
    let big: BigInt64Array | null = null;
    if (this.big !== null) {
      big = new BigInt64Array(n);
      for (let i = 0; i < n; i++) big[i] = this.big[gids[i]!]!;
    }
    return numOut(this.type, out, valid, big);
  }
  compact(remap: Int32Array) {
    compactF64(this.val, remap);
    compactU8(this.isNull, remap);
    compactF64(this.seq, remap);
    if (this.big) compactBig(this.big, remap);
  }
  stateFields(p: string) {
    return [field(`${p}value`, this.type), field(`${p}seq`, 'double')];
  }
  toState(gids: Int32Array) {
    const seq = new Float64Array(gids.length);
    for (let i = 0; i < gids.length; i++) seq[i] = this.seq[gids[i]!]!;
    return [this.output(gids), numOut('double', seq, null)];
  }
  fromState(vecs: readonly Vec[], gids: Int32Array) {
    const v = vecs[0]!;
    const vals = v.kind === 'bool' ? Float64Array.from(v.values) : (v as NumVec).values;
    const vbig = v.kind === 'num' ? v.big : null;
    if (vbig !== null && this.big === null) this.toBig();
    const seq = (vecs[1] as NumVec).values;
    for (let i = 0; i < gids.length; i++) {
      const g = gids[i]!;
      this.seq[g] = seq[i]!;
      const nul = v.valid !== null && !v.valid[i];
      this.isNull[g] = nul ? 1 : 0;
      this.val[g] = nul ? 0 : vals[i]!;
      if (this.big !== null) this.big[g] = vbig !== null ? vbig[i]! : BigInt(this.val[g]!);
    }
  }
  memoryBytes() {
    return this.val.byteLength + this.isNull.byteLength + this.seq.byteLength + (this.big?.byteLength ?? 0);
  }
}

// ---------------------------------------------------------------------------------------------------- countDistinct

/**
 * Distinct (group, value) pairs in a group table, with a per-group list so groups can merge their sets (sessions,
 * partial aggregates from other threads). A value is encoded as a double whose bits identify it: numbers canonical (one
 * NaN, −0 = 0), longs as their int64 bits whether or not the batch carries exact values, booleans 0/1, strings and
 * other types as ids of the accumulator's dictionary. The pair's group half is `gid + generation · 2^31`: a group id
 * reused after `init` starts a new generation, so the pairs of its previous life never match again.
 */
class CountDistinctAcc implements Acc {
  cnt = new Float64Array(0);
  head = new Int32Array(0);
  private gen = new Float64Array(0);
  private next = new Int32Array(1024);
  private pairs = new GroupTable(2, 1024);
  private readonly dict = new StringDict();
  private readonly strIds = new LastOf<Int32Array>();
  private pairIds = new Int32Array(0);
  release(): void {
    this.strIds.release();
  }
  private readonly slot: 'num' | 'i64' | 'bool' | 'dict';
  constructor(readonly type: DataType) {
    this.slot =
      type === 'long' ? 'i64' : type === 'boolean' ? 'bool' : type === 'int' || type === 'double' || type === 'timestamp' || type === 'date' ? 'num' : 'dict';
  }
  grow(cap: number) {
    this.cnt = growF64(this.cnt, cap);
    this.gen = growF64(this.gen, cap);
    if (this.head.length < cap) {
      const h = new Int32Array(cap).fill(-1);
      h.set(this.head);
      this.head = h;
    }
  }
  init(from: number, to: number) {
    this.cnt.fill(0, from, to);
    for (let g = from; g < to; g++) {
      if (this.head[g] !== -1) this.gen[g]!++;
      this.head[g] = -1;
    }
  }
  /** Value halves (slot 1 of each key row) of `m` rows; `ok[i]` is 0 for nulls. */
  private encode(input: Vec, rows: Int32Array | null, m: number): { keys: Float64Array; ok: Uint8Array } {
    const keys = new Float64Array(m * 2);
    const ok = new Uint8Array(m);
    if (input.kind === 'null') return { keys, ok };
    const words = new Int32Array(keys.buffer);
    const valid = input.valid;
    for (let i = 0; i < m; i++) ok[i] = valid === null || valid[rows === null ? i : rows[i]!] === 1 ? 1 : 0;
    switch (this.slot) {
      case 'i64': {
        const nv = input as NumVec;
        if (nv.big !== null) {
          const bw = new Int32Array(nv.big.buffer, nv.big.byteOffset, nv.big.length * 2);
          for (let i = 0; i < m; i++) {
            const r = rows === null ? i : rows[i]!;
            words[4 * i + 2] = bw[2 * r]!;
            words[4 * i + 3] = bw[2 * r + 1]!;
          }
        } else {
          const v = nv.values;
          for (let i = 0; i < m; i++) {
            if (ok[i] === 0) continue;
            const x = v[rows === null ? i : rows[i]!]!;
            const hi = Math.floor(x / TWO32);
            words[4 * i + 2] = (x - hi * TWO32) | 0;
            words[4 * i + 3] = hi | 0;
          }
        }
        break;
      }
      case 'num': {
        const v = (input as NumVec).values;
        for (let i = 0; i < m; i++) {
          const x = v[rows === null ? i : rows[i]!]!;
          keys[2 * i + 1] = x !== x ? NaN : x + 0;
        }
        break;
      }
      case 'bool': {
        const v = (input as BoolVec).values;
        for (let i = 0; i < m; i++) keys[2 * i + 1] = v[rows === null ? i : rows[i]!]!;
        break;
      }
      case 'dict': {
        if (input.kind === 'str') {
          const ids = this.strIds.of(input, (v) => this.dict.encode(v as StrVec));
          for (let i = 0; i < m; i++) {
            const id = ids[rows === null ? i : rows[i]!]!;
            keys[2 * i + 1] = id < 0 ? 0 : id;
          }
        } else {
          for (let i = 0; i < m; i++) {
            if (ok[i] === 0) continue;
            keys[2 * i + 1] = this.dict.idOf(jsonText(valueAt(input, rows === null ? i : rows[i]!)));
          }
        }
        break;
      }
    }
    return { keys, ok };
  }
  /** Adds the pairs (gids[i], value half of key row i) where `ok[i]` (null: all); counts each new pair once. */
  private insert(keys: Float64Array, ok: Uint8Array | null, gids: Int32Array, m: number) {
    const w = new Int32Array(keys.buffer, keys.byteOffset, m * 4);
    const gen = this.gen;
    let k = 0;
    const sel = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      if (ok !== null && ok[i] === 0) continue;
      const g = gids[i]!;
      // Value bits are copied as words: they may not be a canonical double (int64 bits).
      w[4 * k + 2] = w[4 * i + 2]!;
      w[4 * k + 3] = w[4 * i + 3]!;
      keys[2 * k] = g + gen[g]! * 2147483648;
      sel[k++] = g;
    }
    if (this.pairIds.length < k) this.pairIds = new Int32Array(k * 2);
    const ids = this.pairIds;
    let fresh = this.pairs.size;
    this.pairs.findOrInsert(keys, k, ids);
    if (this.next.length < this.pairs.size) {
      const nx = new Int32Array(this.pairs.size * 2);
      nx.set(this.next);
      this.next = nx;
    }
    const { cnt, next, head } = this;
    // New pairs get ids in first-seen order: a pair is new exactly when its id is the next unused one.
    for (let j = 0; j < k; j++) {
      if (ids[j] !== fresh) continue;
      const g = sel[j]!;
      cnt[g]!++;
      next[fresh] = head[g]!;
      head[g] = fresh++;
    }
  }
  update(gids: Int32Array, rows: Int32Array | null, m: number, input: Vec | null) {
    if (input === null) return;
    const { keys, ok } = this.encode(input, rows, m);
    this.insert(keys, ok, gids, m);
  }
  /** The value halves of the pairs of groups `s` (of `o`), as key rows for this accumulator, and their target groups. */
  private pairsOf(o: CountDistinctAcc, s: Int32Array, d: Int32Array | null, m: number): { keys: Float64Array; gids: Int32Array; total: number } {
    let total = 0;
    for (let i = 0; i < m; i++) for (let p = o.head[s[i]!]!; p >= 0; p = o.next[p]!) total++;
    const keys = new Float64Array(total * 2);
    const kw = new Int32Array(keys.buffer);
    const gids = new Int32Array(total);
    const sw = new Int32Array(o.pairs.keys.buffer, o.pairs.keys.byteOffset, o.pairs.size * 4);
    let j = 0;
    for (let i = 0; i < m; i++) {
      for (let p = o.head[s[i]!]!; p >= 0; p = o.next[p]!) {
        gids[j] = d === null ? i : d[i]!;
        kw[4 * j + 2] = sw[4 * p + 2]!;
        kw[4 * j + 3] = sw[4 * p + 3]!;
        j++;
      }
    }
    if (o !== this && this.slot === 'dict') {
      // Dictionary ids are per accumulator: translate through the text.
      for (let q = 0; q < total; q++) {
        const b = o.dict.bytesOf(keys[2 * q + 1]!);
        keys[2 * q + 1] = this.dict.idOfBytes(b, 0, b.length);
      }
    }
    return { keys, gids, total };
  }
  mergeFrom(src: Acc, s: Int32Array, d: Int32Array, m: number) {
    const { keys, gids, total } = this.pairsOf(src as CountDistinctAcc, s, d, m);
    this.insert(keys, null, gids, total);
  }
  output(gids: Int32Array): Vec {
    const out = new Float64Array(gids.length);
    for (let i = 0; i < gids.length; i++) out[i] = this.cnt[gids[i]!]!;
    return numOut('long', out, null);
  }
  clear() {
    // Every group is gone: its pairs go too (generations only keep stale pairs from matching, not from piling up).
    this.pairs.clear();
    this.head.fill(-1);
    this.cnt.fill(0);
    this.gen.fill(0);
  }
  compact(remap: Int32Array, size: number) {
    // Rebuild the pair table from the lists of the groups that stay (this also drops pairs of earlier generations).
    const kept: number[] = [];
    const to: number[] = [];
    for (let g = 0; g < remap.length; g++) {
      if (remap[g]! >= 0) {
        kept.push(g);
        to.push(remap[g]!);
      }
    }
    const { keys, gids, total } = this.pairsOf(this, Int32Array.from(kept), Int32Array.from(to), kept.length);
    this.pairs = new GroupTable(2, Math.max(1024, total));
    this.next = new Int32Array(Math.max(1024, total));
    this.head.fill(-1);
    this.cnt.fill(0);
    this.gen.fill(0);
    void size;
    this.insert(keys, null, gids, total);
  }
  stateFields(p: string): Field[] {
    return [field(`${p}distinct`, { kind: 'array', element: this.type })];
  }
  /** Each group's distinct values as a list. */
  toState(gids: Int32Array): Vec[] {
    const n = gids.length;
    const { keys, total } = this.pairsOf(this, gids, null, n);
    const offsets = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + this.cnt[gids[i]!]!;
    const kw = new Int32Array(keys.buffer);
    let child: Vec;
    switch (this.slot) {
      case 'num': {
        const v = new Float64Array(total);
        for (let j = 0; j < total; j++) v[j] = keys[2 * j + 1]!;
        child = numOut(this.type, v, null);
        break;
      }
      case 'i64': {
        const v = new Float64Array(total);
        let big: BigInt64Array | null = null;
        for (let j = 0; j < total; j++) {
          const hi = kw[4 * j + 3]!;
          v[j] = hi * TWO32 + (kw[4 * j + 2]! >>> 0);
          if (hi > 2097151 || hi < -2097152) big ??= new BigInt64Array(total);
        }
        if (big !== null) {
          const bw = new Int32Array(big.buffer);
          for (let j = 0; j < total; j++) {
            bw[2 * j] = kw[4 * j + 2]!;
            bw[2 * j + 1] = kw[4 * j + 3]!;
          }
        }
        child = numOut('long', v, null, big);
        break;
      }
      case 'bool': {
        const v = new Uint8Array(total);
        for (let j = 0; j < total; j++) v[j] = keys[2 * j + 1]!;
        child = { kind: 'bool', type: 'boolean', length: total, values: v, valid: null };
        break;
      }
      case 'dict': {
        const ids = new Int32Array(total);
        for (let j = 0; j < total; j++) ids[j] = keys[2 * j + 1]!;
        if (this.type === 'string' || this.type === 'binary') child = this.dict.gather(ids, null, this.type);
        else {
          const b = new ColumnBuilder(this.type, total);
          for (let j = 0; j < total; j++) b.append(JSON.parse(this.dict.valueOf(ids[j]!)));
          child = vecFromData(b.finish(), this.type);
        }
        break;
      }
    }
    return [{ kind: 'list', type: { kind: 'array', element: this.type }, length: n, offsets, child, valid: null }];
  }
  fromState(vecs: readonly Vec[], gids: Int32Array) {
    const v = vecs[0] as ListVec;
    const n = gids.length;
    const first = v.offsets[0]!;
    const total = v.offsets[n]! - first;
    const rows = new Int32Array(total);
    const owner = new Int32Array(total);
    for (let i = 0; i < n; i++) {
      for (let q = v.offsets[i]!; q < v.offsets[i + 1]!; q++) {
        rows[q - first] = q;
        owner[q - first] = gids[i]!;
      }
    }
    const { keys, ok } = this.encode(v.child, rows, total);
    this.insert(keys, ok, owner, total);
  }
  memoryBytes() {
    return this.cnt.byteLength + this.head.byteLength + this.gen.byteLength + this.next.byteLength + this.pairs.memoryBytes;
  }
}

/** JSON text of a value for dictionary keys (bigints as digits). */
function jsonText(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
}

function makeAcc(spec: AggSpec): Acc {
  const t = spec.input;
  const numeric = t === 'int' || t === 'long' || t === 'double' || t === 'timestamp' || t === 'date' || t === 'boolean';
  switch (spec.fn) {
    case 'count':
      return new CountAcc();
    case 'sum':
      return new SumAcc(t !== 'double', false);
    case 'avg':
      return new SumAcc(false, true);
    case 'min':
    case 'max':
      return numeric ? new MinMaxNumAcc(spec.fn === 'max', t!) : new ObjectValueAcc(spec.fn, t!);
    case 'first':
    case 'last':
      return numeric ? new FirstLastNumAcc(spec.fn === 'first', t!) : new ObjectValueAcc(spec.fn, t!);
    case 'countDistinct':
      return new CountDistinctAcc(t!);
  }
}

/**
 * The accumulators of one aggregation, for every group.
 *
 * @example
 * const acc = new Accumulators([{ fn: 'count', input: null, output: 'long' }]);
 * acc.ensure(groups); acc.update(gids, null, rows, [null], 0);
 */
export class Accumulators {
  private readonly accs: Acc[];
  private cap = 0;

  constructor(readonly specs: readonly AggSpec[]) {
    this.accs = specs.map(makeAcc);
  }

  /** Makes room for group ids `< size` and initialises ids in `[from, size)`. */
  ensure(size: number, from = this.initialised): void {
    if (size > this.cap) {
      let cap = Math.max(16, this.cap);
      while (cap < size) cap *= 2;
      for (const a of this.accs) a.grow(cap);
      this.cap = cap;
    }
    if (size > from) for (const a of this.accs) a.init(from, size);
    this.initialised = Math.max(this.initialised, size);
  }
  private initialised = 0;

  /** Drops what the accumulators kept of the last input columns. */
  release(): void {
    for (const a of this.accs) a.release?.();
  }

  /** Re-initialises one group id (reused after removal). */
  resetGroup(id: number): void {
    for (const a of this.accs) a.init(id, id + 1);
  }

  /** Marks ids `≥ size` as free, so `ensure` initialises them again when reused. */
  truncate(size: number): void {
    this.initialised = size;
    if (size === 0) for (const a of this.accs) a.clear?.();
  }

  /**
   * Folds `m` input rows into their groups. `rows[i]` is the input row of the i-th (group, row) pair (null: row i);
   * `inputs[k]` is aggregate k's argument (null for count(*)); `seqBase + row` is the row's arrival sequence.
   */
  update(gids: Int32Array, rows: Int32Array | null, m: number, inputs: readonly (Vec | null)[], seqBase: number): void {
    for (let k = 0; k < this.accs.length; k++) this.accs[k]!.update(gids, rows, m, inputs[k]!, seqBase);
  }

  /** Merges groups `srcGids` of `src` (same specs) into `dstGids` of this. */
  mergeFrom(src: Accumulators, srcGids: Int32Array, dstGids: Int32Array, m: number): void {
    for (let k = 0; k < this.accs.length; k++) this.accs[k]!.mergeFrom(src.accs[k]!, srcGids, dstGids, m);
  }

  /** Final values of the given groups, one column per aggregate. */
  output(gids: Int32Array): Vec[] {
    return this.accs.map((a) => a.output(gids));
  }

  /** Applies a group-table compaction. */
  compact(remap: Int32Array, size: number): void {
    for (const a of this.accs) a.compact(remap, size);
    this.initialised = size;
  }

  /** Columns that hold the accumulators (for checkpoints and worker messages). */
  stateFields(): Field[] {
    return this.accs.flatMap((a, k) => a.stateFields(`a${k}_`));
  }

  toState(gids: Int32Array): Vec[] {
    return this.accs.flatMap((a) => a.toState(gids));
  }

  fromState(vecs: readonly Vec[], gids: Int32Array): void {
    let p = 0;
    this.accs.forEach((a, k) => {
      const n = a.stateFields(`a${k}_`).length;
      a.fromState(vecs.slice(p, p + n), gids);
      p += n;
    });
  }

  memoryBytes(): number {
    return this.accs.reduce((s, a) => s + a.memoryBytes(), 0);
  }
}

export { strAt };
