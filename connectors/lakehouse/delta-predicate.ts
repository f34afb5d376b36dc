/**
 * Partition predicates for `replaceWhere`, `read({ where })`, `optimize({ where })` and `delete({ where })`: a small
 * JSON-serialisable form, one condition per partition column, all of which must hold (AND):
 *
 * ```json
 * { "date": { "gte": "2026-05-01", "lt": "2026-06-01" }, "country": { "in": ["US", "FR"] } }
 * ```
 *
 * Operators: `eq`, `in`, `gt`, `gte`, `lt`, `lte`, `isNull`. Values are JS values of the column type: strings, numbers
 * (or bigint / digit strings for longs), booleans, dates as `'YYYY-MM-DD'`, timestamps as ISO-8601 strings, `Date`s or
 * epoch milliseconds. As in SQL, a null value satisfies no comparison; only `{ isNull: true }` matches it. Strings
 * compare by UTF-8 bytes (code point order), as Spark does.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import { typeToString, type DataType, type Schema } from '../../engine/types/data-type.js';
import { columnVec, formatDate, formatTimestamp, parseDate, parseTimestamp } from '../../engine/types/values.js';
import { strAt, utf8Encoder, type Vec } from '../../engine/kernels/vec.js';
import { DeltaPredicateError } from './delta-errors.js';
import { compareBytes } from './delta-stats.js';
import { parsePartitionValue } from './delta-partition.js';

/** A literal in a predicate. */
export type PredicateValue = string | number | bigint | boolean | Date | null;

/** The condition on one column. */
export interface ColumnCondition {
  readonly eq?: PredicateValue;
  readonly in?: readonly PredicateValue[];
  readonly gt?: PredicateValue;
  readonly gte?: PredicateValue;
  readonly lt?: PredicateValue;
  readonly lte?: PredicateValue;
  readonly isNull?: boolean;
}

/** Conditions on partition columns, all of which must hold. */
export type PartitionPredicate = Readonly<Record<string, ColumnCondition>>;

const OPS = ['eq', 'in', 'gt', 'gte', 'lt', 'lte', 'isNull'] as const;

type Lit = number | bigint | Uint8Array;

interface Resolved {
  readonly column: string;
  readonly type: DataType;
  readonly eq?: Lit;
  readonly in?: readonly Lit[];
  readonly gt?: Lit;
  readonly gte?: Lit;
  readonly lt?: Lit;
  readonly lte?: Lit;
  readonly isNull?: boolean;
}

/** A predicate checked against a table's partition columns, with literals converted to the columns' types. */
export class ResolvedPredicate {
  constructor(
    readonly source: PartitionPredicate,
    private readonly conditions: readonly Resolved[],
  ) {}

  /** The columns the predicate reads. */
  get columns(): string[] {
    return this.conditions.map((c) => c.column);
  }

  /**
   * Whether a file with these (logged) partition values matches.
   *
   * @example
   * p.matchesPartition({ date: '2026-05-30' }); // true
   */
  matchesPartition(values: Readonly<Record<string, string | null>>): boolean {
    for (const c of this.conditions) {
      const x = parsePartitionValue(values[c.column], c.type, c.column);
      if (!testScalar(c, toLit(x, c))) return false;
    }
    return true;
  }

  /**
   * The rows of a batch that do NOT satisfy the predicate: their count and the first one's index (-1 if none).
   * Typed loops over the batch's columns.
   */
  violations(batch: RecordBatch, schema: Schema): { count: number; first: number } {
    const n = batch.numRows;
    const ok = new Uint8Array(n).fill(1);
    for (const c of this.conditions) {
      const idx = schema.fields.findIndex((f) => f.name === c.column);
      conditionMask(c, columnVec(batch, schema, idx), ok);
    }
    let count = 0;
    let first = -1;
    for (let i = 0; i < n; i++) {
      if (ok[i] === 0) {
        if (first < 0) first = i;
        count++;
      }
    }
    return { count, first };
  }

  /** SQL-like text for `commitInfo` and messages: `date >= '2026-05-01' AND country IN ('US', 'FR')`. */
  toString(): string {
    return describePredicate(this.source);
  }
}

/**
 * Checks a predicate against the table: every key a partition column, every operator known, every literal of the
 * column's type. `what` names the option in messages (`replaceWhere`, `where`).
 *
 * @example
 * const p = resolvePredicate({ date: { eq: '2026-05-30' } }, schema, ['date'], 'replaceWhere');
 */
export function resolvePredicate(
  pred: PartitionPredicate,
  schema: Schema,
  partitionColumns: readonly string[],
  what: string,
): ResolvedPredicate {
  if (pred === null || typeof pred !== 'object' || Array.isArray(pred) || typeof pred === 'function') {
    throw new DeltaPredicateError(
      `${what} must be an object of conditions on partition columns, e.g. {"date": {"eq": "2026-05-30"}}; got ${describe(pred)}.`,
    );
  }
  const out: Resolved[] = [];
  for (const [column, cond] of Object.entries(pred)) {
    const f = schema.fields.find((x) => x.name === column);
    if (!partitionColumns.includes(column)) {
      throw new DeltaPredicateError(
        `${what} names column '${column}', which is ${f ? 'a data column' : 'not a column of the table'}; ` +
          `${what} works on partition columns only (${partitionColumns.length > 0 ? partitionColumns.join(', ') : 'the table is not partitioned'}). ` +
          (f ? 'Partition the table by it, or filter the rows before writing.' : ''),
      );
    }
    if (cond === null || typeof cond !== 'object' || Array.isArray(cond)) {
      throw new DeltaPredicateError(`${what}: the condition on '${column}' must be an object like {"eq": …}; got ${describe(cond)}.`);
    }
    const keys = Object.keys(cond);
    const unknown = keys.filter((k) => !(OPS as readonly string[]).includes(k));
    if (unknown.length > 0 || keys.length === 0) {
      throw new DeltaPredicateError(
        `${what}: the condition on '${column}' has ${keys.length === 0 ? 'no operator' : `unknown operator(s) ${unknown.join(', ')}`}; ` +
          `use ${OPS.join(', ')}.`,
      );
    }
    const t = f!.type;
    const conv = (v: PredicateValue | undefined, op: string): Lit | undefined =>
      v === undefined ? undefined : literal(v, t, `${what}: ${column}.${op}`);
    if (cond.in !== undefined && !Array.isArray(cond.in)) {
      throw new DeltaPredicateError(`${what}: '${column}.in' must be an array of values.`);
    }
    if (cond.isNull !== undefined && typeof cond.isNull !== 'boolean') {
      throw new DeltaPredicateError(`${what}: '${column}.isNull' must be true or false.`);
    }
    out.push({
      column,
      type: t,
      eq: conv(cond.eq, 'eq'),
      in: cond.in?.map((v, i) => literal(v, t, `${what}: ${column}.in[${i}]`)),
      gt: conv(cond.gt, 'gt'),
      gte: conv(cond.gte, 'gte'),
      lt: conv(cond.lt, 'lt'),
      lte: conv(cond.lte, 'lte'),
      isNull: cond.isNull,
    });
  }
  return new ResolvedPredicate(pred, out);
}

function literal(v: PredicateValue, t: DataType, where: string): Lit {
  const bad = (): DeltaPredicateError =>
    new DeltaPredicateError(`${where}: ${describe(v)} is not a valid ${typeToString(t)} value.`);
  if (v === null) throw new DeltaPredicateError(`${where}: null never compares equal; use {"isNull": true}.`);
  switch (t) {
    case 'string':
      if (typeof v !== 'string') throw bad();
      return utf8Encoder.encode(v);
    case 'boolean':
      if (v === true || v === 'true') return 1;
      if (v === false || v === 'false') return 0;
      throw bad();
    case 'int':
    case 'double': {
      const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (Number.isNaN(n) || (t === 'int' && !Number.isInteger(n))) throw bad();
      return n;
    }
    case 'long': {
      if (typeof v === 'bigint') return v;
      if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
      if (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v)) return BigInt(v.trim());
      throw bad();
    }
    case 'date': {
      const d = v instanceof Date ? Math.floor(v.getTime() / 86_400_000) : typeof v === 'string' ? parseDate(v) : typeof v === 'number' && Number.isInteger(v) ? v : null;
      if (d === null) throw bad();
      return d;
    }
    case 'timestamp': {
      const ms = v instanceof Date ? v.getTime() : typeof v === 'string' ? parseTimestamp(v) : typeof v === 'number' ? v : null;
      if (ms === null || Number.isNaN(ms)) throw bad();
      return ms;
    }
    default:
      throw new DeltaPredicateError(`${where}: a ${typeToString(t)} column cannot be compared.`);
  }
}

function toLit(x: string | number | bigint | boolean | null, c: Resolved): Lit | null {
  if (x === null) return null;
  if (typeof x === 'string') return utf8Encoder.encode(x);
  if (typeof x === 'boolean') return x ? 1 : 0;
  if (c.type === 'long') return typeof x === 'bigint' ? x : BigInt(x);
  return x as number;
}

function cmp(a: Lit, b: Lit): number {
  if (a instanceof Uint8Array) return compareBytes(a, 0, a.length, b as Uint8Array, 0, (b as Uint8Array).length);
  if (typeof a === 'bigint') return a < (b as bigint) ? -1 : a > (b as bigint) ? 1 : 0;
  return (a as number) - (b as number);
}

function testScalar(c: Resolved, x: Lit | null): boolean {
  if (x === null) return c.isNull === true && c.eq === undefined && c.in === undefined && c.gt === undefined && c.gte === undefined && c.lt === undefined && c.lte === undefined;
  if (c.isNull === true) return false;
  if (c.eq !== undefined && cmp(x, c.eq) !== 0) return false;
  if (c.gt !== undefined && !(cmp(x, c.gt) > 0)) return false;
  if (c.gte !== undefined && !(cmp(x, c.gte) >= 0)) return false;
  if (c.lt !== undefined && !(cmp(x, c.lt) < 0)) return false;
  if (c.lte !== undefined && !(cmp(x, c.lte) <= 0)) return false;
  if (c.in !== undefined && !c.in.some((y) => cmp(x, y) === 0)) return false;
  return true;
}

/** `ok[i] &= condition holds on row i`, in one typed pass per column. */
function conditionMask(c: Resolved, v: Vec, ok: Uint8Array): void {
  const n = v.length;
  const valid = v.valid;
  const nullOk = testScalar(c, null) ? 1 : 0;
  switch (v.kind) {
    case 'num': {
      if (v.type === 'long') {
        const big = v.big;
        const vals = v.values;
        for (let i = 0; i < n; i++) {
          if (ok[i] === 0) continue;
          if (valid !== null && valid[i] === 0) ok[i] = nullOk;
          else if (!testScalar(c, big !== null ? big[i]! : BigInt(vals[i]!))) ok[i] = 0;
        }
        return;
      }
      const vals = v.values;
      for (let i = 0; i < n; i++) {
        if (ok[i] === 0) continue;
        if (valid !== null && valid[i] === 0) ok[i] = nullOk;
        else if (!testScalar(c, vals[i]!)) ok[i] = 0;
      }
      return;
    }
    case 'bool': {
      const vals = v.values;
      for (let i = 0; i < n; i++) {
        if (ok[i] === 0) continue;
        if (valid !== null && valid[i] === 0) ok[i] = nullOk;
        else if (!testScalar(c, vals[i]!)) ok[i] = 0;
      }
      return;
    }
    case 'str': {
      const off = v.offsets;
      for (let i = 0; i < n; i++) {
        if (ok[i] === 0) continue;
        if (valid !== null && valid[i] === 0) ok[i] = nullOk;
        else if (!testScalar(c, v.bytes.subarray(off[i]!, off[i + 1]!))) ok[i] = 0;
      }
      return;
    }
    default:
      ok.fill(0);
  }
}

/**
 * SQL-like text of a predicate.
 *
 * @example
 * describePredicate({ date: { eq: '2026-05-30' } }); // "date = '2026-05-30'"
 */
export function describePredicate(pred: PartitionPredicate): string {
  const parts: string[] = [];
  const q = (v: PredicateValue): string =>
    typeof v === 'string' ? `'${v.replace(/'/g, "''")}'` : v instanceof Date ? `'${formatTimestamp(v.getTime())}'` : String(v);
  for (const [col, c] of Object.entries(pred)) {
    if (c.isNull === true) parts.push(`${col} IS NULL`);
    if (c.isNull === false) parts.push(`${col} IS NOT NULL`);
    if (c.eq !== undefined) parts.push(`${col} = ${q(c.eq)}`);
    if (c.in !== undefined) parts.push(`${col} IN (${c.in.map(q).join(', ')})`);
    if (c.gt !== undefined) parts.push(`${col} > ${q(c.gt)}`);
    if (c.gte !== undefined) parts.push(`${col} >= ${q(c.gte)}`);
    if (c.lt !== undefined) parts.push(`${col} < ${q(c.lt)}`);
    if (c.lte !== undefined) parts.push(`${col} <= ${q(c.lte)}`);
  }
  return parts.length === 0 ? 'true' : parts.join(' AND ');
}

/** A row's partition value for error messages. */
export function describeRowValue(v: Vec, i: number): string {
  if (v.valid !== null && v.valid[i] === 0) return 'null';
  if (v.kind === 'num') {
    if (v.type === 'date') return `'${formatDate(v.values[i]!)}'`;
    if (v.type === 'timestamp') return `'${formatTimestamp(v.values[i]!)}'`;
    if (v.type === 'long' && v.big !== null) return v.big[i]!.toString();
    return String(v.values[i]);
  }
  if (v.kind === 'bool') return v.values[i] ? 'true' : 'false';
  // strAt's shared decoder keeps a leading U+FEFF (a default TextDecoder drops it: '\uFEFFeu' would read as 'eu').
  if (v.kind === 'str') return JSON.stringify(strAt(v, i));
  return '?';
}

function describe(v: unknown): string {
  if (typeof v === 'function') return 'a function (predicates must be JSON, so pipeline specs can carry them)';
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Date) return `Date(${v.toISOString()})`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
