/**
 * The vectorized expression evaluator: each bound node runs once per batch over whole columns. Inner loops read and
 * write typed arrays; literals are folded into the loop instead of being broadcast to columns.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import type { Bound } from '../logical/bound-expr.js';
import { typeEquals, type DataType, type Schema, type StructType } from '../types/data-type.js';
import { ColumnBuilder, formatDate, formatTimestamp, jsonValueAt, parseDate, parseTimestamp, castWholeNumber, timestampInRange, TimestampRangeError, valueAt } from '../types/values.js';
import { DEFAULT_MAX_JSON_NESTING_DEPTH, jsonNestingExceeds } from '../types/json-depth.js';
import { parseJsonExact } from '../types/json-numbers.js';
import {
  andValid,
  MAX_EXACT,
  nullVec,
  strAt,
  strVecFromStrings,
  utf8Decoder,
  utf8Encoder,
  vecFromData,
  type BoolVec,
  type NumType,
  type NumVec,
  type StrVec,
  type StructVec,
  type Vec,
} from './vec.js';

/** What an expression may read besides the batch. */
export interface EvalEnv {
  /** `current_timestamp()`: the batch's timestamp (stable when a batch is re-run). */
  readonly batchTimestampMs: number;
  /** Row number (within the micro-batch) of the evaluated batch's first row, for error messages. */
  readonly rowBase?: number;
  /**
   * Where `fromJson`/`fromCsv` anywhere inside the expression report the rows they could not parse (operators that
   * route them: project and filter). Without it a `failFast` parse throws at once and a `dropMalformed` one refuses to
   * run, since nothing could drop its rows.
   */
  readonly failures?: ParseFailures;
}

/** One parse's rows that could not be read, in one batch. */
export interface ParseFailure {
  readonly fn: 'fromJson' | 'fromCsv';
  readonly mode: 'permissive' | 'dropMalformed' | 'failFast';
  /** 1 where the row is malformed (length: the batch's rows). */
  readonly rows: Uint8Array;
  /** The failFast message for row `i` (names the row, its text and the schema). */
  message(i: number): string;
}

/**
 * The rows every `fromJson`/`fromCsv` inside an expression could not parse, for one batch, wherever the parse sits
 * (`coalesce(fromJson(…), …)`, inside `struct`, `when`, `toJson`, a comparison). A parse under a branch of `when` or a
 * later argument of `coalesce` counts only the rows on which Spark would evaluate it (its branch taken, the earlier
 * arguments null), so a `failFast` parse in an untaken branch does not fail. The operator evaluating the expression
 * then fails, drops or dead-letters the rows (`routeMalformedRows` in the physical layer).
 *
 * @example
 * const failures = new ParseFailures();
 * evaluate(bound, batch, schema, { ...env, failures }); failures.entries; // [{ fn: 'fromJson', mode, rows, … }]
 */
export class ParseFailures {
  readonly entries: ParseFailure[] = [];

  add(f: ParseFailure): void {
    this.entries.push(f);
  }

  /** Takes `child`'s failures, keeping only the rows where `evaluated` is 1 (null: every row). */
  absorb(child: ParseFailures, evaluated: Uint8Array | null): void {
    for (const f of child.entries) {
      if (evaluated === null) {
        this.entries.push(f);
        continue;
      }
      const rows = new Uint8Array(f.rows.length);
      let any = false;
      for (let i = 0; i < rows.length; i++) if ((rows[i] = f.rows[i]! & evaluated[i]!)) any = true;
      if (any) this.entries.push({ fn: f.fn, mode: f.mode, rows, message: f.message });
    }
  }
}

/** Raised by `failFast` parsing and other row-level evaluation errors. */
export class EvaluationError extends Error {
  override readonly name: string = 'EvaluationError';
}

/**
 * Evaluates a bound expression over a batch.
 *
 * @example
 * const v = evaluate(bound, batch, schema, { batchTimestampMs: Date.now() });
 */
export function evaluate(b: Bound, batch: RecordBatch, schema: Schema, env: EvalEnv): Vec {
  return evalNode(b, batch, schema, env, batch.numRows);
}

function evalNode(b: Bound, batch: RecordBatch, schema: Schema, env: EvalEnv, n: number): Vec {
  switch (b.k) {
    case 'ref': {
      let v = vecFromData(batch.data.children[b.ordinal]!, schema.fields[b.ordinal]!.type);
      for (const p of b.path) {
        const sv = v as StructVec;
        const child = sv.fields[p]!;
        v = sv.valid === null ? child : withValid(child, andValid(sv.valid, child.valid, n));
      }
      return v;
    }
    case 'lit':
      return broadcast(b.value, b.type, n);
    case 'arith':
      return arith(b.op, evalNode(b.l, batch, schema, env, n) as NumVec, b.r, batch, schema, env, n, b.type);
    case 'cmp':
      return compare(b, batch, schema, env, n);
    case 'logic': {
      const l = evalNode(b.l, batch, schema, env, n);
      const r = evalNode(b.r, batch, schema, env, n);
      return logic(b.op, l, r, n);
    }
    case 'not': {
      const c = evalNode(b.c, batch, schema, env, n);
      if (c.kind === 'null') return c;
      const src = (c as BoolVec).values;
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = src[i]! ^ 1;
      return { kind: 'bool', type: 'boolean', length: n, values: out, valid: c.valid };
    }
    case 'neg': {
      const c = evalNode(b.c, batch, schema, env, n);
      if (c.kind === 'null') return c;
      const nv = c as NumVec;
      const out = new Float64Array(n);
      const src = nv.values;
      for (let i = 0; i < n; i++) out[i] = -src[i]!;
      if (nv.type === 'int') for (let i = 0; i < n; i++) out[i] = out[i]! | 0;
      const big = nv.big ? nv.big.map((x) => BigInt.asIntN(64, -x)) : null;
      return { kind: 'num', type: nv.type, length: n, values: out, big, valid: nv.valid };
    }
    case 'isNull': {
      const c = evalNode(b.c, batch, schema, env, n);
      const out = new Uint8Array(n);
      const valid = c.valid;
      if (valid === null) out.fill(b.negate ? 1 : 0);
      else if (b.negate) out.set(valid);
      else for (let i = 0; i < n; i++) out[i] = valid[i]! ^ 1;
      return { kind: 'bool', type: 'boolean', length: n, values: out, valid: null };
    }
    case 'cast':
      return castVec(evalNode(b.c, batch, schema, env, n), b.type, n);
    case 'call':
      return evalCall(b, batch, schema, env, n);
  }
}

function withValid(v: Vec, valid: Uint8Array | null): Vec {
  return { ...v, valid } as Vec;
}

/** A column holding one value `n` times. */
export function broadcast(value: unknown, type: DataType | 'null', n: number): Vec {
  if (type === 'null' || value === null || value === undefined) return nullVec(type === 'null' ? 'string' : type, n);
  if (typeof type === 'string') {
    switch (type) {
      case 'string':
      case 'binary': {
        const bytes = value instanceof Uint8Array ? value : utf8Encoder.encode(String(value));
        const offsets = new Int32Array(n + 1);
        // Every row points at the same bytes: offsets cannot overlap in Arrow, so repeat them.
        const all = new Uint8Array(bytes.length * n);
        for (let i = 0; i < n; i++) {
          all.set(bytes, i * bytes.length);
          offsets[i + 1] = (i + 1) * bytes.length;
        }
        return { kind: 'str', type, length: n, offsets, bytes: all, valid: null };
      }
      case 'boolean':
        return { kind: 'bool', type, length: n, values: new Uint8Array(n).fill(value ? 1 : 0), valid: null };
      default: {
        const num = typeof value === 'bigint' ? Number(value) : (value as number);
        const big = typeof value === 'bigint' && type === 'long' ? new BigInt64Array(n).fill(value) : null;
        return { kind: 'num', type: type as NumType, length: n, values: new Float64Array(n).fill(num), big, valid: null };
      }
    }
  }
  const b = new ColumnBuilder(type, n);
  for (let i = 0; i < n; i++) b.append(value);
  return vecFromData(b.finish(), type);
}

// ---------------------------------------------------------------------------------------------------------- arithmetic

function arith(
  op: string,
  l: NumVec,
  rb: Bound,
  batch: RecordBatch,
  schema: Schema,
  env: EvalEnv,
  n: number,
  type: 'int' | 'long' | 'double',
): Vec {
  if ((l as Vec).kind === 'null') return nullVec(type, n);
  const a = l.values;
  const out = new Float64Array(n);
  let valid = l.valid;
  let rv: NumVec | null = null;
  if (rb.k === 'lit') {
    if (rb.value === null) return nullVec(type, n);
    const c = typeof rb.value === 'bigint' ? Number(rb.value) : (rb.value as number);
    switch (op) {
      case '+':
        for (let i = 0; i < n; i++) out[i] = a[i]! + c;
        break;
      case '-':
        for (let i = 0; i < n; i++) out[i] = a[i]! - c;
        break;
      case '*':
        for (let i = 0; i < n; i++) out[i] = a[i]! * c;
        break;
      case '/':
      case '%':
        if (c === 0) return nullVec(type, n);
        if (op === '/') for (let i = 0; i < n; i++) out[i] = a[i]! / c;
        else for (let i = 0; i < n; i++) out[i] = a[i]! % c;
        break;
    }
  } else {
    rv = evalNode(rb, batch, schema, env, n) as NumVec;
    if ((rv as Vec).kind === 'null') return nullVec(type, n);
    const b = rv.values;
    valid = andValid(valid, rv.valid, n);
    switch (op) {
      case '+':
        for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
        break;
      case '-':
        for (let i = 0; i < n; i++) out[i] = a[i]! - b[i]!;
        break;
      case '*':
        for (let i = 0; i < n; i++) out[i] = a[i]! * b[i]!;
        break;
      case '/':
      case '%': {
        // Division by zero gives null, as Spark's non-ANSI mode.
        let zero: Uint8Array | null = null;
        for (let i = 0; i < n; i++) {
          const d = b[i]!;
          if (d === 0) {
            zero ??= valid ? valid.slice() : new Uint8Array(n).fill(1);
            zero[i] = 0;
          }
          out[i] = op === '/' ? a[i]! / d : a[i]! % d;
        }
        if (zero) valid = zero;
        break;
      }
    }
  }
  if (type === 'int') {
    for (let i = 0; i < n; i++) out[i] = out[i]! | 0;
    if (op === '*') {
      // Products of ints can exceed 2^53 before wrapping: redo them exactly.
      const bv = rv ? rv.values : null;
      const c = rb.k === 'lit' ? (rb.value as number) : 0;
      for (let i = 0; i < n; i++) out[i] = Math.imul(a[i]!, bv ? bv[i]! : c);
    }
    return { kind: 'num', type, length: n, values: out, big: null, valid };
  }
  if (type === 'long') {
    let exact = l.big === null && (rv === null || rv.big === null);
    if (exact) {
      for (let i = 0; i < n; i++) {
        const x = out[i]!;
        if (x > MAX_EXACT || x < -MAX_EXACT) {
          exact = false;
          break;
        }
      }
    }
    if (op === '/' || op === '%') {
      for (let i = 0; i < n; i++) out[i] = Math.trunc(out[i]!);
    }
    if (!exact) return bigArith(op, l, rb, rv, n, valid);
    return { kind: 'num', type, length: n, values: out, big: null, valid };
  }
  return { kind: 'num', type, length: n, values: out, big: null, valid };
}

function toBigArray(v: NumVec): BigInt64Array {
  if (v.big) return v.big;
  const out = new BigInt64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = BigInt(Math.trunc(v.values[i]!));
  return out;
}

function bigArith(op: string, l: NumVec, rb: Bound, rv: NumVec | null, n: number, valid: Uint8Array | null): NumVec {
  const a = toBigArray(l);
  const b = rv ? toBigArray(rv) : new BigInt64Array(n).fill(BigInt(rb.k === 'lit' ? (rb.value as number | bigint) : 0));
  const big = new BigInt64Array(n);
  const out = new Float64Array(n);
  let v = valid;
  for (let i = 0; i < n; i++) {
    let r: bigint;
    switch (op) {
      case '+':
        r = a[i]! + b[i]!;
        break;
      case '-':
        r = a[i]! - b[i]!;
        break;
      case '*':
        r = a[i]! * b[i]!;
        break;
      default:
        if (b[i] === 0n) {
          v = v ? v.slice() : new Uint8Array(n).fill(1);
          v[i] = 0;
          r = 0n;
        } else r = op === '/' ? a[i]! / b[i]! : a[i]! % b[i]!;
    }
    big[i] = BigInt.asIntN(64, r);
    out[i] = Number(big[i]);
  }
  return { kind: 'num', type: 'long', length: n, values: out, big, valid: v };
}

// ---------------------------------------------------------------------------------------------------------- comparison

function cmpResult(op: string, c: number): number {
  switch (op) {
    case '=':
    case '<=>':
      return c === 0 ? 1 : 0;
    case '!=':
      return c !== 0 ? 1 : 0;
    case '<':
      return c < 0 ? 1 : 0;
    case '<=':
      return c <= 0 ? 1 : 0;
    case '>':
      return c > 0 ? 1 : 0;
    default:
      return c >= 0 ? 1 : 0;
  }
}

function compare(b: Extract<Bound, { k: 'cmp' }>, batch: RecordBatch, schema: Schema, env: EvalEnv, n: number): Vec {
  const op = b.op;
  const l = evalNode(b.l, batch, schema, env, n);
  const nullSafe = op === '<=>';
  if (b.r.k === 'lit' && l.kind === 'num' && l.big === null && typeof b.r.value === 'number') {
    // Column against a constant: the common filter shape, without a broadcast column.
    const c = b.r.value;
    const a = l.values;
    const out = new Uint8Array(n);
    switch (op) {
      case '=':
      case '<=>':
        for (let i = 0; i < n; i++) out[i] = a[i] === c ? 1 : 0;
        break;
      case '!=':
        for (let i = 0; i < n; i++) out[i] = a[i] !== c ? 1 : 0;
        break;
      case '<':
        for (let i = 0; i < n; i++) out[i] = a[i]! < c ? 1 : 0;
        break;
      case '<=':
        for (let i = 0; i < n; i++) out[i] = a[i]! <= c ? 1 : 0;
        break;
      case '>':
        for (let i = 0; i < n; i++) out[i] = a[i]! > c ? 1 : 0;
        break;
      case '>=':
        for (let i = 0; i < n; i++) out[i] = a[i]! >= c ? 1 : 0;
        break;
    }
    if (l.type === 'double') fixNaNConst(op, a, c, out, n);
    if (nullSafe && l.valid) for (let i = 0; i < n; i++) if (!l.valid[i]) out[i] = 0;
    return { kind: 'bool', type: 'boolean', length: n, values: out, valid: nullSafe ? null : l.valid };
  }
  const r = evalNode(b.r, batch, schema, env, n);
  const out = new Uint8Array(n);
  if (l.kind === 'null' || r.kind === 'null') {
    if (nullSafe) {
      const lv = l.kind === 'null' ? new Uint8Array(n) : l.valid ?? new Uint8Array(n).fill(1);
      const rv = r.kind === 'null' ? new Uint8Array(n) : r.valid ?? new Uint8Array(n).fill(1);
      for (let i = 0; i < n; i++) out[i] = lv[i] === 0 && rv[i] === 0 ? 1 : 0;
      return { kind: 'bool', type: 'boolean', length: n, values: out, valid: null };
    }
    return nullVec('boolean', n);
  }
  if (l.kind === 'num' && r.kind === 'num' && l.big === null && r.big === null) {
    const a = l.values;
    const c = r.values;
    switch (op) {
      case '=':
      case '<=>':
        for (let i = 0; i < n; i++) out[i] = a[i] === c[i] ? 1 : 0;
        break;
      case '!=':
        for (let i = 0; i < n; i++) out[i] = a[i] !== c[i] ? 1 : 0;
        break;
      case '<':
        for (let i = 0; i < n; i++) out[i] = a[i]! < c[i]! ? 1 : 0;
        break;
      case '<=':
        for (let i = 0; i < n; i++) out[i] = a[i]! <= c[i]! ? 1 : 0;
        break;
      case '>':
        for (let i = 0; i < n; i++) out[i] = a[i]! > c[i]! ? 1 : 0;
        break;
      case '>=':
        for (let i = 0; i < n; i++) out[i] = a[i]! >= c[i]! ? 1 : 0;
        break;
    }
    if (l.type === 'double' || r.type === 'double') {
      for (let i = 0; i < n; i++) {
        const x = a[i]!;
        const y = c[i]!;
        if (x !== x || y !== y) out[i] = cmpResult(op, x !== x ? (y !== y ? 0 : 1) : -1);
      }
    }
  } else if (l.kind === 'num' && r.kind === 'num') {
    const a = toBigArray(l);
    const c = toBigArray(r);
    for (let i = 0; i < n; i++) out[i] = cmpResult(op, a[i]! < c[i]! ? -1 : a[i]! > c[i]! ? 1 : 0);
  } else if (l.kind === 'bool' && r.kind === 'bool') {
    for (let i = 0; i < n; i++) out[i] = cmpResult(op, l.values[i]! - r.values[i]!);
  } else if (l.kind === 'str' && r.kind === 'str') {
    for (let i = 0; i < n; i++) out[i] = cmpResult(op, compareBytes(l, i, r, i));
  } else {
    for (let i = 0; i < n; i++) {
      const x = JSON.stringify(jsonValueAt(l, i));
      const y = JSON.stringify(jsonValueAt(r, i));
      out[i] = cmpResult(op, x === y ? 0 : 1);
    }
  }
  if (nullSafe) {
    const lv = l.valid;
    const rv = r.valid;
    if (lv || rv) {
      for (let i = 0; i < n; i++) {
        const ln = lv !== null && lv[i] === 0;
        const rn = rv !== null && rv[i] === 0;
        if (ln || rn) out[i] = ln && rn ? 1 : 0;
      }
    }
    return { kind: 'bool', type: 'boolean', length: n, values: out, valid: null };
  }
  return { kind: 'bool', type: 'boolean', length: n, values: out, valid: andValid(l.valid, r.valid, n) };
}

/**
 * Spark orders NaN above every number and equal to itself (`NaN = NaN` is true, `NaN > 1e308` too): redoes the rows
 * where the column or the constant is NaN.
 */
function fixNaNConst(op: string, a: Float64Array, c: number, out: Uint8Array, n: number): void {
  if (c !== c) {
    for (let i = 0; i < n; i++) out[i] = cmpResult(op, a[i] !== a[i] ? 0 : -1);
    return;
  }
  for (let i = 0; i < n; i++) if (a[i] !== a[i]) out[i] = cmpResult(op, 1);
}

/** Byte-wise comparison of two strings (UTF-8 byte order equals code point order, as Spark's UTF8String). */
export function compareBytes(a: StrVec, i: number, b: StrVec, j: number): number {
  let p = a.offsets[i]!;
  const pe = a.offsets[i + 1]!;
  let q = b.offsets[j]!;
  const qe = b.offsets[j + 1]!;
  const ab = a.bytes;
  const bb = b.bytes;
  while (p < pe && q < qe) {
    const d = ab[p]! - bb[q]!;
    if (d !== 0) return d;
    p++;
    q++;
  }
  return pe - p - (qe - q);
}

function logic(op: 'and' | 'or', l: Vec, r: Vec, n: number): Vec {
  const lv = l.kind === 'null' ? null : (l as BoolVec).values;
  const rv = r.kind === 'null' ? null : (r as BoolVec).values;
  const lvalid = l.kind === 'null' ? new Uint8Array(n) : l.valid;
  const rvalid = r.kind === 'null' ? new Uint8Array(n) : r.valid;
  const out = new Uint8Array(n);
  if (lvalid === null && rvalid === null) {
    if (op === 'and') for (let i = 0; i < n; i++) out[i] = lv![i]! & rv![i]!;
    else for (let i = 0; i < n; i++) out[i] = lv![i]! | rv![i]!;
    return { kind: 'bool', type: 'boolean', length: n, values: out, valid: null };
  }
  // Three-valued logic: false AND null = false, true OR null = true, otherwise null wins.
  const valid = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const lk = lvalid === null || lvalid[i] === 1;
    const rk = rvalid === null || rvalid[i] === 1;
    const a = lk ? lv![i]! : 0;
    const b = rk ? rv![i]! : 0;
    if (op === 'and') {
      if ((lk && a === 0) || (rk && b === 0)) {
        out[i] = 0;
        valid[i] = 1;
      } else if (lk && rk) {
        out[i] = 1;
        valid[i] = 1;
      }
    } else if ((lk && a === 1) || (rk && b === 1)) {
      out[i] = 1;
      valid[i] = 1;
    } else if (lk && rk) {
      out[i] = 0;
      valid[i] = 1;
    }
  }
  return { kind: 'bool', type: 'boolean', length: n, values: out, valid };
}

// ---------------------------------------------------------------------------------------------------------------- cast

/**
 * Casts a column. Follows Spark's non-ANSI rules: unparseable strings become null, doubles truncate toward zero,
 * a timestamp cast to a number gives epoch **seconds** (use `unixMillis` for milliseconds).
 *
 * @example
 * castVec(vec, 'string', vec.length);
 */
export function castVec(v: Vec, to: DataType, n: number): Vec {
  if (v.kind === 'null') return nullVec(to, n);
  if (typeEquals(v.type as DataType, to)) return v;
  if (typeof to !== 'string') {
    throw new EvaluationError(`Cannot cast ${String(v.type)} to ${to.kind}.`);
  }
  if (v.kind === 'num') {
    const src = v.values;
    switch (to) {
      case 'double': {
        if (v.type === 'timestamp') {
          const out = new Float64Array(n);
          for (let i = 0; i < n; i++) out[i] = src[i]! / 1000;
          return { kind: 'num', type: 'double', length: n, values: out, big: null, valid: v.valid };
        }
        return { kind: 'num', type: 'double', length: n, values: v.big ? Float64Array.from(v.big, Number) : src, big: null, valid: v.valid };
      }
      case 'int':
      case 'long': {
        const out = new Float64Array(n);
        let big: BigInt64Array | null = null;
        if (v.type === 'double') {
          // Spark's non-ANSI cast of a double (the JVM's d2i/d2l): toward zero, NaN → 0, saturating at the bounds.
          const hiB = to === 'int' ? 2147483647 : 9223372036854775807;
          const loB = to === 'int' ? -2147483648 : -9223372036854775808;
          let wide = false;
          for (let i = 0; i < n; i++) {
            const x = src[i]!;
            const y = x !== x ? 0 : x >= hiB ? hiB : x <= loB ? loB : Math.trunc(x) + 0;
            out[i] = y;
            if (y > MAX_EXACT || y < -MAX_EXACT) wide = true;
          }
          if (wide) {
            big = new BigInt64Array(n);
            for (let i = 0; i < n; i++) big[i] = out[i]! >= hiB ? 9223372036854775807n : BigInt(out[i]!);
          }
        } else if (v.type === 'timestamp') {
          // Epoch seconds rounded down (Spark's floorDiv): −1.5 s is −2.
          for (let i = 0; i < n; i++) out[i] = Math.floor(src[i]! / 1000);
          if (to === 'int') for (let i = 0; i < n; i++) out[i] = out[i]! | 0;
        } else if (to === 'int') {
          // long → int keeps the low 32 bits, as the JVM.
          if (v.big) for (let i = 0; i < n; i++) out[i] = Number(BigInt.asIntN(32, v.big[i]!));
          else for (let i = 0; i < n; i++) out[i] = src[i]! | 0;
        } else {
          out.set(src);
          big = v.big;
        }
        return { kind: 'num', type: to, length: n, values: out, big: to === 'long' ? big : null, valid: v.valid };
      }
      case 'timestamp': {
        const out = new Float64Array(n);
        if (v.type === 'date') for (let i = 0; i < n; i++) out[i] = src[i]! * 86_400_000;
        else for (let i = 0; i < n; i++) out[i] = Math.floor(src[i]! * 1000);
        return { kind: 'num', type: 'timestamp', length: n, values: out, big: null, valid: validTimestamps(out, v.valid, n) };
      }
      case 'date': {
        const out = new Float64Array(n);
        if (v.type === 'timestamp') for (let i = 0; i < n; i++) out[i] = Math.floor(src[i]! / 86_400_000);
        else throw new EvaluationError(`Cannot cast ${v.type} to date; cast a timestamp or a string.`);
        return { kind: 'num', type: 'date', length: n, values: out, big: null, valid: v.valid };
      }
      case 'boolean': {
        const out = new Uint8Array(n);
        for (let i = 0; i < n; i++) out[i] = src[i] !== 0 ? 1 : 0;
        return { kind: 'bool', type: 'boolean', length: n, values: out, valid: v.valid };
      }
      case 'string': {
        const strs: (string | null)[] = new Array(n);
        for (let i = 0; i < n; i++) {
          if (v.valid && !v.valid[i]) strs[i] = null;
          else if (v.type === 'timestamp') strs[i] = formatTimestamp(src[i]!).replace('T', ' ').replace('Z', '');
          else if (v.type === 'date') strs[i] = formatDate(src[i]!);
          else if (v.type === 'long' && v.big) strs[i] = v.big[i]!.toString();
          else if (v.type === 'double') strs[i] = formatDouble(src[i]!);
          else strs[i] = String(src[i]!);
        }
        return strVecFromStrings(strs);
      }
      default:
        throw new EvaluationError(`Cannot cast ${v.type} to ${to}.`);
    }
  }
  if (v.kind === 'bool') {
    if (to === 'string') {
      const strs: (string | null)[] = new Array(n);
      for (let i = 0; i < n; i++) strs[i] = v.valid && !v.valid[i] ? null : v.values[i] ? 'true' : 'false';
      return strVecFromStrings(strs);
    }
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = v.values[i]!;
    return { kind: 'num', type: to as NumType, length: n, values: out, big: null, valid: v.valid };
  }
  if (v.kind === 'str') {
    if (to === 'string' || to === 'binary') return { ...v, type: to };
    return parseStrings(v, to, n);
  }
  if (to === 'string') {
    const strs: (string | null)[] = new Array(n);
    for (let i = 0; i < n; i++) strs[i] = v.valid && !v.valid[i] ? null : JSON.stringify(jsonValueAt(v, i));
    return strVecFromStrings(strs);
  }
  throw new EvaluationError(`Cannot cast ${String(v.type)} to ${to}.`);
}

/**
 * The validity of a computed timestamp column: rows outside a `Date`'s range (±8.64e15 ms, or NaN) become null, as a
 * cast that cannot represent its result (Spark's non-ANSI casts give null rather than a wrong value). One pass, no
 * allocation when every row is in range.
 */
function validTimestamps(ms: Float64Array, valid: Uint8Array | null, n: number): Uint8Array | null {
  let out: Uint8Array | null = null;
  for (let i = 0; i < n; i++) {
    if (timestampInRange(ms[i]!) || (valid !== null && valid[i] === 0)) continue;
    out ??= valid === null ? new Uint8Array(n).fill(1) : valid.slice();
    out[i] = 0;
  }
  return out ?? valid;
}

function formatDouble(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e7) return x.toFixed(1);
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  return String(x);
}

function parseStrings(v: StrVec, to: DataType, n: number): Vec {
  const out = new Float64Array(n);
  const valid = new Uint8Array(n);
  let big: BigInt64Array | null = null;
  for (let i = 0; i < n; i++) {
    if (v.valid && !v.valid[i]) continue;
    const s = strAt(v, i);
    let x: number | null = null;
    switch (to) {
      case 'timestamp':
        x = parseTimestamp(s);
        break;
      case 'date':
        x = parseDate(s);
        break;
      case 'boolean': {
        const t = s.trim().toLowerCase();
        x = ['true', 't', 'yes', 'y', '1'].includes(t) ? 1 : ['false', 'f', 'no', 'n', '0'].includes(t) ? 0 : null;
        break;
      }
      case 'int':
      case 'long': {
        const w = castWholeNumber(s, to === 'int' ? 32 : 64);
        if (typeof w === 'bigint') {
          big ??= new BigInt64Array(n);
          big[i] = w;
          x = Number(w);
        } else x = w;
        break;
      }
      default: {
        const t = s.trim();
        if (t !== '') {
          const num = Number(t);
          if (!Number.isNaN(num) || t === 'NaN') x = num;
        }
      }
    }
    if (x !== null) {
      out[i] = x;
      valid[i] = 1;
    }
  }
  if (big) for (let i = 0; i < n; i++) if (big[i] === 0n) big[i] = BigInt(Math.trunc(out[i]!));
  if (to === 'boolean') return { kind: 'bool', type: 'boolean', length: n, values: Uint8Array.from(out), valid };
  return { kind: 'num', type: to as NumType, length: n, values: out, big, valid };
}

// ----------------------------------------------------------------------------------------------------------- functions

/**
 * The arguments of `coalesce`/`when`, each evaluated with its own `ParseFailures` when the caller collects them (so
 * the caller can keep only the rows each argument is evaluated on); `scoped` is null when nothing inside failed.
 */
function conditionalArgs(
  b: Extract<Bound, { k: 'call' }>,
  batch: RecordBatch,
  schema: Schema,
  env: EvalEnv,
  n: number,
): [Vec[], ParseFailures[] | null] {
  if (env.failures === undefined) return [b.args.map((a) => evalNode(a, batch, schema, env, n)), null];
  const scoped = b.args.map(() => new ParseFailures());
  const vs = b.args.map((a, k) => evalNode(a, batch, schema, { ...env, failures: scoped[k]! }, n));
  return [vs, scoped.some((f) => f.entries.length > 0) ? scoped : null];
}

function evalCall(b: Extract<Bound, { k: 'call' }>, batch: RecordBatch, schema: Schema, env: EvalEnv, n: number): Vec {
  const args = () => b.args.map((a) => evalNode(a, batch, schema, env, n));
  switch (b.fn) {
    case 'coalesce': {
      const [vs, scoped] = conditionalArgs(b, batch, schema, env, n);
      const isNull = (v: Vec, i: number) => v.kind === 'null' || (v.valid !== null && v.valid[i] === 0);
      if (scoped !== null) {
        // Argument k is evaluated (Spark's coalesce is lazy) only where every earlier argument is null.
        let reached = new Uint8Array(n).fill(1);
        for (let k = 0; k < vs.length; k++) {
          env.failures!.absorb(scoped[k]!, reached);
          const next = new Uint8Array(n);
          for (let i = 0; i < n; i++) next[i] = reached[i]! & (isNull(vs[k]!, i) ? 1 : 0);
          reached = next;
        }
      }
      return pickRows(vs, n, b.type, (i) => {
        for (let k = 0; k < vs.length; k++) if (!isNull(vs[k]!, i)) return k;
        return -1;
      });
    }
    case 'when': {
      const [vs, scoped] = conditionalArgs(b, batch, schema, env, n);
      const pairs = Math.floor(vs.length / 2);
      const hasElse = vs.length % 2 === 1;
      const isTrue = (c: Vec, i: number) => c.kind === 'bool' && (c.valid === null || c.valid[i] === 1) && c.values[i] === 1;
      if (scoped !== null) {
        // Condition p is evaluated where no earlier one held; its value only where it holds; the else where none did.
        let reached = new Uint8Array(n).fill(1);
        for (let p = 0; p < pairs; p++) {
          env.failures!.absorb(scoped[2 * p]!, reached);
          const taken = new Uint8Array(n);
          const next = new Uint8Array(n);
          for (let i = 0; i < n; i++) {
            const t = reached[i]! & (isTrue(vs[2 * p]!, i) ? 1 : 0);
            taken[i] = t;
            next[i] = reached[i]! & (t ^ 1);
          }
          env.failures!.absorb(scoped[2 * p + 1]!, taken);
          reached = next;
        }
        if (hasElse) env.failures!.absorb(scoped[vs.length - 1]!, reached);
      }
      return pickRows(vs, n, b.type, (i) => {
        for (let p = 0; p < pairs; p++) if (isTrue(vs[2 * p]!, i)) return 2 * p + 1;
        return hasElse ? vs.length - 1 : -1;
      });
    }
    case 'struct': {
      const vs = args();
      return { kind: 'struct', type: b.type as StructType, length: n, fields: vs.map((v, i) => (v.kind === 'null' ? nullVec((b.type as StructType).fields[i]!.type, n) : v)), valid: null };
    }
    case 'fromJson':
      return fromJson(evalNode(b.args[0]!, batch, schema, env, n), b.type as StructType, b.options ?? {}, n, env);
    case 'fromCsv':
      return fromCsv(evalNode(b.args[0]!, batch, schema, env, n), b.type as StructType, b.options ?? {}, n, env);
    case 'getField': {
      const v = evalNode(b.args[0]!, batch, schema, env, n);
      if (v.kind === 'null') return nullVec(b.type, n);
      const sv = v as StructVec;
      const child = sv.fields[sv.type.fields.findIndex((f) => f.name === b.options?.['field'])]!;
      return sv.valid === null ? child : withValid(child, andValid(sv.valid, child.valid, n));
    }
    case 'toJson': {
      const v = evalNode(b.args[0]!, batch, schema, env, n);
      const strs: (string | null)[] = new Array(n);
      let i = 0;
      try {
        for (i = 0; i < n; i++) strs[i] = v.valid && !v.valid[i] ? null : JSON.stringify(dropNulls(jsonValueAt(v, i)));
      } catch (e) {
        if (e instanceof TimestampRangeError) throw e.at(`toJson() in row ${(env.rowBase ?? 0) + i}`);
        throw e;
      }
      return strVecFromStrings(strs);
    }
    case 'lower':
    case 'upper': {
      const v = evalNode(b.args[0]!, batch, schema, env, n) as StrVec;
      if ((v as Vec).kind === 'null') return nullVec('string', n);
      const strs: (string | null)[] = new Array(n);
      for (let i = 0; i < n; i++) {
        strs[i] = v.valid && !v.valid[i] ? null : b.fn === 'lower' ? strAt(v, i).toLowerCase() : strAt(v, i).toUpperCase();
      }
      return strVecFromStrings(strs);
    }
    case 'length': {
      const v = evalNode(b.args[0]!, batch, schema, env, n) as StrVec;
      if ((v as Vec).kind === 'null') return nullVec('int', n);
      const out = new Float64Array(n);
      if (v.type === 'binary') for (let i = 0; i < n; i++) out[i] = v.offsets[i + 1]! - v.offsets[i]!;
      else {
        // Characters, not bytes: count UTF-8 lead bytes.
        for (let i = 0; i < n; i++) {
          let c = 0;
          for (let p = v.offsets[i]!; p < v.offsets[i + 1]!; p++) if ((v.bytes[p]! & 0xc0) !== 0x80) c++;
          out[i] = c;
        }
      }
      return { kind: 'num', type: 'int', length: n, values: out, big: null, valid: v.valid };
    }
    case 'concat': {
      const vs = args() as StrVec[];
      const strs: (string | null)[] = new Array(n);
      for (let i = 0; i < n; i++) {
        let s = '';
        let isNull = false;
        for (const v of vs) {
          if ((v as Vec).kind === 'null' || (v.valid && !v.valid[i])) {
            isNull = true;
            break;
          }
          s += strAt(v, i);
        }
        strs[i] = isNull ? null : s;
      }
      return strVecFromStrings(strs);
    }
    case 'abs':
    case 'floor':
    case 'ceil':
    case 'round': {
      const v = evalNode(b.args[0]!, batch, schema, env, n) as NumVec;
      if ((v as Vec).kind === 'null') return nullVec(b.type, n);
      const out = new Float64Array(n);
      const src = v.values;
      const digits = b.args[1] && b.args[1].k === 'lit' ? Number(b.args[1].value) : 0;
      const scale = Math.pow(10, digits);
      for (let i = 0; i < n; i++) {
        const x = src[i]!;
        out[i] =
          b.fn === 'abs'
            ? Math.abs(x)
            : b.fn === 'floor'
              ? Math.floor(x)
              : b.fn === 'ceil'
                ? Math.ceil(x)
                : Math.sign(x) * Math.round(Math.abs(x) * scale) / scale;
      }
      return { kind: 'num', type: b.type as NumType, length: n, values: out, big: null, valid: v.valid };
    }
    case 'toDate':
      return castVec(evalNode(b.args[0]!, batch, schema, env, n), 'date', n);
    case 'dateFormat':
      return castVec(evalNode(b.args[0]!, batch, schema, env, n), 'string', n);
    case 'unixMillis': {
      const v = evalNode(b.args[0]!, batch, schema, env, n) as NumVec;
      return { kind: 'num', type: 'long', length: n, values: v.values, big: null, valid: v.valid };
    }
    case 'timestampMillis': {
      const v = evalNode(b.args[0]!, batch, schema, env, n) as NumVec;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.floor(v.values[i]!);
      return { kind: 'num', type: 'timestamp', length: n, values: out, big: null, valid: validTimestamps(out, v.valid, n) };
    }
    case 'currentTimestamp':
      return broadcast(env.batchTimestampMs, 'timestamp', n);
    case 'windowTime': {
      const v = evalNode(b.args[0]!, batch, schema, env, n) as StructVec;
      const end = v.fields[1] as NumVec;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = end.values[i]! - 1;
      return { kind: 'num', type: 'timestamp', length: n, values: out, big: null, valid: andValid(v.valid, end.valid, n) };
    }
    case 'timestampAdd': {
      const v = evalNode(b.args[0]!, batch, schema, env, n);
      if (v.kind === 'null') return nullVec('timestamp', n);
      const src = (v as NumVec).values;
      const ms = Number(b.options?.['ms'] ?? 0);
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = src[i]! + ms;
      return { kind: 'num', type: 'timestamp', length: n, values: out, big: null, valid: validTimestamps(out, v.valid, n) };
    }
    case 'interval':
      throw new EvaluationError('interval() is only evaluated as part of timestamp ± interval.');
    case 'hash': {
      const vs = args();
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let h = 42;
        for (const v of vs) h = Math.imul(h ^ hashString(JSON.stringify(jsonValueAt(v, i))), 0x9e3779b1);
        out[i] = h | 0;
      }
      return { kind: 'num', type: 'int', length: n, values: out, big: null, valid: null };
    }
  }
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h;
}

function dropNulls(v: unknown): unknown {
  // Spark's to_json omits null fields.
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== null) o[k] = dropNulls(x);
    return o;
  }
  return v;
}

/** Builds a column by picking, for each row, the value of one of several columns (`-1`: null). */
function pickRows(vs: readonly Vec[], n: number, type: DataType, pick: (i: number) => number): Vec {
  if (typeof type === 'string' && type !== 'string' && type !== 'binary' && type !== 'boolean') {
    const out = new Float64Array(n);
    const valid = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const k = pick(i);
      if (k >= 0) {
        out[i] = (vs[k] as NumVec).values[i]!;
        valid[i] = 1;
      }
    }
    return { kind: 'num', type: type as NumType, length: n, values: out, big: null, valid };
  }
  const builder = new ColumnBuilder(type, n);
  for (let i = 0; i < n; i++) {
    const k = pick(i);
    builder.append(k >= 0 ? valueAt(vs[k]!, i) : null);
  }
  return vecFromData(builder.finish(), type);
}

// -------------------------------------------------------------------------------------------------------- JSON and CSV

/**
 * Raised when a `dropMalformed` parse meets a bad row where no operator can drop it (a grouping or sort key).
 *
 * @example
 * df.groupBy(fromJson(col('v'), { a: 'long' }, { mode: 'dropMalformed' }).getField('a')).count(); // throws on a bad row
 */
export class UnroutableParseError extends EvaluationError {
  override readonly name = 'UnroutableParseError';
}

/**
 * Parses each row of a string column into the fields of `type`: `values(text)` returns one JS value per field, or
 * null when the text is malformed. Values that do not fit their field's type are malformed too. Malformed rows become
 * a null struct and are reported to `env.failures` with the parse's mode, so the operator routes them (dead-letter
 * output; dropped for dropMalformed; an error for failFast). Without `env.failures`, failFast throws at once.
 */
function parseIntoStruct(
  src: Vec,
  type: StructType,
  options: Readonly<Record<string, unknown>>,
  n: number,
  what: 'JSON' | 'CSV',
  env: EvalEnv,
  values: (text: string) => readonly unknown[] | null,
): Vec {
  if (src.kind === 'null') return nullVec(type, n);
  const s = src as StrVec;
  const m = String(options['mode'] ?? 'permissive').toLowerCase();
  const mode = m === 'failfast' ? 'failFast' : m === 'dropmalformed' ? 'dropMalformed' : 'permissive';
  const rowBase = env.rowBase ?? 0;
  const textAt = (i: number) => utf8Decoder.decode(s.bytes.subarray(s.offsets[i]!, s.offsets[i + 1]!));
  const message = (i: number) => {
    const text = textAt(i);
    return (
      `Malformed ${what} in row ${rowBase + i}: ${JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)} does not match ` +
      `${type.fields.map((f) => `${f.name}: ${typeof f.type === 'string' ? f.type : f.type.kind}`).join(', ')}. ` +
      `Use mode 'permissive' (null struct) or 'dropMalformed' to keep going.`
    );
  };
  const builders = type.fields.map((f) => new ColumnBuilder(f.type, n));
  const valid = new Uint8Array(n);
  let bad: Uint8Array | null = null;
  for (let i = 0; i < n; i++) {
    if (s.valid && !s.valid[i]) {
      for (const bl of builders) bl.appendNull();
      continue;
    }
    const vals = values(textAt(i));
    let ok = vals !== null && vals.length === type.fields.length;
    if (ok) {
      for (let k = 0; k < type.fields.length; k++) {
        if (!builders[k]!.append(vals![k])) {
          for (let j = 0; j < k; j++) builders[j]!.truncate(i);
          ok = false;
          break;
        }
      }
    }
    if (!ok) {
      if (mode === 'failFast' && env.failures === undefined) throw new EvaluationError(message(i));
      if (mode === 'dropMalformed' && env.failures === undefined) {
        throw new UnroutableParseError(
          `${what === 'JSON' ? 'fromJson' : 'fromCsv'}(…, { mode: 'dropMalformed' }) cannot drop row ${rowBase + i} here: ` +
            `only select/withColumn and where/filter drop rows. Parse in a select first and group or sort by its result.`,
        );
      }
      bad ??= new Uint8Array(n);
      bad[i] = 1;
      for (const bl of builders) bl.appendNull();
      continue;
    }
    valid[i] = 1;
  }
  const out: StructVec = {
    kind: 'struct',
    type,
    length: n,
    fields: builders.map((bl, k) => vecFromData(bl.finish(), type.fields[k]!.type)),
    valid: bad === null && s.valid === null ? null : valid,
  };
  if (bad !== null) env.failures?.add({ fn: what === 'JSON' ? 'fromJson' : 'fromCsv', mode, rows: bad, message });
  return out;
}

function fromJson(src: Vec, type: StructType, options: Readonly<Record<string, unknown>>, n: number, env: EvalEnv): Vec {
  return parseIntoStruct(src, type, options, n, 'JSON', env, (text) => {
    // Deeper text is malformed whatever the stack size (as in the JSON readers and Spark).
    if (jsonNestingExceeds(text, DEFAULT_MAX_JSON_NESTING_DEPTH)) return null;
    let obj: unknown;
    try {
      obj = parseJsonExact(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    } catch {
      return null;
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return null;
    const o = obj as Record<string, unknown>;
    return type.fields.map((f) => o[f.name]);
  });
}

function fromCsv(src: Vec, type: StructType, options: Readonly<Record<string, unknown>>, n: number, env: EvalEnv): Vec {
  const sep = String(options['delimiter'] ?? options['sep'] ?? ',');
  return parseIntoStruct(src, type, options, n, 'CSV', env, (text) => splitCsvLine(text, sep).map((p) => (p === '' ? null : p)));
}

/** Splits one CSV record (quotes with doubled-quote escapes). */
export function splitCsvLine(line: string, sep: string, quote = '"'): string[] {
  const out: string[] = [];
  let cur = '';
  let inQ = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (inQ) {
      if (ch === quote) {
        if (line[i + 1] === quote) {
          cur += quote;
          i++;
        } else inQ = false;
      } else cur += ch;
    } else if (ch === quote && cur === '') inQ = true;
    else if (line.startsWith(sep, i)) {
      out.push(cur);
      cur = '';
      i += sep.length - 1;
    } else cur += ch;
  }
  out.push(cur);
  return out;
}
