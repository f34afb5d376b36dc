/**
 * Per-file statistics for `add.stats`: `numRecords`, and per column `minValues`, `maxValues`, `nullCount`, nested like
 * the schema. Computed in typed loops over `Vec`s, batch by batch, as the file's batches are collected.
 *
 * What is recorded, per type (others get `nullCount` only: binary, boolean, arrays):
 *
 * | type                  | min/max in JSON                                             |
 * |-----------------------|-------------------------------------------------------------|
 * | int, long, double     | numbers (longs beyond 2^53 exact); doubles with NaN or ±∞ skipped |
 * | timestamp             | ISO-8601 UTC with milliseconds: `"2026-05-30T09:55:00.123Z"` |
 * | date                  | `"2026-05-30"`                                              |
 * | string                | compared as UTF-8 bytes; min cut to 32 characters; a max longer than 32 characters is skipped (a cut max would be too small) |
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import type { DataType, Field, Schema } from '../../engine/types/data-type.js';
import { columnVec, formatDate } from '../../engine/types/values.js';
import { utf8Decoder, type Vec } from '../../engine/kernels/vec.js';

/** Characters of a string kept in `minValues` (Delta's default `dataSkippingStringPrefixLength`). */
export const STRING_PREFIX_LENGTH = 32;

type Acc = NumAcc | StrAcc | StructAcc | CountAcc;

interface NumAcc {
  kind: 'num';
  type: DataType;
  nulls: number;
  count: number;
  min: number;
  max: number;
  minBig: bigint | null;
  maxBig: bigint | null;
  unusable: boolean;
}

interface StrAcc {
  kind: 'str';
  nulls: number;
  min: Uint8Array | null;
  max: Uint8Array | null;
}

interface StructAcc {
  kind: 'struct';
  fields: readonly Field[];
  children: Acc[];
}

interface CountAcc {
  kind: 'count';
  nulls: number;
}

function makeAcc(t: DataType): Acc {
  if (typeof t === 'string') {
    switch (t) {
      case 'int':
      case 'long':
      case 'double':
      case 'date':
      case 'timestamp':
        return { kind: 'num', type: t, nulls: 0, count: 0, min: Infinity, max: -Infinity, minBig: null, maxBig: null, unusable: false };
      case 'string':
        return { kind: 'str', nulls: 0, min: null, max: null };
      default:
        return { kind: 'count', nulls: 0 };
    }
  }
  if (t.kind === 'struct') return { kind: 'struct', fields: t.fields, children: t.fields.map((f) => makeAcc(f.type)) };
  return { kind: 'count', nulls: 0 };
}

/**
 * Collects the statistics of one data file from its batches.
 *
 * @example
 * const stats = new StatsCollector(dataSchema);
 * for (const b of fileBatches) stats.add(b);
 * stats.toJson(); // '{"numRecords":3,"minValues":{"id":1},"maxValues":{"id":3},"nullCount":{"id":0}}'
 */
export class StatsCollector {
  private numRecords = 0;
  private readonly accs: Acc[];

  constructor(private readonly schema: Schema) {
    this.accs = schema.fields.map((f) => makeAcc(f.type));
  }

  /** Adds a canonical batch whose columns are the schema's, in order. */
  add(batch: RecordBatch): void {
    this.numRecords += batch.numRows;
    for (let c = 0; c < this.accs.length; c++) update(this.accs[c]!, columnVec(batch, this.schema, c), null);
  }

  /** Rows seen so far. */
  get rows(): number {
    return this.numRecords;
  }

  /** The `stats` JSON string of `add`. */
  toJson(): string {
    const min: Record<string, unknown> = {};
    const max: Record<string, unknown> = {};
    const nulls: Record<string, unknown> = {};
    this.schema.fields.forEach((f, c) => collect(this.accs[c]!, f.name, min, max, nulls));
    return jsonOf({ numRecords: this.numRecords, minValues: min, maxValues: max, nullCount: nulls });
  }
}

function effectiveValid(v: Vec, parent: Uint8Array | null): Uint8Array | null {
  const own = v.valid;
  if (parent === null) return own;
  if (own === null) return parent;
  const n = v.length;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = own[i]! & parent[i]!;
  return out;
}

function countNulls(valid: Uint8Array | null, n: number): number {
  if (valid === null) return 0;
  let k = 0;
  for (let i = 0; i < n; i++) k += valid[i]!;
  return n - k;
}

function update(acc: Acc, v: Vec, parent: Uint8Array | null): void {
  const n = v.length;
  const valid = v.kind === 'null' ? new Uint8Array(n) : effectiveValid(v, parent);
  switch (acc.kind) {
    case 'count':
      acc.nulls += countNulls(valid, n);
      return;
    case 'struct': {
      if (v.kind !== 'struct') return;
      for (let k = 0; k < acc.children.length; k++) update(acc.children[k]!, v.fields[k]!, valid);
      return;
    }
    case 'num': {
      if (v.kind !== 'num') {
        acc.nulls += countNulls(valid, n);
        return;
      }
      acc.nulls += countNulls(valid, n);
      if (v.big !== null) {
        updateBig(acc, v.big, valid, n);
        return;
      }
      const x = v.values;
      let mn = acc.min;
      let mx = acc.max;
      let count = 0;
      let nan = false;
      if (valid === null) {
        for (let i = 0; i < n; i++) {
          const y = x[i]!;
          if (y < mn) mn = y;
          if (y > mx) mx = y;
          if (y !== y) nan = true;
        }
        count = n;
      } else {
        for (let i = 0; i < n; i++) {
          if (valid[i] === 0) continue;
          const y = x[i]!;
          count++;
          if (y < mn) mn = y;
          if (y > mx) mx = y;
          if (y !== y) nan = true;
        }
      }
      acc.min = mn;
      acc.max = mx;
      acc.count += count;
      if (nan) acc.unusable = true;
      if (acc.minBig !== null && count > 0) {
        if (BigInt(mn) < acc.minBig) acc.minBig = BigInt(mn);
        if (BigInt(mx) > acc.maxBig!) acc.maxBig = BigInt(mx);
      }
      return;
    }
    case 'str': {
      if (v.kind !== 'str') {
        acc.nulls += countNulls(valid, n);
        return;
      }
      acc.nulls += countNulls(valid, n);
      const off = v.offsets;
      const bytes = v.bytes;
      let minA = -1;
      let minB = -1;
      let maxA = -1;
      let maxB = -1;
      for (let i = 0; i < n; i++) {
        if (valid !== null && valid[i] === 0) continue;
        const a = off[i]!;
        const b = off[i + 1]!;
        if (minA < 0) {
          minA = maxA = a;
          minB = maxB = b;
          continue;
        }
        if (compareBytes(bytes, a, b, bytes, minA, minB) < 0) {
          minA = a;
          minB = b;
        } else if (compareBytes(bytes, a, b, bytes, maxA, maxB) > 0) {
          maxA = a;
          maxB = b;
        }
      }
      if (minA < 0) return;
      if (acc.min === null || compareBytes(bytes, minA, minB, acc.min, 0, acc.min.length) < 0) acc.min = bytes.slice(minA, minB);
      if (acc.max === null || compareBytes(bytes, maxA, maxB, acc.max, 0, acc.max.length) > 0) acc.max = bytes.slice(maxA, maxB);
      return;
    }
  }
}

function updateBig(acc: NumAcc, big: BigInt64Array, valid: Uint8Array | null, n: number): void {
  let mn = acc.minBig ?? (acc.count > 0 ? BigInt(acc.min) : null);
  let mx = acc.maxBig ?? (acc.count > 0 ? BigInt(acc.max) : null);
  for (let i = 0; i < n; i++) {
    if (valid !== null && valid[i] === 0) continue;
    const y = big[i]!;
    if (mn === null || y < mn) mn = y;
    if (mx === null || y > mx) mx = y;
    acc.count++;
  }
  acc.minBig = mn;
  acc.maxBig = mx;
  if (mn !== null) {
    acc.min = Number(mn);
    acc.max = Number(mx);
  }
}

/** Byte-wise comparison of `a[a0:a1]` and `b[b0:b1]` (UTF-8 byte order = code point order). */
export function compareBytes(a: Uint8Array, a0: number, a1: number, b: Uint8Array, b0: number, b1: number): number {
  const la = a1 - a0;
  const lb = b1 - b0;
  const m = la < lb ? la : lb;
  for (let k = 0; k < m; k++) {
    const d = a[a0 + k]! - b[b0 + k]!;
    if (d !== 0) return d;
  }
  return la - lb;
}

function collect(
  acc: Acc,
  name: string,
  min: Record<string, unknown>,
  max: Record<string, unknown>,
  nulls: Record<string, unknown>,
): void {
  switch (acc.kind) {
    case 'count':
      nulls[name] = acc.nulls;
      return;
    case 'struct': {
      const cmin: Record<string, unknown> = {};
      const cmax: Record<string, unknown> = {};
      const cnull: Record<string, unknown> = {};
      acc.fields.forEach((f, k) => collect(acc.children[k]!, f.name, cmin, cmax, cnull));
      if (Object.keys(cmin).length > 0) min[name] = cmin;
      if (Object.keys(cmax).length > 0) max[name] = cmax;
      nulls[name] = cnull;
      return;
    }
    case 'num': {
      nulls[name] = acc.nulls;
      if (acc.count === 0 || acc.unusable) return;
      if (acc.minBig !== null) {
        min[name] = acc.minBig;
        max[name] = acc.maxBig;
        return;
      }
      if (!Number.isFinite(acc.min) || !Number.isFinite(acc.max)) return;
      min[name] = statValue(acc.type, acc.min);
      max[name] = statValue(acc.type, acc.max);
      return;
    }
    case 'str': {
      nulls[name] = acc.nulls;
      if (acc.min === null || acc.max === null) return;
      min[name] = prefix(utf8Decoder.decode(acc.min), false);
      const mx = prefix(utf8Decoder.decode(acc.max), true);
      if (mx !== null) max[name] = mx;
      return;
    }
  }
}

function statValue(type: DataType, x: number): number | string {
  if (type === 'timestamp') return new Date(x).toISOString();
  if (type === 'date') return formatDate(x);
  return Object.is(x, -0) ? 0 : x;
}

function prefix(s: string, isMax: boolean): string | null {
  if (s.length <= STRING_PREFIX_LENGTH) return s;
  const cps = Array.from(s);
  if (cps.length <= STRING_PREFIX_LENGTH) return s;
  return isMax ? null : cps.slice(0, STRING_PREFIX_LENGTH).join('');
}

/** JSON with bigints written as exact integers (the log's longs). */
export function jsonOf(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(jsonOf).join(',')}]`;
  const parts: string[] = [];
  for (const [k, x] of Object.entries(v)) if (x !== undefined) parts.push(`${JSON.stringify(k)}:${jsonOf(x)}`);
  return `{${parts.join(',')}}`;
}
