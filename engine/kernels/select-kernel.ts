/**
 * Selection vectors and gathers: a filter turns a boolean column into the indices of kept rows, and every column is
 * gathered through them in one typed-array pass.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import type { Schema } from '../types/data-type.js';
import { batchFromVecs, columnVec } from '../types/values.js';
import { nullVec, type BoolVec, type NumVec, type StrVec, type Vec } from './vec.js';
import type { DataType } from '../types/data-type.js';

/**
 * Indices of rows where a predicate is true (null counts as false).
 *
 * @example
 * selectionFromMask(boolVec(new Uint8Array([1, 0, 1]))); // Int32Array [0, 2]
 */
export function selectionFromMask(mask: Vec): Int32Array {
  if (mask.kind === 'null') return new Int32Array(0);
  const m = mask as BoolVec;
  const n = m.length;
  const v = m.values;
  const valid = m.valid;
  let count = 0;
  if (valid === null) for (let i = 0; i < n; i++) count += v[i]!;
  else for (let i = 0; i < n; i++) count += v[i]! & valid[i]!;
  const sel = new Int32Array(count);
  let k = 0;
  if (valid === null) {
    for (let i = 0; i < n; i++) if (v[i]) sel[k++] = i;
  } else {
    for (let i = 0; i < n; i++) if (v[i]! & valid[i]!) sel[k++] = i;
  }
  return sel;
}

/**
 * Gathers rows `sel` of a column into a new column.
 *
 * @example
 * gatherVec(vec, new Int32Array([2, 0])); // rows 2 and 0, in that order
 */
export function gatherVec(v: Vec, sel: Int32Array): Vec {
  const m = sel.length;
  let valid: Uint8Array | null = null;
  if (v.valid !== null) {
    valid = new Uint8Array(m);
    const src = v.valid;
    for (let i = 0; i < m; i++) valid[i] = src[sel[i]!]!;
  }
  switch (v.kind) {
    case 'null':
      return { kind: 'null', type: 'null', length: m, valid: new Uint8Array(m) };
    case 'num': {
      const src = v.values;
      const out = new Float64Array(m);
      for (let i = 0; i < m; i++) out[i] = src[sel[i]!]!;
      let big: BigInt64Array | null = null;
      if (v.big !== null) {
        big = new BigInt64Array(m);
        const bw = new Int32Array(big.buffer);
        const sw = new Int32Array(v.big.buffer, v.big.byteOffset, v.big.length * 2);
        for (let i = 0; i < m; i++) {
          const j = sel[i]! * 2;
          bw[2 * i] = sw[j]!;
          bw[2 * i + 1] = sw[j + 1]!;
        }
      }
      return { kind: 'num', type: v.type, length: m, values: out, big, valid } satisfies NumVec;
    }
    case 'bool': {
      const src = v.values;
      const out = new Uint8Array(m);
      for (let i = 0; i < m; i++) out[i] = src[sel[i]!]!;
      return { kind: 'bool', type: 'boolean', length: m, values: out, valid };
    }
    case 'str': {
      const offs = v.offsets;
      let total = 0;
      for (let i = 0; i < m; i++) {
        const j = sel[i]!;
        total += offs[j + 1]! - offs[j]!;
      }
      const bytes = new Uint8Array(total);
      const offsets = new Int32Array(m + 1);
      const src = v.bytes;
      let pos = 0;
      for (let i = 0; i < m; i++) {
        const j = sel[i]!;
        const a = offs[j]!;
        const b = offs[j + 1]!;
        const len = b - a;
        if (len < 16) for (let p = 0; p < len; p++) bytes[pos + p] = src[a + p]!;
        else bytes.set(src.subarray(a, b), pos);
        pos += len;
        offsets[i + 1] = pos;
      }
      return { kind: 'str', type: v.type, length: m, offsets, bytes, valid } satisfies StrVec;
    }
    case 'struct':
      return { kind: 'struct', type: v.type, length: m, fields: v.fields.map((f) => gatherVec(f, sel)), valid };
    case 'list': {
      const childSel: number[] = [];
      const offsets = new Int32Array(m + 1);
      for (let i = 0; i < m; i++) {
        const j = sel[i]!;
        for (let p = v.offsets[j]!; p < v.offsets[j + 1]!; p++) childSel.push(p);
        offsets[i + 1] = childSel.length;
      }
      return { kind: 'list', type: v.type, length: m, offsets, child: gatherVec(v.child, Int32Array.from(childSel)), valid };
    }
  }
}

/**
 * Gathers rows `sel` of a column where a negative index gives a null: the null-padded side of an outer join.
 *
 * @example
 * gatherVecOrNull(vec, Int32Array.of(1, -1, 0), 'long'); // row 1, null, row 0
 */
export function gatherVecOrNull(v: Vec, sel: Int32Array, type: DataType): Vec {
  const m = sel.length;
  let missing = 0;
  for (let i = 0; i < m; i++) if (sel[i]! < 0) missing++;
  if (missing === 0) return gatherVec(v, sel);
  if (missing === m || v.length === 0) return nullVec(type, m);
  const safe = new Int32Array(m);
  for (let i = 0; i < m; i++) safe[i] = sel[i]! < 0 ? 0 : sel[i]!;
  const g = gatherVec(v, safe);
  const valid = new Uint8Array(m);
  const src = g.valid;
  for (let i = 0; i < m; i++) valid[i] = sel[i]! < 0 ? 0 : src === null ? 1 : src[i]!;
  return { ...g, valid } as Vec;
}

/**
 * Gathers rows of a whole batch.
 *
 * @example
 * const kept = gatherBatch(batch, schema, selectionFromMask(mask));
 */
export function gatherBatch(batch: RecordBatch, schema: Schema, sel: Int32Array): RecordBatch {
  if (sel.length === batch.numRows && isIdentity(sel)) return batch;
  const vecs = schema.fields.map((_, i) => gatherVec(columnVec(batch, schema, i), sel));
  return batchFromVecs(schema, vecs, sel.length);
}

/** Whether a selection picks rows 0, 1, 2, … in order. @example isIdentity(Int32Array.of(0, 1)) // true */
export function isIdentity(sel: Int32Array): boolean {
  for (let i = 0; i < sel.length; i++) if (sel[i] !== i) return false;
  return true;
}

/** Concatenates columns of the same type. */
export function concatVecs(vs: readonly Vec[]): Vec {
  if (vs.length === 1) return vs[0]!;
  const total = vs.reduce((s, v) => s + v.length, 0);
  const sel: Int32Array[] = [];
  // Concatenate by gathering each into place: simple and allocation-bounded.
  const first = vs[0]!;
  const anyNull = vs.some((v) => v.valid !== null);
  let valid: Uint8Array | null = null;
  if (anyNull) {
    valid = new Uint8Array(total);
    let p = 0;
    for (const v of vs) {
      if (v.valid) valid.set(v.valid, p);
      else valid.fill(1, p, p + v.length);
      p += v.length;
    }
  }
  void sel;
  switch (first.kind) {
    case 'num': {
      const out = new Float64Array(total);
      let p = 0;
      let anyBig = false;
      for (const v of vs) {
        out.set((v as NumVec).values, p);
        p += v.length;
        if ((v as NumVec).big) anyBig = true;
      }
      let big: BigInt64Array | null = null;
      if (anyBig) {
        big = new BigInt64Array(total);
        p = 0;
        for (const v of vs) {
          const nv = v as NumVec;
          if (nv.big) big.set(nv.big, p);
          else for (let i = 0; i < nv.length; i++) big[p + i] = BigInt(nv.values[i]!);
          p += v.length;
        }
      }
      return { kind: 'num', type: first.type, length: total, values: out, big, valid };
    }
    case 'bool': {
      const out = new Uint8Array(total);
      let p = 0;
      for (const v of vs) {
        out.set((v as BoolVec).values, p);
        p += v.length;
      }
      return { kind: 'bool', type: 'boolean', length: total, values: out, valid };
    }
    case 'str': {
      let bytesTotal = 0;
      for (const v of vs) {
        const s = v as StrVec;
        bytesTotal += s.offsets[s.length]! - s.offsets[0]!;
      }
      const bytes = new Uint8Array(bytesTotal);
      const offsets = new Int32Array(total + 1);
      let p = 0;
      let bp = 0;
      for (const v of vs) {
        const s = v as StrVec;
        const base = s.offsets[0]!;
        bytes.set(s.bytes.subarray(base, s.offsets[s.length]!), bp);
        for (let i = 1; i <= s.length; i++) offsets[p + i] = bp + s.offsets[i]! - base;
        p += s.length;
        bp += s.offsets[s.length]! - base;
      }
      return { kind: 'str', type: first.type, length: total, offsets, bytes, valid };
    }
    case 'struct':
      return {
        kind: 'struct',
        type: first.type,
        length: total,
        fields: first.fields.map((_, k) => concatVecs(vs.map((v) => (v as typeof first).fields[k]!))),
        valid,
      };
    case 'null':
      return { kind: 'null', type: 'null', length: total, valid: new Uint8Array(total) };
    case 'list': {
      const offsets = new Int32Array(total + 1);
      let p = 0;
      let cp = 0;
      for (const v of vs) {
        const l = v as typeof first;
        const base = l.offsets[0]!;
        for (let i = 1; i <= l.length; i++) offsets[p + i] = cp + l.offsets[i]! - base;
        p += l.length;
        cp += l.offsets[l.length]! - base;
      }
      const children = vs.map((v) => {
        const l = v as typeof first;
        const s = new Int32Array(l.offsets[l.length]! - l.offsets[0]!);
        for (let i = 0; i < s.length; i++) s[i] = l.offsets[0]! + i;
        return gatherVec(l.child, s);
      });
      return { kind: 'list', type: first.type, length: total, offsets, child: concatVecs(children), valid };
    }
  }
}
