/**
 * Conversions between JS values and columns: parsing timestamps and dates, appending JS values to typed builders, and
 * turning batches back into plain objects for `collect()`.
 *
 * @module
 */
import { RecordBatch, makeData, Struct, type Data } from 'apache-arrow';
import {
  assertUniqueNames,
  isStruct,
  toArrowSchema,
  toArrowType,
  type DataType,
  type Field,
  type Schema,
  type StructType,
} from './data-type.js';
import {
  bitmapFromValid,
  dataFromVec,
  nullVec,
  strAt,
  TWO32,
  utf8Encoder,
  vecFromData,
  type Vec,
} from '../kernels/vec.js';

/** The largest absolute epoch-ms a JavaScript `Date` (and so a sluice timestamp) holds: ±100,000,000 days around 1970. */
export const MAX_TIMESTAMP_MS = 8.64e15;

/** True when epoch ms `ms` is a representable timestamp (finite and within ±`MAX_TIMESTAMP_MS`). */
export function timestampInRange(ms: number): boolean {
  return ms >= -MAX_TIMESTAMP_MS && ms <= MAX_TIMESTAMP_MS;
}

/** The largest absolute day count (since 1970-01-01) a sluice date holds: a `Date`'s range, years −271821 to 275760. */
export const MAX_DATE_DAYS = 100_000_000;

/**
 * True when `days` since 1970-01-01 is a representable date: a whole number within ±`MAX_DATE_DAYS`, so that it
 * formats as a `Date` and converts to an in-range timestamp.
 *
 * @example
 * dateInRange(19_000); // true
 * dateInRange(2e8); // false
 */
export function dateInRange(days: number): boolean {
  return days >= -MAX_DATE_DAYS && days <= MAX_DATE_DAYS && Number.isInteger(days);
}

const ISO_RE =
  /^([+-]?\d{4,6})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Parses an ISO-8601 timestamp (`2026-05-30T09:55:00Z`, `2026-05-30 09:55:00.123`, `2026-05-30T09:55+02:00`,
 * `2026-05-30`) or a string of epoch milliseconds into epoch ms. A time without a zone is read as UTC. Returns
 * `null` when the text is not a timestamp, or names an instant outside a `Date`'s range (±8.64e15 ms, about
 * ±273,790 years around 1970): such a value is malformed input, never an Invalid Date.
 *
 * @example
 * parseTimestamp('1970-01-01T00:00:01Z'); // 1000
 * parseTimestamp('1500'); // 1500
 */
export function parseTimestamp(text: string): number | null {
  const s = text.trim();
  if (s.length === 0) return null;
  const c = s.charCodeAt(0);
  if (/^-?\d+(\.\d+)?$/.test(s) && !(s.length >= 8 && s.length <= 10 && s.includes('-', 1))) {
    const n = Math.floor(Number(s));
    return timestampInRange(n) ? n : null;
  }
  if (!(c === 43 || c === 45 || (c >= 48 && c <= 57))) return null;
  const m = ISO_RE.exec(s);
  if (!m) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = m[4] ? Number(m[4]) : 0;
  const minute = m[5] ? Number(m[5]) : 0;
  const second = m[6] ? Number(m[6]) : 0;
  const frac = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000 + 1e-9) : 0;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  let ms = Date.UTC(2000, month - 1, day, hour, minute, second, frac);
  // Date.UTC maps years 0–99 to 1900–1999: set the full year separately.
  const d = new Date(ms);
  d.setUTCFullYear(year);
  ms = d.getTime();
  if (d.getUTCDate() !== day) return null;
  const zone = m[8];
  if (zone && zone !== 'Z' && zone !== 'z' && zone !== 'UTC') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const zh = Number(digits.slice(0, 2));
    const zm = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    ms -= sign * (zh * 60 + zm) * 60_000;
  }
  return timestampInRange(ms) ? ms : null;
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
/** 2^63 as a double: the first double above int64 (every double below it in magnitude that is an integer fits). */
const TWO63 = 9223372036854775808;

/**
 * Parses the text of a whole number exactly: optional blanks, an optional sign, decimal digits, optional blanks. Up to
 * 15 digits it is a plain double parse (exact below 10^15 < 2^53); longer digit strings go through `BigInt`, so no
 * digit is rounded away. Returns a number when the value is within ±(2^53 − 1), a bigint when it needs more bits but
 * fits `bits` (64: int64; 32: int32), and null for anything else: fractions (`1.5`, even `1.0`), exponents (`1e3`),
 * hex, and values out of range — as Java's `Long.parseLong`, which Spark's CSV reader uses for `long` columns.
 *
 * @example
 * parseWholeNumber('42', 64); // 42
 * parseWholeNumber('9223372036854775807', 64); // 9223372036854775807n
 * parseWholeNumber('9223372036854775808', 64); // null (out of range)
 * parseWholeNumber('1e3', 64); // null
 */
export function parseWholeNumber(text: string, bits: 32 | 64): number | bigint | null {
  let a = 0;
  let b = text.length;
  while (a < b && text.charCodeAt(a) <= 32) a++;
  while (b > a && text.charCodeAt(b - 1) <= 32) b--;
  let d = a;
  const c0 = text.charCodeAt(a);
  if (c0 === 43 || c0 === 45) d++;
  if (d === b) return null;
  for (let i = d; i < b; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return null;
  }
  const s = a === 0 && b === text.length ? text : text.slice(a, b);
  if (b - d <= 15) {
    const n = Number(s);
    return bits === 32 && (n < -2147483648 || n > 2147483647) ? null : n;
  }
  if (bits === 32) {
    // More than 15 digits is beyond int32 unless they are leading zeros.
    const n = Number(s);
    return n >= -2147483648 && n <= 2147483647 ? n : null;
  }
  const big = BigInt(s);
  if (big > INT64_MAX || big < INT64_MIN) return null;
  const n = Number(big);
  return Number.isSafeInteger(n) ? n : big;
}

/**
 * Parses a date (`2026-05-30`) into days since 1970-01-01; `null` when it is not a date.
 *
 * @example
 * parseDate('1970-01-02'); // 1
 */
export function parseDate(text: string): number | null {
  const s = text.trim();
  const m = /^([+-]?\d{4,6})-(\d{1,2})-(\d{1,2})$/.exec(s);
  if (m) {
    const ms = parseTimestamp(`${m[1]}-${m[2]}-${m[3]}`);
    return ms === null ? null : Math.floor(ms / 86_400_000);
  }
  const ts = parseTimestamp(s);
  return ts === null ? null : Math.floor(ts / 86_400_000);
}

const CAST_WHOLE = /^\s*([+-]?)(\d*)(?:\.(\d*))?\s*$/;

/**
 * Spark's non-ANSI cast of a string to int/bigint (`UTF8String.toInt`/`toLong`): blanks around, an optional sign,
 * digits, and an optional fraction that is dropped (toward zero); anything else (`'1e3'`, `'0x10'`, `''`) and values
 * out of range are null — never wrapped or rounded: more than 15 digits are parsed exactly.
 *
 * @example
 * castWholeNumber(' 4.7 ', 32); // 4
 * castWholeNumber('1e3', 64); // null
 * castWholeNumber('9223372036854775807', 64); // 9223372036854775807n
 */
export function castWholeNumber(text: string, bits: 32 | 64): number | bigint | null {
  const m = CAST_WHOLE.exec(text);
  if (m === null || (m[2] === '' && (m[3] === undefined || m[3] === ''))) return null;
  const whole = parseWholeNumber(`${m[1]}${m[2] === '' ? '0' : m[2]}`, bits);
  return typeof whole === 'number' ? whole + 0 : whole;
}

/**
 * A timestamp (or, with `days`, a date) outside a `Date`'s range (±8.64e15 ms, ±1e8 days) met when turning a column
 * into JS values or JSON. Readers, casts and the Parquet/Arrow normalisation refuse such values, so it only arises from
 * arithmetic that overflows; `path` is the struct field path inside the column, filled in as the error travels out of
 * nested values, and the caller that knows the column and row (`rowsFromBatch`, `toJson`, the JSON writers) re-raises
 * it naming them.
 *
 * @example
 * try { formatTimestamp(9e15); } catch (e) { (e as TimestampRangeError).ms; } // 9e15
 * try { formatDate(2e8); } catch (e) { (e as TimestampRangeError).days; } // 2e8
 */
export class TimestampRangeError extends Error {
  override readonly name = 'TimestampRangeError';
  readonly path: string[] = [];
  constructor(
    readonly ms: number,
    readonly days?: number,
  ) {
    super(
      days === undefined
        ? `the timestamp ${ms} ms is outside the range of timestamps (±8.64e15 ms, years −271821 to 275760)`
        : `the date ${days} days since 1970-01-01 is outside the range of dates (±1e8 days, years −271821 to 275760)`,
    );
  }

  /** The same error naming where the value is (`where`: e.g. "column 'e', row 3"), with the fix. */
  at(where: string): TimestampRangeError {
    const e = new TimestampRangeError(this.ms, this.days);
    e.path.push(...this.path);
    const field = this.path.length > 0 ? `, field '${this.path.join('.')}'` : '';
    const keep = this.days === undefined ? 'a long (unixMillis) instead of a timestamp' : 'an int (days) instead of a date';
    e.message = `${where}${field}: ${this.message}. Filter such rows, or keep the value as ${keep}.`;
    return e;
  }
}

/**
 * Formats epoch ms as ISO-8601 UTC with milliseconds, the form sluice writes timestamps in JSON. Throws
 * `TimestampRangeError` for a value outside a `Date`'s range (never 'Invalid Date').
 *
 * @example
 * formatTimestamp(0); // '1970-01-01T00:00:00.000Z'
 */
export function formatTimestamp(ms: number): string {
  if (!timestampInRange(ms)) throw new TimestampRangeError(ms);
  return new Date(ms).toISOString();
}

/**
 * Formats days since 1970-01-01 as `YYYY-MM-DD`. Throws `TimestampRangeError` (with `days` set) for a value outside
 * ±1e8 days, which readers and casts refuse (never a bare `RangeError`).
 *
 * @example
 * formatDate(1); // '1970-01-02'
 * formatDate(1e8); // '+275760-09-13'
 */
export function formatDate(days: number): string {
  if (!dateInRange(days)) throw new TimestampRangeError(days * 86_400_000, days);
  const iso = new Date(days * 86_400_000).toISOString();
  // Years beyond 9999 are written with a sign and six digits (`+275760-09-13`), as parseDate reads them.
  return iso.slice(0, iso.length - 14);
}

/** Outcome of appending a JS value: false when it cannot be read as the column's type. */
export type AppendResult = boolean;

/**
 * Accumulates JS values into a typed column. Used by `createDataFrame`, the JSON and CSV readers and the memory source;
 * the growth is amortised (doubling typed arrays), never one object per row.
 *
 * @example
 * const b = new ColumnBuilder('timestamp');
 * b.append('1970-01-01T00:00:01Z'); b.append(null);
 * const data = b.finish();
 */
export class ColumnBuilder {
  private num: Float64Array;
  private big: BigInt64Array | null = null;
  private bytes: Uint8Array;
  private offsets: Int32Array;
  private valid: Uint8Array;
  private byteLen = 0;
  private nulls = 0;
  private children: ColumnBuilder[] = [];
  private listChild: ColumnBuilder | null = null;
  length = 0;

  constructor(readonly type: DataType, capacity = 1024) {
    this.num = new Float64Array(capacity);
    this.valid = new Uint8Array(capacity);
    this.offsets = new Int32Array(capacity + 1);
    this.bytes = new Uint8Array(type === 'string' || type === 'binary' ? capacity * 8 : 0);
    if (isStruct(type)) this.children = type.fields.map((f) => new ColumnBuilder(f.type, capacity));
    if (typeof type === 'object' && type.kind === 'array') this.listChild = new ColumnBuilder(type.element, capacity);
  }

  private grow(): void {
    const cap = this.valid.length * 2;
    const num = new Float64Array(cap);
    num.set(this.num);
    this.num = num;
    const valid = new Uint8Array(cap);
    valid.set(this.valid);
    this.valid = valid;
    const offsets = new Int32Array(cap + 1);
    offsets.set(this.offsets);
    this.offsets = offsets;
    if (this.big) {
      const big = new BigInt64Array(cap);
      big.set(this.big);
      this.big = big;
    }
  }

  private ensureBytes(extra: number): void {
    if (this.byteLen + extra <= this.bytes.length) return;
    let cap = Math.max(64, this.bytes.length * 2);
    while (cap < this.byteLen + extra) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.bytes.subarray(0, this.byteLen));
    this.bytes = b;
  }

  /** Appends a null. */
  appendNull(): void {
    if (this.length === this.valid.length) this.grow();
    this.valid[this.length] = 0;
    this.nulls++;
    for (const c of this.children) c.appendNull();
    this.offsets[this.length + 1] = this.listChild ? this.listChild.length : this.byteLen;
    this.length++;
  }

  /** Appends a JS value, converting it; returns false (and appends nothing) when it is not of the column's type. */
  append(value: unknown): AppendResult {
    if (value === null || value === undefined) {
      this.appendNull();
      return true;
    }
    if (this.length === this.valid.length) this.grow();
    const i = this.length;
    const t = this.type;
    if (typeof t === 'string') {
      switch (t) {
        case 'string': {
          const s = typeof value === 'string' ? value : stringify(value);
          if (s === null) return false;
          this.writeUtf8(s);
          break;
        }
        case 'binary': {
          let b: Uint8Array;
          if (value instanceof Uint8Array) b = value;
          else if (typeof value === 'string') b = utf8Encoder.encode(value);
          else return false;
          this.ensureBytes(b.length);
          this.bytes.set(b, this.byteLen);
          this.byteLen += b.length;
          break;
        }
        case 'int': {
          let n: number | bigint | null;
          if (typeof value === 'number') n = Number.isInteger(value) ? value : null;
          else if (typeof value === 'string') n = parseWholeNumber(value, 32);
          else if (typeof value === 'bigint') n = Number(value);
          else n = null;
          if (n === null || n < -2147483648 || n > 2147483647) return false;
          this.num[i] = n as number;
          break;
        }
        case 'long': {
          // The common case — a number that is a safe integer — never touches BigInt.
          let n: number | bigint | null;
          if (typeof value === 'number') n = Number.isSafeInteger(value) ? value : Number.isInteger(value) && value < TWO63 && value >= -TWO63 ? BigInt(value) : null;
          else if (typeof value === 'string') n = parseWholeNumber(value, 64);
          else if (typeof value === 'bigint') n = value <= INT64_MAX && value >= INT64_MIN ? (Number.isSafeInteger(Number(value)) ? Number(value) : value) : null;
          else n = null;
          if (n === null) return false;
          if (typeof n === 'bigint') {
            if (this.big === null) {
              this.big = new BigInt64Array(this.num.length);
              for (let k = 0; k < i; k++) this.big[k] = BigInt(this.num[k]!);
            }
            this.num[i] = Number(n);
            this.big[i] = n;
          } else {
            this.num[i] = n;
            if (this.big) this.big[i] = BigInt(n);
          }
          break;
        }
        case 'double': {
          const n = toNumber(value);
          if (n === null) return false;
          this.num[i] = n;
          break;
        }
        case 'boolean': {
          if (typeof value === 'boolean') this.num[i] = value ? 1 : 0;
          else if (value === 'true' || value === 'TRUE' || value === 'True') this.num[i] = 1;
          else if (value === 'false' || value === 'FALSE' || value === 'False') this.num[i] = 0;
          else return false;
          break;
        }
        case 'timestamp': {
          let ms: number | null;
          // Epoch ms, a Date or text; outside a Date's range (±8.64e15 ms) the value is malformed.
          if (typeof value === 'number') ms = Math.floor(value);
          else if (value instanceof Date) ms = value.getTime();
          else if (typeof value === 'string') ms = parseTimestamp(value);
          else if (typeof value === 'bigint') ms = Number(value);
          else ms = null;
          if (ms === null || !timestampInRange(ms)) return false;
          this.num[i] = ms;
          break;
        }
        case 'date': {
          let d: number | null;
          // Days since 1970 as a whole number within ±1e8 (a Date's range); beyond it the value is malformed.
          if (typeof value === 'number') d = dateInRange(value) ? value : null;
          else if (value instanceof Date) d = Math.floor(value.getTime() / 86_400_000);
          else if (typeof value === 'string') d = parseDate(value);
          else d = null;
          if (d === null || Number.isNaN(d)) return false;
          this.num[i] = d;
          break;
        }
      }
    } else if (t.kind === 'struct') {
      if (typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) return false;
      const obj = value as Record<string, unknown>;
      for (let k = 0; k < t.fields.length; k++) {
        if (!this.children[k]!.append(obj[t.fields[k]!.name])) {
          // Undo the fields already appended, so a bad value leaves the builder unchanged.
          for (let j = 0; j < k; j++) this.children[j]!.truncate(i);
          return false;
        }
      }
    } else {
      if (!Array.isArray(value)) return false;
      const child = this.listChild!;
      const before = child.length;
      for (const el of value) {
        if (!child.append(el)) {
          child.truncate(before);
          return false;
        }
      }
    }
    this.valid[i] = 1;
    this.offsets[i + 1] = this.listChild ? this.listChild.length : this.byteLen;
    this.length++;
    return true;
  }

  private writeUtf8(s: string): void {
    this.ensureBytes(s.length * 3);
    const { written } = utf8Encoder.encodeInto(s, this.bytes.subarray(this.byteLen));
    this.byteLen += written;
  }

  /** Appends a string. */
  appendUtf8(s: string): void {
    if (this.length === this.valid.length) this.grow();
    this.writeUtf8(s);
    this.valid[this.length] = 1;
    this.offsets[this.length + 1] = this.byteLen;
    this.length++;
  }

  /** Appends raw UTF-8 bytes as one string value. */
  appendBytes(src: Uint8Array, start: number, end: number): void {
    if (this.length === this.valid.length) this.grow();
    this.ensureBytes(end - start);
    this.bytes.set(src.subarray(start, end), this.byteLen);
    this.byteLen += end - start;
    this.valid[this.length] = 1;
    this.offsets[this.length + 1] = this.byteLen;
    this.length++;
  }

  /** Appends a number to a numeric column (no checks: the caller converted it). */
  appendNumber(n: number): void {
    if (this.length === this.valid.length) this.grow();
    this.num[this.length] = n;
    if (this.big) this.big[this.length] = BigInt(n);
    this.valid[this.length] = 1;
    this.length++;
  }

  /** Drops values appended after `length` (used to undo a partly appended list). */
  truncate(length: number): void {
    for (let i = length; i < this.length; i++) if (!this.valid[i]) this.nulls--;
    this.length = length;
    this.byteLen = this.offsets[length]!;
  }

  /** The column as Arrow data; the builder can be reused afterwards. */
  finish(): Data {
    const n = this.length;
    const valid = this.nulls > 0 ? this.valid.slice(0, n) : null;
    const t = this.type;
    let v: Vec;
    if (typeof t === 'string') {
      switch (t) {
        case 'string':
        case 'binary':
          v = { kind: 'str', type: t, length: n, offsets: this.offsets.slice(0, n + 1), bytes: this.bytes.slice(0, this.byteLen), valid };
          break;
        case 'boolean': {
          const vals = new Uint8Array(n);
          for (let i = 0; i < n; i++) vals[i] = this.num[i]!;
          v = { kind: 'bool', type: 'boolean', length: n, values: vals, valid };
          break;
        }
        default:
          v = { kind: 'num', type: t, length: n, values: this.num.slice(0, n), big: this.big ? this.big.slice(0, n) : null, valid };
      }
      this.reset();
      return dataFromVec(v, t);
    }
    if (t.kind === 'struct') {
      const children = this.children.map((c) => c.finish());
      const [nullBitmap, nullCount] = bitmapFromValid(valid, n);
      this.reset();
      return makeData({ type: toArrowType(t) as Struct, length: n, nullCount, nullBitmap, children });
    }
    const [nullBitmap, nullCount] = bitmapFromValid(valid, n);
    const offsets = this.offsets.slice(0, n + 1);
    const child = this.listChild!.finish();
    this.reset();
    return makeData({ type: toArrowType(t) as never, length: n, nullCount, nullBitmap, valueOffsets: offsets, child } as never);
  }

  private reset(): void {
    this.length = 0;
    this.byteLen = 0;
    this.nulls = 0;
    this.big = null;
    this.offsets[0] = 0;
  }
}

function toNumber(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return null;
  if (typeof v === 'string') {
    const s = v.trim();
    if (s === '') return null;
    if (s === 'NaN') return NaN;
    if (s === 'Infinity' || s === '+Infinity') return Infinity;
    if (s === '-Infinity') return -Infinity;
    const n = Number(s);
    return Number.isNaN(n) ? null : n;
  }
  return null;
}

function stringify(v: unknown): string | null {
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') {
    try {
      return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
    } catch {
      return null;
    }
  }
  return null;
}

/** Raised when a JS value does not fit the declared column type. */
export class RowConversionError extends Error {
  override readonly name = 'RowConversionError';
}

/**
 * Builds one canonical batch from plain objects; values are converted to the schema's types (timestamps from `Date`,
 * epoch ms or ISO strings). Throws `RowConversionError` naming the row and column of a value that does not fit.
 *
 * @example
 * const batch = batchFromRows([{ user: 'a', ts: '2026-01-01T00:00:00Z' }], schemaOf({ user: 'string', ts: 'timestamp' }));
 */
export function batchFromRows(rows: readonly Record<string, unknown>[], schema: Schema): RecordBatch {
  const builders = schema.fields.map((f) => new ColumnBuilder(f.type, Math.max(16, rows.length)));
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    for (let c = 0; c < schema.fields.length; c++) {
      const f = schema.fields[c]!;
      const value = row[f.name];
      if (!builders[c]!.append(value)) {
        throw new RowConversionError(
          `Row ${r}, column '${f.name}': ${describeValue(value)} is not a valid ${typeName(f.type)}. ` +
            `Fix the value or declare the column with another type.`,
        );
      }
    }
  }
  return batchFromColumns(schema, builders.map((b) => b.finish()), rows.length);
}

function typeName(t: DataType): string {
  return typeof t === 'string' ? t : t.kind;
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Date) return `Date(${v.toISOString()})`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * Assembles a `RecordBatch` from column data (zero copy).
 *
 * @example
 * const batch = batchFromColumns(schema, [idData, tsData], 2);
 */
export function batchFromColumns(schema: Schema, columns: readonly Data[], length: number): RecordBatch {
  const arrowSchema = toArrowSchema(schema);
  const struct = makeData({
    type: new Struct(arrowSchema.fields),
    length,
    nullCount: 0,
    children: columns as Data[],
  });
  return new RecordBatch(arrowSchema, struct);
}

/**
 * Assembles a `RecordBatch` from `Vec`s.
 *
 * @example
 * const batch = batchFromVecs(schema, [numVec('double', new Float64Array([1]))]);
 */
export function batchFromVecs(schema: Schema, vecs: readonly Vec[], length?: number): RecordBatch {
  const n = length ?? (vecs.length > 0 ? vecs[0]!.length : 0);
  return batchFromColumns(
    schema,
    vecs.map((v, i) => dataFromVec(v, schema.fields[i]!.type)),
    n,
  );
}

/**
 * A batch of `full` from a batch holding some of its columns (`part`, a subset of `full` by name): the missing columns
 * are all-null columns of their type. Scans that skip columns a query never reads use it to keep the query's schema.
 *
 * @example
 * padColumns(idsOnly, { fields: [idField] }, schema); // every other column null
 */
export function padColumns(batch: RecordBatch, part: Schema, full: Schema): RecordBatch {
  const n = batch.numRows;
  const data = full.fields.map((f) => {
    const j = part.fields.findIndex((p) => p.name === f.name);
    if (j >= 0) return batch.data.children[j]!;
    return dataFromVec(nullVec(f.type, n), f.type);
  });
  return batchFromColumns(full, data, n);
}

/** The `Vec` of column `i` of a canonical batch. */
export function columnVec(batch: RecordBatch, schema: Schema, i: number): Vec {
  return vecFromData(batch.data.children[i]!, schema.fields[i]!.type);
}

/** An empty batch of a schema. */
export function emptyBatch(schema: Schema): RecordBatch {
  return batchFromColumns(
    schema,
    schema.fields.map((f) => new ColumnBuilder(f.type, 1).finish()),
    0,
  );
}

function withFieldName(e: unknown, name: string): unknown {
  if (e instanceof TimestampRangeError) e.path.unshift(name);
  return e;
}

/**
 * The JS value of row `i` of a `Vec` (see the table in `data-type.ts`). A timestamp outside a `Date`'s range throws
 * `TimestampRangeError` (`rowsFromBatch` names its column and row).
 *
 * @example
 * valueAt(numVec('double', new Float64Array([1.5])), 0); // 1.5
 */
export function valueAt(v: Vec, i: number): unknown {
  if (v.valid !== null && v.valid[i] === 0) return null;
  switch (v.kind) {
    case 'null':
      return null;
    case 'num': {
      switch (v.type) {
        case 'timestamp': {
          const ms = v.values[i]!;
          if (!timestampInRange(ms)) throw new TimestampRangeError(ms);
          return new Date(ms);
        }
        case 'date':
          return formatDate(v.values[i]!);
        case 'long': {
          if (v.big !== null) {
            const b = v.big[i]!;
            return b <= 9007199254740991n && b >= -9007199254740991n ? Number(b) : b;
          }
          return v.values[i]!;
        }
        default:
          return v.values[i]!;
      }
    }
    case 'bool':
      return v.values[i] === 1;
    case 'str':
      return v.type === 'string' ? strAt(v, i) : v.bytes.slice(v.offsets[i]!, v.offsets[i + 1]!);
    case 'struct': {
      const o: Record<string, unknown> = {};
      const fs = v.type.fields;
      for (let k = 0; k < fs.length; k++) {
        try {
          o[fs[k]!.name] = valueAt(v.fields[k]!, i);
        } catch (e) {
          throw withFieldName(e, fs[k]!.name);
        }
      }
      return o;
    }
    case 'list': {
      const out: unknown[] = [];
      for (let k = v.offsets[i]!; k < v.offsets[i + 1]!; k++) out.push(valueAt(v.child, k));
      return out;
    }
  }
}

/**
 * Plain objects from a canonical batch: timestamps become `Date`, dates `YYYY-MM-DD`, longs numbers (bigint beyond 2^53),
 * the window struct `{ start, end }`. Refuses a schema whose names repeat (`RepeatedColumnNamesError`).
 *
 * @example
 * rowsFromBatch(batch, schema); // [{ user: 'a', n: 3, window: { start: Date, end: Date } }]
 */
export function rowsFromBatch(batch: RecordBatch, schema: Schema): Record<string, unknown>[] {
  // A row holds one value per name: two columns of one name (after a join) would silently become one.
  assertUniqueNames(schema, 'Turning batches into rows');
  const n = batch.numRows;
  const vecs = schema.fields.map((_, i) => columnVec(batch, schema, i));
  const out: Record<string, unknown>[] = new Array(n);
  const names = schema.fields.map((f: Field) => f.name);
  let r = 0;
  let c = 0;
  try {
    for (r = 0; r < n; r++) {
      const o: Record<string, unknown> = {};
      for (c = 0; c < names.length; c++) o[names[c]!] = valueAt(vecs[c]!, r);
      out[r] = o;
    }
  } catch (e) {
    if (e instanceof TimestampRangeError) throw e.at(`Column '${names[c]}', row ${r}`);
    throw e;
  }
  return out;
}

/** JSON-safe value for the JSON writers: ISO timestamps, dates as strings, bigints as numbers when exact else strings. */
export function jsonValueAt(v: Vec, i: number): unknown {
  if (v.valid !== null && v.valid[i] === 0) return null;
  switch (v.kind) {
    case 'num':
      if (v.type === 'timestamp') return formatTimestamp(v.values[i]!);
      if (v.type === 'date') return formatDate(v.values[i]!);
      if (v.type === 'long' && v.big !== null) return v.big[i]!.toString();
      if (v.type === 'double' && !Number.isFinite(v.values[i]!)) return String(v.values[i]!);
      return v.values[i]!;
    case 'str':
      return v.type === 'string' ? strAt(v, i) : Buffer.from(v.bytes.subarray(v.offsets[i]!, v.offsets[i + 1]!)).toString('base64');
    case 'struct': {
      const o: Record<string, unknown> = {};
      const fs = v.type.fields;
      for (let k = 0; k < fs.length; k++) {
        try {
          o[fs[k]!.name] = jsonValueAt(v.fields[k]!, i);
        } catch (e) {
          throw withFieldName(e, fs[k]!.name);
        }
      }
      return o;
    }
    case 'list': {
      const out: unknown[] = [];
      for (let k = v.offsets[i]!; k < v.offsets[i + 1]!; k++) out.push(jsonValueAt(v.child, k));
      return out;
    }
    default:
      return valueAt(v, i);
  }
}

/** Exact int64 of a double holding an integer (used by writers that need bigint). */
export function exactBigInt(v: number): bigint {
  const hi = Math.floor(v / TWO32);
  return (BigInt(hi) << 32n) + BigInt(v - hi * TWO32);
}

export type { StructType };
