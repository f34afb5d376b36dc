/**
 * Name and type resolution of scalar expressions against an input schema. Errors name the column and list the ones
 * that exist.
 *
 * @module
 */
import {
  isNumeric,
  isStruct,
  schemaOf,
  structType,
  field,
  typeEquals,
  typeToString,
  WINDOW_TYPE,
  type DataType,
  type Field,
  type Schema,
  type StructType,
} from '../types/data-type.js';
import { castWholeNumber, parseDate, parseTimestamp, timestampInRange } from '../types/values.js';
import type { Bound, NamedBound, NumericType } from './bound-expr.js';
import { exprName, exprToString, splitName, type Expr } from './expr.js';

/** A query that cannot run as written: unknown column, wrong type, unsupported combination. The message names the fix. */
export class AnalysisError extends Error {
  override readonly name = 'AnalysisError';
}

/** The closest name by edit distance, for "did you mean" hints. */
export function closestName(name: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== null && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  const dp = new Int32Array(b.length + 1);
  for (let j = 0; j <= b.length; j++) dp[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

function findField(fields: readonly Field[], name: string): number {
  const exact = fields.findIndex((f) => f.name === name);
  if (exact >= 0) return exact;
  const lower = name.toLowerCase();
  const matches = fields.map((f, i) => [f, i] as const).filter(([f]) => f.name.toLowerCase() === lower);
  return matches.length === 1 ? matches[0]![1] : -1;
}

/** A column's name as a user may write it: `l.id` when it carries a qualifier (`df.alias('l')`), else `id`. */
function displayName(f: Field): string {
  return f.qualifier !== undefined ? `${f.qualifier}.${f.name}` : f.name;
}

/** Error for a column that does not exist, listing the ones that do. */
export function unknownColumn(name: string, schema: Schema, where?: string): AnalysisError {
  const names = schema.fields.map(displayName);
  const hint = closestName(name, names) ?? closestName(name, schema.fields.map((f) => f.name));
  return new AnalysisError(
    `Column '${name}' does not exist${where ? ` in ${where}` : ''}. ` +
      `Available columns: ${names.length ? names.join(', ') : '(none)'}.` +
      (hint ? ` Did you mean '${hint}'?` : ''),
  );
}

/**
 * A column name that matches more than one column (after a join both inputs may have an `id`). Spark's
 * `AMBIGUOUS_REFERENCE`; the message lists the candidates and how to pick one.
 *
 * @example
 * try { left.join(right, col('id').eq(col('id'))) } catch (e) { e instanceof AmbiguousColumnError } // true
 */
export class AmbiguousColumnError extends AnalysisError {
  constructor(
    readonly column: string,
    readonly candidates: readonly string[],
  ) {
    const qualified = candidates.every((c) => c.includes('.'));
    super(
      `[AMBIGUOUS_REFERENCE] Reference '${column}' is ambiguous, could be: ${candidates.join(', ')}. ` +
        (qualified
          ? `Qualify it, e.g. col('${candidates[0]}').`
          : `Name the inputs with df.alias('l') and other.alias('r') before the join, then write col('l.${column}') or col('r.${column}') ` +
            `(or rename the column on one side with withColumnRenamed()).`),
    );
  }
}

/** Indexes of the fields named `name`: exact matches, else the case-insensitive ones. */
function fieldsNamed(fields: readonly Field[], name: string, qualifier?: string): number[] {
  const pick = (eq: (a: string, b: string) => boolean) => {
    const out: number[] = [];
    fields.forEach((f, i) => {
      if (!eq(f.name, name)) return;
      if (qualifier !== undefined && (f.qualifier === undefined || f.qualifier.toLowerCase() !== qualifier.toLowerCase())) return;
      out.push(i);
    });
    return out;
  };
  const exact = pick((a, b) => a === b);
  return exact.length > 0 ? exact : pick((a, b) => a.toLowerCase() === b.toLowerCase());
}

/**
 * Resolves a column path (`amount`, `window.start`, `` `a.b` ``, `l.id` for a column of the DataFrame aliased `l`) to an
 * ordinal and a struct path. A qualified name wins over a struct path of the same spelling; a name that matches
 * several columns (both sides of a join) throws `AmbiguousColumnError`.
 *
 * @example
 * resolveColumn('window.start', schema); // { ordinal: 0, path: [0], type: 'timestamp', … }
 */
export function resolveColumn(
  name: string,
  schema: Schema,
): { ordinal: number; path: number[]; type: DataType; nullable: boolean; name: string } {
  const parts = splitName(name);
  const fields = schema.fields;
  const ambiguous = (idx: readonly number[], shown: string) => new AmbiguousColumnError(shown, idx.map((i) => displayName(fields[i]!)));
  // A column whose name itself contains dots wins over a struct path.
  if (parts.length > 1) {
    const whole = fieldsNamed(fields, name);
    if (whole.length > 1) throw ambiguous(whole, name);
    if (whole.length === 1) {
      const f = fields[whole[0]!]!;
      return { ordinal: whole[0]!, path: [], type: f.type, nullable: f.nullable, name: f.name };
    }
  }
  let ordinal = -1;
  let rest = parts.slice(1);
  if (parts.length > 1 && fields.some((f) => f.qualifier !== undefined && f.qualifier.toLowerCase() === parts[0]!.toLowerCase())) {
    // `l.id`: the column `id` of the input aliased `l`.
    const q = fieldsNamed(fields, parts[1]!, parts[0]!);
    if (q.length > 1) throw ambiguous(q, `${parts[0]}.${parts[1]}`);
    if (q.length === 1) {
      ordinal = q[0]!;
      rest = parts.slice(2);
    }
  }
  if (ordinal < 0) {
    const idx = fieldsNamed(fields, parts[0]!);
    if (idx.length > 1) throw ambiguous(idx, parts[0]!);
    if (idx.length === 0) throw unknownColumn(name, schema);
    ordinal = idx[0]!;
    rest = parts.slice(1);
  }
  let f = fields[ordinal]!;
  const path: number[] = [];
  let nullable = f.nullable;
  const shownParts = parts.slice(0, parts.length - rest.length);
  for (let i = 0; i < rest.length; i++) {
    const seen = [...shownParts, ...rest.slice(0, i)].join('.');
    if (!isStruct(f.type)) {
      throw new AnalysisError(`Cannot read field '${rest[i]}' of '${seen}': it is a ${typeToString(f.type)}, not a struct.`);
    }
    const idx = findField(f.type.fields, rest[i]!);
    if (idx < 0) {
      const names = f.type.fields.map((x) => x.name);
      throw new AnalysisError(`Field '${rest[i]}' does not exist in '${seen}'. Available fields: ${names.join(', ')}.`);
    }
    path.push(idx);
    f = f.type.fields[idx]!;
    nullable = nullable || f.nullable;
  }
  return { ordinal, path, type: f.type, nullable, name: f.name };
}

/** Options for binding, e.g. what `current_timestamp()` means. */
export interface BindContext {
  /** Where the expression appears, for messages (`where`, `select`, `groupBy`). */
  readonly clause?: string;
  /**
   * The window of a projection (`select(window(…))`): `window(…)`/`sessionWindow(…)` expressions whose text is `text`
   * bind to column `ordinal`, which the operator below the projection appends to its input (see `projectionWindow`).
   */
  readonly window?: { readonly text: string; readonly ordinal: number };
}

function typeOf(b: Bound): DataType | 'null' {
  return b.type;
}

function lit(value: unknown, type: DataType | 'null'): Bound {
  return { k: 'lit', value, type };
}

function castTo(b: Bound, to: DataType): Bound {
  if (b.type === to) return b;
  if (b.k === 'lit') {
    return { k: 'lit', value: castLiteral(b.value, b.type, to), type: to };
  }
  return { k: 'cast', c: b, type: to };
}

/** Converts a literal value to another type at analysis time (null when the value does not convert, as Spark). */
export function castLiteral(value: unknown, from: DataType | 'null', to: DataType): unknown {
  if (value === null || value === undefined) return null;
  if (to === 'timestamp') {
    if (typeof value === 'string') {
      const ms = parseTimestamp(value);
      return ms;
    }
    if (value instanceof Date) return value.getTime();
    if (from === 'date' && typeof value === 'number') return value * 86_400_000;
    if (typeof value === 'number') {
      const ms = from === 'timestamp' ? value : Math.floor(value * 1000);
      return timestampInRange(ms) ? ms : null;
    }
  }
  if (to === 'date') {
    if (typeof value === 'string') return parseDate(value);
    if (typeof value === 'number' && from === 'timestamp') return Math.floor(value / 86_400_000);
    if (typeof value === 'number') return value;
  }
  if (to === 'double' || to === 'int' || to === 'long') {
    let n: number;
    if (typeof value === 'number') n = value;
    else if (typeof value === 'bigint') n = Number(value);
    else if (typeof value === 'string') {
      n = Number(value.trim());
      if (value.trim() === '' || Number.isNaN(n)) return null;
    } else if (typeof value === 'boolean') n = value ? 1 : 0;
    else return null;
    if (to === 'double') return from === 'timestamp' ? n / 1000 : n;
    // As castVec: timestamps give epoch seconds rounded down, longs wrap into ints, text out of range is null, and
    // doubles truncate with NaN → 0, saturating at the bounds (the JVM's casts).
    if (typeof value === 'bigint') return to === 'int' ? Number(BigInt.asIntN(32, value)) : value;
    if (from === 'timestamp') {
      const sec = Math.floor(n / 1000);
      return to === 'int' ? sec | 0 : sec;
    }
    if (from === 'long' || from === 'int' || from === 'boolean') return to === 'int' ? n | 0 : n;
    const whole = Math.trunc(n) + 0;
    if (typeof value === 'string') return castWholeNumber(value, to === 'int' ? 32 : 64);
    if (n !== n) return 0;
    if (to === 'int') return n >= 2147483647 ? 2147483647 : n <= -2147483648 ? -2147483648 : whole;
    if (n >= 9223372036854775807) return 9223372036854775807n;
    if (n <= -9223372036854775808) return -9223372036854775808n;
    return whole;
  }
  if (to === 'string') {
    if (from === 'timestamp' && typeof value === 'number') return new Date(value).toISOString().replace('T', ' ').replace('Z', '');
    if (from === 'date' && typeof value === 'number') return new Date(value * 86_400_000).toISOString().slice(0, 10);
    return String(value);
  }
  if (to === 'boolean') {
    if (typeof value === 'boolean') return value;
    if (typeof value === 'number') return value !== 0;
    if (typeof value === 'string') {
      const s = value.trim().toLowerCase();
      if (['true', 't', 'yes', 'y', '1'].includes(s)) return true;
      if (['false', 'f', 'no', 'n', '0'].includes(s)) return false;
      return null;
    }
  }
  return value;
}

const NUM_RANK: Record<NumericType, number> = { int: 0, long: 1, double: 2 };

function widerNumeric(a: NumericType, b: NumericType): NumericType {
  return NUM_RANK[a] >= NUM_RANK[b] ? a : b;
}

function literalType(value: unknown): DataType | 'null' {
  if (value === null || value === undefined) return 'null';
  // A whole number beyond ±2^63 (lit(1e20)) is a double: as a long it would wrap.
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return 'double';
    return Math.abs(value) <= 2147483647 ? 'int' : Math.abs(value) < 9223372036854775808 ? 'long' : 'double';
  }
  if (typeof value === 'bigint') return 'long';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'boolean';
  if (value instanceof Date) return 'timestamp';
  if (value instanceof Uint8Array) return 'binary';
  throw new AnalysisError(`lit(${String(value)}) has no sluice type. Use a number, string, boolean, bigint, Date or null.`);
}

function describe(e: Expr): string {
  return exprToString(e);
}

/** Common type of two sides of a comparison or of `coalesce`/`when` branches; null when there is none. */
function commonType(a: DataType | 'null', b: DataType | 'null', bIsLiteral: boolean, aIsLiteral: boolean): DataType | 'null' | null {
  if (a === 'null') return b;
  if (b === 'null') return a;
  if (typeEquals(a, b)) return a;
  if (isNumeric(a) && isNumeric(b)) return widerNumeric(a as NumericType, b as NumericType);
  if ((a === 'timestamp' && b === 'date') || (a === 'date' && b === 'timestamp')) return 'timestamp';
  if ((a === 'timestamp' || a === 'date') && b === 'string' && bIsLiteral) return a;
  if ((b === 'timestamp' || b === 'date') && a === 'string' && aIsLiteral) return b;
  if (isNumeric(a) && b === 'string') return 'double';
  if (isNumeric(b) && a === 'string') return 'double';
  if ((a === 'timestamp' && isNumeric(b) && bIsLiteral) || (b === 'timestamp' && isNumeric(a) && aIsLiteral)) return 'timestamp';
  return null;
}

/**
 * Binds an expression against a schema: resolves names, infers types, inserts implicit casts.
 *
 * @example
 * const { bound, type } = bindExpr(col('amount').mul(100).expr, schema);
 */
export function bindExpr(e: Expr, schema: Schema, ctx: BindContext = {}): { bound: Bound; type: DataType | 'null'; nullable: boolean } {
  const b = bind(e, schema, ctx);
  return { bound: b, type: typeOf(b), nullable: true };
}

function bind(e: Expr, schema: Schema, ctx: BindContext): Bound {
  switch (e.kind) {
    case 'column': {
      if (e.name === '*' || e.name.endsWith('.*')) {
        throw new AnalysisError(`'${e.name}' can only be used directly in select(), not inside an expression.`);
      }
      const r = resolveColumn(e.name, schema);
      return { k: 'ref', ordinal: r.ordinal, path: r.path, type: r.type };
    }
    case 'literal': {
      const t = e.type ?? literalType(e.value);
      let v = e.value;
      if (v instanceof Date) v = v.getTime();
      if (typeof v === 'bigint') {
        const n = Number(v);
        v = Number.isSafeInteger(n) ? n : v;
      }
      if (t !== 'null' && e.type !== null && v !== null && v !== undefined) v = castLiteral(v, literalType(e.value), t);
      return lit(v, t);
    }
    case 'alias':
      return bind(e.child, schema, ctx);
    case 'cast': {
      const c = bind(e.child, schema, ctx);
      if (c.type !== 'null' && !canCast(c.type, e.to)) {
        throw new AnalysisError(`Cannot cast ${describe(e.child)} from ${typeToString(c.type)} to ${typeToString(e.to)}.`);
      }
      if (c.type === 'null') return lit(null, e.to);
      return castTo(c, e.to);
    }
    case 'unary': {
      const c = bind(e.child, schema, ctx);
      switch (e.op) {
        case 'not':
          if (c.type !== 'boolean' && c.type !== 'null') {
            throw new AnalysisError(`not() needs a boolean, but ${describe(e.child)} is ${typeToString(c.type)}.`);
          }
          return { k: 'not', c, type: 'boolean' };
        case 'negate':
          if (c.type !== 'null' && !isNumeric(c.type)) {
            throw new AnalysisError(`Cannot negate ${describe(e.child)}: it is ${typeToString(c.type)}, not a number.`);
          }
          return { k: 'neg', c, type: c.type === 'null' ? 'double' : c.type };
        case 'isNull':
        case 'isNotNull':
          return { k: 'isNull', c, negate: e.op === 'isNotNull', type: 'boolean' };
      }
      break;
    }
    case 'binary': {
      if (isIntervalOperand(e.left) || isIntervalOperand(e.right)) return bindIntervalArith(e, schema, ctx);
      const l = bind(e.left, schema, ctx);
      const r = bind(e.right, schema, ctx);
      const op = e.op;
      if (op === 'and' || op === 'or') {
        for (const [side, b] of [
          [e.left, l],
          [e.right, r],
        ] as const) {
          if (b.type !== 'boolean' && b.type !== 'null') {
            throw new AnalysisError(`${op}() needs booleans, but ${describe(side)} is ${typeToString(b.type)}.`);
          }
        }
        return { k: 'logic', op, l, r, type: 'boolean' };
      }
      if (op === '+' || op === '-' || op === '*' || op === '/' || op === '%') {
        const lt = l.type === 'null' ? (r.type === 'null' ? 'double' : r.type) : l.type;
        const rt = r.type === 'null' ? lt : r.type;
        if (!isNumeric(lt) || !isNumeric(rt)) {
          const bad = !isNumeric(lt) ? e.left : e.right;
          const badT = !isNumeric(lt) ? lt : rt;
          throw new AnalysisError(
            `Cannot apply '${op}' to ${describe(bad)} of type ${typeToString(badT)}: arithmetic needs int, long or double. ` +
              `Cast it first, e.g. col('x').cast('double').`,
          );
        }
        const t: NumericType = op === '/' ? 'double' : widerNumeric(lt as NumericType, rt as NumericType);
        return { k: 'arith', op, l: castTo(l, t), r: castTo(r, t), type: t };
      }
      // comparison
      const ct = commonType(l.type, r.type, r.k === 'lit', l.k === 'lit');
      if (ct === null) {
        throw new AnalysisError(
          `Cannot compare ${describe(e.left)} (${typeToString(l.type as DataType)}) with ${describe(e.right)} ` +
            `(${typeToString(r.type as DataType)}). Cast one side, e.g. .cast('${typeToString(l.type as DataType)}').`,
        );
      }
      if (ct === 'null') return { k: 'cmp', op, l, r, type: 'boolean' };
      if (isStruct(ct) || (typeof ct === 'object' && ct.kind === 'array')) {
        if (op !== '=' && op !== '!=' && op !== '<=>') {
          throw new AnalysisError(`Only equality is supported on ${typeToString(ct)} values (${describe(e)}).`);
        }
      }
      return { k: 'cmp', op, l: castTo(l, ct), r: castTo(r, ct), type: 'boolean' };
    }
    case 'agg':
      throw new AnalysisError(
        `The aggregate ${describe(e)} is only allowed in agg() after groupBy() (or df.agg()), not in ${ctx.clause ?? 'this clause'}.`,
      );
    case 'window':
    case 'sessionWindow':
      if (ctx.window !== undefined && exprToString(e) === ctx.window.text) return { k: 'ref', ordinal: ctx.window.ordinal, path: [], type: WINDOW_TYPE };
      throw new AnalysisError(
        `${e.kind === 'window' ? 'window()' : 'sessionWindow()'} is only allowed in groupBy(), select() and withColumn(), not in ${ctx.clause ?? 'this clause'}.`,
      );
    case 'call':
      return bindCall(e, schema, ctx);
  }
  throw new AnalysisError(`Unsupported expression ${describe(e)}.`);
}

function isIntervalOperand(e: Expr): boolean {
  return e.kind === 'call' && e.fn === 'interval';
}

/**
 * `timestamp ± interval(…)` and `interval(…) + timestamp`: a timestamp moved by a fixed number of milliseconds (a date
 * is read as its midnight). An interval anywhere else is refused.
 */
function bindIntervalArith(e: Extract<Expr, { kind: 'binary' }>, schema: Schema, ctx: BindContext): Bound {
  const li = isIntervalOperand(e.left);
  const ri = isIntervalOperand(e.right);
  const fix = `Write col('ts').plus(interval('1 hour')) or col('ts').minus(interval('5 minutes')).`;
  if (li && ri) throw new AnalysisError(`Cannot combine two intervals (${describe(e)}): add each to a timestamp. ${fix}`);
  const time = bind(ri ? e.left : e.right, schema, ctx);
  const ms = Number((ri ? e.right : e.left).kind === 'call' ? ((ri ? e.right : e.left) as Extract<Expr, { kind: 'call' }>).options?.['ms'] : 0);
  if ((e.op !== '+' && e.op !== '-') || (li && e.op === '-')) {
    throw new AnalysisError(`An interval can only be added to or subtracted from a timestamp, not used in ${describe(e)}. ${fix}`);
  }
  if (time.type !== 'timestamp' && time.type !== 'date' && time.type !== 'null') {
    throw new AnalysisError(
      `${describe(ri ? e.left : e.right)} is ${typeToString(time.type as DataType)}: an interval can only move a timestamp. ` +
        `Cast it first, e.g. col('x').cast('timestamp').plus(interval('1 hour')).`,
    );
  }
  const t = time.type === 'timestamp' ? time : castTo(time.type === 'null' ? lit(null, 'timestamp') : time, 'timestamp');
  return { k: 'call', fn: 'timestampAdd', args: [t], type: 'timestamp', options: { ms: e.op === '-' ? -ms : ms } };
}

/** Whether sluice can cast between two types. */
export function canCast(from: DataType, to: DataType): boolean {
  if (typeEquals(from, to)) return true;
  if (typeof from !== 'string' || typeof to !== 'string') return to === 'string' && typeof from !== 'string';
  if (to === 'string' || from === 'string') return true;
  if (from === 'binary' || to === 'binary') return false;
  if (from === 'date') return to === 'timestamp';
  if (to === 'date') return from === 'timestamp';
  return true;
}

function bindCall(e: Extract<Expr, { kind: 'call' }>, schema: Schema, ctx: BindContext): Bound {
  const args = e.args.map((a) => bind(a, schema, ctx));
  const need = (n: number) => {
    if (args.length !== n) throw new AnalysisError(`${e.fn}() takes ${n} argument(s), got ${args.length}.`);
  };
  const mk = (type: DataType, a: readonly Bound[] = args): Bound =>
    e.options ? { k: 'call', fn: e.fn, args: a, type, options: e.options } : { k: 'call', fn: e.fn, args: a, type };
  switch (e.fn) {
    case 'coalesce':
    case 'when': {
      // when: args = [cond1, value1, cond2, value2, …, else?]
      const valueIdx = e.fn === 'coalesce' ? args.map((_, i) => i) : args.map((_, i) => i).filter((i) => i % 2 === 1 || i === args.length - 1 && args.length % 2 === 1);
      if (e.fn === 'when') {
        for (let i = 0; i + 1 < args.length; i += 2) {
          if (args[i]!.type !== 'boolean' && args[i]!.type !== 'null') {
            throw new AnalysisError(`when() conditions must be booleans, but ${describe(e.args[i]!)} is ${typeToString(args[i]!.type as DataType)}.`);
          }
        }
      }
      let t: DataType | 'null' = 'null';
      for (const i of valueIdx) {
        const next = commonType(t, args[i]!.type, args[i]!.k === 'lit', false);
        if (next === null) {
          throw new AnalysisError(`${e.fn}() branches have incompatible types: ${typeToString(t as DataType)} and ${typeToString(args[i]!.type as DataType)}.`);
        }
        t = next;
      }
      const rt: DataType = t === 'null' ? 'string' : t;
      const cast = args.map((a, i) => (valueIdx.includes(i) ? castTo(a, rt) : a));
      return mk(rt, cast);
    }
    case 'struct': {
      const fields = e.args.map((a, i) => field(exprName(a), args[i]!.type === 'null' ? 'string' : (args[i]!.type as DataType)));
      return mk(structType(fields));
    }
    case 'fromJson':
    case 'fromCsv': {
      need(1);
      const t = args[0]!.type;
      if (t !== 'string' && t !== 'binary') {
        throw new AnalysisError(`${e.fn}() reads a string or binary column, but ${describe(e.args[0]!)} is ${typeToString(t as DataType)}.`);
      }
      const s = e.options?.['schema'] as Schema | undefined;
      if (!s) throw new AnalysisError(`${e.fn}() needs a schema, e.g. fromJson(col('value'), { user: 'string' }).`);
      return mk(structType(schemaOf(s).fields));
    }
    case 'getField': {
      need(1);
      const t = args[0]!.type;
      const name = String(e.options?.['field']);
      if (!isStruct(t as DataType)) throw new AnalysisError(`getField('${name}') needs a struct; ${describe(e.args[0]!)} is ${typeToString(t as DataType)}.`);
      const f = (t as StructType).fields.find((x) => x.name === name);
      if (!f) {
        throw new AnalysisError(
          `${describe(e.args[0]!)} has no field '${name}'; its fields are ${(t as StructType).fields.map((x) => x.name).join(', ')}.`,
        );
      }
      return mk(f.type);
    }
    case 'toJson': {
      need(1);
      const t = args[0]!.type;
      if (!isStruct(t as DataType) && !(typeof t === 'object' && t.kind === 'array')) {
        throw new AnalysisError(`toJson() needs a struct, e.g. toJson(struct(col('a'), col('b'))); ${describe(e.args[0]!)} is ${typeToString(t as DataType)}.`);
      }
      return mk('string');
    }
    case 'lower':
    case 'upper':
      need(1);
      return mk('string', [castTo(args[0]!, 'string')]);
    case 'length':
      need(1);
      return mk('int', [args[0]!.type === 'binary' ? args[0]! : castTo(args[0]!, 'string')]);
    case 'concat':
      return mk('string', args.map((a) => castTo(a, 'string')));
    case 'abs':
    case 'negate' as never: {
      need(1);
      const t = args[0]!.type;
      if (!isNumeric(t as DataType)) throw new AnalysisError(`abs() needs a number, got ${typeToString(t as DataType)}.`);
      return mk(t as DataType);
    }
    case 'floor':
    case 'ceil': {
      need(1);
      const t = args[0]!.type;
      if (!isNumeric(t as DataType)) throw new AnalysisError(`${e.fn}() needs a number, got ${typeToString(t as DataType)}.`);
      return mk('long', [castTo(args[0]!, 'double')]);
    }
    case 'round': {
      const t = args[0]!.type;
      if (!isNumeric(t as DataType)) throw new AnalysisError(`round() needs a number, got ${typeToString(t as DataType)}.`);
      return mk(t as DataType);
    }
    case 'toDate':
      need(1);
      return mk('date', [castTo(args[0]!, args[0]!.type === 'string' ? 'timestamp' : (args[0]!.type as DataType))]);
    case 'dateFormat': {
      need(1);
      return mk('string', [castTo(args[0]!, 'timestamp')]);
    }
    case 'unixMillis':
      need(1);
      if (args[0]!.type !== 'timestamp') throw new AnalysisError(`unixMillis() needs a timestamp, got ${typeToString(args[0]!.type as DataType)}.`);
      return mk('long');
    case 'timestampMillis':
      need(1);
      if (!isNumeric(args[0]!.type as DataType)) throw new AnalysisError(`timestampMillis() needs a number of milliseconds, got ${typeToString(args[0]!.type as DataType)}.`);
      return mk('timestamp', [castTo(args[0]!, 'double')]);
    case 'currentTimestamp':
      return mk('timestamp');
    case 'windowTime': {
      need(1);
      const t = args[0]!.type;
      if (!isStruct(t as DataType) || (t as StructType).fields.length !== 2) {
        throw new AnalysisError(`windowTime() needs a window column, got ${typeToString(t as DataType)}.`);
      }
      return mk('timestamp');
    }
    case 'hash':
      return mk('int');
    case 'interval':
      throw new AnalysisError(
        `${describe(e)} can only be added to or subtracted from a timestamp, e.g. col('ts').plus(interval('1 hour')).`,
      );
    case 'timestampAdd':
      need(1);
      if (args[0]!.type !== 'timestamp') throw new AnalysisError(`timestampAdd() needs a timestamp, got ${typeToString(args[0]!.type as DataType)}.`);
      return mk('timestamp');
  }
  throw new AnalysisError(`Unknown function ${e.fn}().`);
}

/**
 * Binds a select list, expanding `*` and `s.*`, naming each output column.
 *
 * @example
 * bindNamed([col('user').expr, col('amount').mul(100).as('cents').expr], schema);
 */
export function bindNamed(list: readonly Expr[], schema: Schema, ctx: BindContext = {}): NamedBound[] {
  const out: NamedBound[] = [];
  for (const e of list) {
    if (e.kind === 'column' && e.name === '*') {
      schema.fields.forEach((f, i) =>
        out.push({ name: f.name, bound: { k: 'ref', ordinal: i, path: [], type: f.type }, type: f.type, nullable: f.nullable }),
      );
      continue;
    }
    if (e.kind === 'column' && e.name.endsWith('.*')) {
      const base = e.name.slice(0, -2);
      const r = resolveColumn(base, schema);
      if (!isStruct(r.type)) throw new AnalysisError(`'${e.name}' needs a struct column, but '${base}' is ${typeToString(r.type)}.`);
      r.type.fields.forEach((f, i) =>
        out.push({ name: f.name, bound: { k: 'ref', ordinal: r.ordinal, path: [...r.path, i], type: f.type }, type: f.type, nullable: true }),
      );
      continue;
    }
    const b = bind(e, schema, ctx);
    const type: DataType = b.type === 'null' ? 'string' : b.type;
    out.push({ name: exprName(e), bound: b.type === 'null' ? { k: 'lit', value: null, type: 'string' } : b, type, nullable: true });
  }
  return out;
}
