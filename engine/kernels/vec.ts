/**
 * `Vec`: the column form kernels compute on. Every numeric type is a `Float64Array` (ints, dates in days, timestamps in
 * epoch ms); `long` columns whose values do not all fit in ±2^53 also carry their exact `BigInt64Array`. Validity is one
 * byte per row (`1` = present) or `null` when the column has no nulls. Strings and binaries keep Arrow's offsets and
 * bytes (zero copy). Conversions to and from Arrow `Data` are per batch and cached, never per row.
 */
import { Data, makeData, type DataType as ArrowDataType } from 'apache-arrow';
import { toArrowType, WINDOW_TYPE, type DataType, type PrimitiveType, type StructType, type ArrayType } from '../types/data-type.js';

export type NumType = 'int' | 'long' | 'double' | 'timestamp' | 'date';

export interface NumVec {
  readonly kind: 'num';
  readonly type: NumType;
  readonly length: number;
  readonly values: Float64Array;
  /** Exact values of a `long` column when some do not fit a double exactly; otherwise null. */
  readonly big: BigInt64Array | null;
  readonly valid: Uint8Array | null;
}

export interface BoolVec {
  readonly kind: 'bool';
  readonly type: 'boolean';
  readonly length: number;
  readonly values: Uint8Array;
  readonly valid: Uint8Array | null;
}

export interface StrVec {
  readonly kind: 'str';
  readonly type: 'string' | 'binary';
  readonly length: number;
  /** `length + 1` offsets into `bytes`; the first need not be 0. */
  readonly offsets: Int32Array;
  readonly bytes: Uint8Array;
  readonly valid: Uint8Array | null;
}

export interface StructVec {
  readonly kind: 'struct';
  readonly type: StructType;
  readonly length: number;
  readonly fields: readonly Vec[];
  readonly valid: Uint8Array | null;
}

export interface ListVec {
  readonly kind: 'list';
  readonly type: ArrayType;
  readonly length: number;
  readonly offsets: Int32Array;
  readonly child: Vec;
  readonly valid: Uint8Array | null;
}

/** A null-typed literal column (every row null). */
export interface NullVec {
  readonly kind: 'null';
  readonly type: 'null';
  readonly length: number;
  readonly valid: Uint8Array;
}

export type Vec = NumVec | BoolVec | StrVec | StructVec | ListVec | NullVec;

/** 2^32 as a double. */
export const TWO32 = 4294967296;
/** The largest integer a double holds exactly. */
export const MAX_EXACT = 9007199254740991;

/** Validity bytes from an Arrow bitmap, or null when there are no nulls. */
export function validFromBitmap(bitmap: Uint8Array | null | undefined, offset: number, length: number, nullCount: number): Uint8Array | null {
  if (!bitmap || bitmap.length === 0 || nullCount === 0) return null;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const j = i + offset;
    out[i] = (bitmap[j >> 3]! >> (j & 7)) & 1;
  }
  return out;
}

/** Arrow bitmap from validity bytes; `[bitmap, nullCount]`. */
export function bitmapFromValid(valid: Uint8Array | null, length: number): [Uint8Array | undefined, number] {
  if (valid === null) return [undefined, 0];
  const bm = new Uint8Array((length + 7) >> 3);
  let nulls = 0;
  for (let i = 0; i < length; i++) {
    if (valid[i]) bm[i >> 3]! |= 1 << (i & 7);
    else nulls++;
  }
  return nulls === 0 ? [undefined, 0] : [bm, nulls];
}

/** Reads an Int64 buffer (BigInt64Array, possibly a subarray) as doubles; returns the exact array too if any value exceeds ±2^53. */
export function int64ToF64(src: BigInt64Array, start: number, length: number): { values: Float64Array; big: BigInt64Array | null } {
  const words = new Int32Array(src.buffer, src.byteOffset + start * 8, length * 2);
  const out = new Float64Array(length);
  let overflow = false;
  for (let i = 0; i < length; i++) {
    const hi = words[2 * i + 1]!;
    out[i] = hi * TWO32 + (words[2 * i]! >>> 0);
    if (hi > 2097151 || hi < -2097152) overflow = true;
  }
  return { values: out, big: overflow ? src.subarray(start, start + length) : null };
}

/** Writes doubles holding integers into an Int64 buffer through its 32-bit words (no BigInt per row). */
export function f64ToInt64(values: Float64Array, big: BigInt64Array | null): BigInt64Array {
  if (big !== null) return big;
  const n = values.length;
  const out = new BigInt64Array(n);
  const words = new Int32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v !== v) continue;
    const hi = Math.floor(v / TWO32);
    words[2 * i] = (v - hi * TWO32) | 0;
    words[2 * i + 1] = hi | 0;
  }
  return out;
}

const vecCache = new WeakMap<Data, Vec>();

/**
 * The `Vec` view of one Arrow column of a canonical batch (see `normalizeRecordBatch`); cached per `Data`.
 *
 * @example
 * const v = vecFromData(batch.getChildAt(0)!.data[0]!, 'double');
 * (v as NumVec).values[0];
 */
export function vecFromData(data: Data, type: DataType): Vec {
  const cached = vecCache.get(data);
  if (cached) return cached;
  const v = convert(data, type);
  vecCache.set(data, v);
  return v;
}

function convert(data: Data, type: DataType): Vec {
  const n = data.length;
  // Arrow JS slices value and offset buffers (they start at the slice) but not bitmaps, which keep `data.offset`.
  const off = data.offset;
  const valid = validFromBitmap(data.nullBitmap, off, n, data.nullCount);
  if (typeof type === 'string') {
    switch (type) {
      case 'double':
        return { kind: 'num', type, length: n, values: (data.values as Float64Array).subarray(0, n), big: null, valid };
      case 'int':
      case 'date': {
        const src = data.values as Int32Array;
        const out = new Float64Array(n);
        for (let i = 0; i < n; i++) out[i] = src[i]!;
        return { kind: 'num', type, length: n, values: out, big: null, valid };
      }
      case 'long':
      case 'timestamp': {
        const { values, big } = int64ToF64(data.values as BigInt64Array, 0, n);
        return { kind: 'num', type, length: n, values, big: type === 'long' ? big : null, valid };
      }
      case 'boolean': {
        const bm = data.values as Uint8Array;
        const out = new Uint8Array(n);
        for (let i = 0; i < n; i++) {
          const j = i + off;
          out[i] = (bm[j >> 3]! >> (j & 7)) & 1;
        }
        return { kind: 'bool', type, length: n, values: out, valid };
      }
      case 'string':
      case 'binary':
        return {
          kind: 'str',
          type,
          length: n,
          offsets: (data.valueOffsets as Int32Array).subarray(0, n + 1),
          bytes: data.values as Uint8Array,
          valid,
        };
    }
  }
  if (type.kind === 'struct') {
    const fields = type.fields.map((f, i) => {
      // Arrow JS slices a struct's children along with it: each child already starts at the parent's first row.
      return vecFromData(data.children[i]!, f.type);
    });
    return { kind: 'struct', type, length: n, fields, valid };
  }
  const offsets = (data.valueOffsets as Int32Array).subarray(0, n + 1);
  return { kind: 'list', type, length: n, offsets, child: vecFromData(data.children[0]!, type.element), valid };
}

/**
 * The Arrow `Data` for a `Vec` of the given sluice type.
 *
 * @example
 * const data = dataFromVec(numVec('double', new Float64Array([1, 2])), 'double');
 */
export function dataFromVec(v: Vec, type: DataType): Data {
  const arrowType = toArrowType(type);
  const n = v.length;
  if (v.kind === 'null') {
    return nullData(type, n);
  }
  const [nullBitmap, nullCount] = bitmapFromValid(v.valid, n);
  let out: Data;
  switch (v.kind) {
    case 'num': {
      if ((type === 'long' || type === 'timestamp') && v.big === null) {
        out = lazyInt64Data(arrowType, n, nullCount, nullBitmap, v.values);
        break;
      }
      let data: Float64Array | Int32Array | BigInt64Array;
      switch (type) {
        case 'double':
          data = v.values;
          break;
        case 'int':
        case 'date':
          data = Int32Array.from(v.values);
          break;
        case 'long':
        case 'timestamp':
          data = v.big!;
          break;
        default:
          throw new TypeError(`A numeric column cannot become ${String(type)}`);
      }
      out = makeData({ type: arrowType as never, length: n, nullCount, nullBitmap, data } as never);
      break;
    }
    case 'bool': {
      const bm = new Uint8Array((n + 7) >> 3);
      const src = v.values;
      for (let i = 0; i < n; i++) if (src[i]) bm[i >> 3]! |= 1 << (i & 7);
      out = makeData({ type: arrowType as never, length: n, nullCount, nullBitmap, data: bm } as never);
      break;
    }
    case 'str':
      out = makeData({
        type: arrowType as never,
        length: n,
        nullCount,
        nullBitmap,
        valueOffsets: v.offsets,
        data: v.bytes,
      } as never);
      break;
    case 'struct': {
      const st = type as StructType;
      const children = st.fields.map((f, i) => dataFromVec(v.fields[i]!, f.type));
      out = makeData({ type: arrowType as never, length: n, nullCount, nullBitmap, children } as never);
      break;
    }
    case 'list': {
      const lt = type as ArrayType;
      out = makeData({
        type: arrowType as never,
        length: n,
        nullCount,
        nullBitmap,
        valueOffsets: v.offsets,
        child: dataFromVec(v.child, lt.element),
      } as never);
      break;
    }
  }
  vecCache.set(out, v);
  return out;
}

/**
 * An Int64/Timestamp `Data` over doubles whose Arrow buffer is written only when something reads `values` (IPC,
 * Parquet, `vector.get`). The engine reads the cached `Vec`, so batches that never leave it skip the conversion.
 */
function lazyInt64Data(arrowType: ArrowDataType, n: number, nullCount: number, nullBitmap: Uint8Array | undefined, values: Float64Array): Data {
  const out = makeData({ type: arrowType as never, length: n, nullCount, nullBitmap, data: new BigInt64Array(0) } as never) as Data;
  let big: BigInt64Array | null = null;
  Object.defineProperty(out, 'values', {
    configurable: true,
    enumerable: true,
    get: () => (big ??= f64ToInt64(values, null)),
    set: (b: BigInt64Array) => {
      big = b;
    },
  });
  return out;
}

/** A column of `n` nulls of `type`. */
export function nullData(type: DataType, n: number): Data {
  return dataFromVec(nullVec(type, n), type);
}

/** A `Vec` of `n` nulls with the layout of `type`. */
export function nullVec(type: DataType, n: number): Vec {
  const valid = new Uint8Array(n);
  if (typeof type === 'string') {
    switch (type as PrimitiveType) {
      case 'boolean':
        return { kind: 'bool', type: 'boolean', length: n, values: new Uint8Array(n), valid };
      case 'string':
      case 'binary':
        return { kind: 'str', type: type as 'string', length: n, offsets: new Int32Array(n + 1), bytes: new Uint8Array(0), valid };
      default:
        return { kind: 'num', type: type as NumType, length: n, values: new Float64Array(n), big: null, valid };
    }
  }
  if (type.kind === 'struct') {
    return { kind: 'struct', type, length: n, fields: type.fields.map((f) => nullVec(f.type, n)), valid };
  }
  return { kind: 'list', type, length: n, offsets: new Int32Array(n + 1), child: nullVec(type.element, 0), valid };
}

/** A numeric `Vec`. */
export function numVec(type: NumType, values: Float64Array, valid: Uint8Array | null = null, big: BigInt64Array | null = null): NumVec {
  return { kind: 'num', type, length: values.length, values, big, valid };
}

/** A boolean `Vec`. */
export function boolVec(values: Uint8Array, valid: Uint8Array | null = null): BoolVec {
  return { kind: 'bool', type: 'boolean', length: values.length, values, valid };
}

/** Whether row `i` of `v` is present. */
export function isValid(v: Vec, i: number): boolean {
  return v.valid === null || v.valid[i] === 1;
}

/** Merges two validity arrays (row valid only if valid in both). */
export function andValid(a: Uint8Array | null, b: Uint8Array | null, n: number): Uint8Array | null {
  if (a === null) return b;
  if (b === null) return a;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = a[i]! & b[i]!;
  return out;
}

/**
 * A window column (`window {start, end}`) over two arrays of epoch ms, which it holds without copying; by default
 * without nulls (`valid`: the windows', `startValid`/`endValid`: their fields').
 *
 * @example
 * windowStructVec(Float64Array.of(0), Float64Array.of(60_000)); // one window [0, 1 min)
 */
export function windowStructVec(
  starts: Float64Array,
  ends: Float64Array,
  valid: Uint8Array | null = null,
  startValid: Uint8Array | null = null,
  endValid: Uint8Array | null = null,
): StructVec {
  const n = starts.length;
  return {
    kind: 'struct',
    type: WINDOW_TYPE,
    length: n,
    fields: [
      { kind: 'num', type: 'timestamp', length: n, values: starts, big: null, valid: startValid },
      { kind: 'num', type: 'timestamp', length: n, values: ends, big: null, valid: endValid },
    ],
    valid,
  };
}

/**
 * The event time of a window column (`window {start, end}`): its end, null where the window is. Spark's watermark
 * predicates read a window-typed event-time column this way.
 *
 * @example
 * windowEnds(windowVec).values[i]; // end of row i's window (ms)
 */
export function windowEnds(v: Vec): NumVec {
  const w = v as StructVec;
  const end = w.fields[1] as NumVec;
  return { ...end, valid: andValid(w.valid, end.valid, w.length) };
}

const encoder = new TextEncoder();
// ignoreBOM: a value that starts with U+FEFF keeps it (by default a TextDecoder drops it from every string it decodes).
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** Decodes string `i` of a string vec (allocates: for output and dictionaries, not inner loops). */
export function strAt(v: StrVec, i: number): string {
  return decoder.decode(v.bytes.subarray(v.offsets[i]!, v.offsets[i + 1]!));
}

/** Builds a string `Vec` from JS strings (nulls allowed). */
export function strVecFromStrings(values: readonly (string | null | undefined)[], type: 'string' | 'binary' = 'string'): StrVec {
  const n = values.length;
  const parts: Uint8Array[] = new Array(n);
  let total = 0;
  let valid: Uint8Array | null = null;
  for (let i = 0; i < n; i++) {
    const s = values[i];
    if (s === null || s === undefined) {
      valid ??= new Uint8Array(n).fill(1);
      valid[i] = 0;
      parts[i] = EMPTY;
    } else {
      const b = encoder.encode(s);
      parts[i] = b;
      total += b.length;
    }
  }
  const bytes = new Uint8Array(total);
  const offsets = new Int32Array(n + 1);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    bytes.set(parts[i]!, pos);
    pos += parts[i]!.length;
    offsets[i + 1] = pos;
  }
  return { kind: 'str', type, length: n, offsets, bytes, valid };
}

/** Builds a binary `Vec` from byte arrays (nulls allowed). */
export function binVecFromArrays(values: readonly (Uint8Array | null | undefined)[]): StrVec {
  const n = values.length;
  let total = 0;
  let valid: Uint8Array | null = null;
  for (let i = 0; i < n; i++) {
    const b = values[i];
    if (b === null || b === undefined) {
      valid ??= new Uint8Array(n).fill(1);
      valid[i] = 0;
    } else total += b.length;
  }
  const bytes = new Uint8Array(total);
  const offsets = new Int32Array(n + 1);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const b = values[i];
    if (b) {
      bytes.set(b, pos);
      pos += b.length;
    }
    offsets[i + 1] = pos;
  }
  return { kind: 'str', type: 'binary', length: n, offsets, bytes, valid };
}

const EMPTY = new Uint8Array(0);

export { encoder as utf8Encoder, decoder as utf8Decoder };

/** The Arrow type of a Vec's sluice type (for building batches). */
export function arrowTypeOf(type: DataType): ArrowDataType {
  return toArrowType(type);
}

/**
 * The value of `f(v)` for the last column `v` seen, by identity: a column absorbed piece by piece (each call a slice
 * of its rows) is converted once. Columns are immutable, so identity implies the same content.
 *
 * @example
 * const ids = this.lastIds.of(input, (v) => dict.encode(v));
 */
export class LastOf<T> {
  private v: Vec | null = null;
  private r: T | null = null;
  of(v: Vec, f: (v: Vec) => T): T {
    if (v !== this.v) {
      this.r = f(v);
      this.v = v;
    }
    return this.r!;
  }
  /** Forgets the column (so a batch is not kept alive after it was absorbed). */
  release(): void {
    this.v = null;
    this.r = null;
  }
}
