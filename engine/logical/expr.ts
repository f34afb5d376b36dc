/**
 * Unresolved expressions: immutable, kind-tagged nodes built by the `Column` API and by pipeline specs. The analyzer
 * (`resolve-expr.ts`) checks names and types and turns them into bound expressions.
 *
 * @module
 */
import type { DataType } from '../types/data-type.js';
import { formatDuration } from '../types/duration.js';

export type ArithmeticOp = '+' | '-' | '*' | '/' | '%';
export type ComparisonOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | '<=>';
export type LogicalOp = 'and' | 'or';
export type BinaryOp = ArithmeticOp | ComparisonOp | LogicalOp;
export type UnaryOp = 'not' | 'negate' | 'isNull' | 'isNotNull';
export type AggFn = 'count' | 'countDistinct' | 'sum' | 'avg' | 'min' | 'max' | 'first' | 'last';

/** Scalar functions the evaluator knows; see `functions.ts` for their user-facing forms. */
export type CallFn =
  | 'coalesce'
  | 'when'
  | 'struct'
  | 'fromJson'
  | 'fromCsv'
  | 'toJson'
  | 'getField'
  | 'lower'
  | 'upper'
  | 'length'
  | 'concat'
  | 'abs'
  | 'floor'
  | 'ceil'
  | 'round'
  | 'toDate'
  | 'dateFormat'
  | 'unixMillis'
  | 'timestampMillis'
  | 'currentTimestamp'
  | 'windowTime'
  | 'hash'
  /** `interval('1 hour')`: a duration literal (`options.ms`), only as an operand of timestamp ± interval. */
  | 'interval'
  /** timestamp + `options.ms` milliseconds: what `ts ± interval(…)` binds to. */
  | 'timestampAdd';

export interface ColumnRef {
  readonly kind: 'column';
  /** As written: `amount`, `window.start`, `` `a.b` ``, `*`, `e.*`. */
  readonly name: string;
}
export interface Literal {
  readonly kind: 'literal';
  readonly value: unknown;
  /** null for an untyped `lit(null)`. */
  readonly type: DataType | null;
}
export interface BinaryExpr {
  readonly kind: 'binary';
  readonly op: BinaryOp;
  readonly left: Expr;
  readonly right: Expr;
}
export interface UnaryExpr {
  readonly kind: 'unary';
  readonly op: UnaryOp;
  readonly child: Expr;
}
export interface CastExpr {
  readonly kind: 'cast';
  readonly child: Expr;
  readonly to: DataType;
}
export interface AliasExpr {
  readonly kind: 'alias';
  readonly child: Expr;
  readonly name: string;
}
export interface AggExpr {
  readonly kind: 'agg';
  readonly fn: AggFn;
  /** null for `count(*)`. */
  readonly child: Expr | null;
}
export interface TimeWindowExpr {
  readonly kind: 'window';
  readonly time: Expr;
  readonly sizeMs: number;
  readonly slideMs: number;
  readonly startMs: number;
}
export interface SessionWindowExpr {
  readonly kind: 'sessionWindow';
  readonly time: Expr;
  /** A duration literal (`long` ms) or a per-row expression: a duration string or milliseconds. */
  readonly gap: Expr;
}
export interface CallExpr {
  readonly kind: 'call';
  readonly fn: CallFn;
  readonly args: readonly Expr[];
  /** Function options, e.g. fromJson's schema and mode. */
  readonly options?: Readonly<Record<string, unknown>>;
}

export type Expr =
  | ColumnRef
  | Literal
  | BinaryExpr
  | UnaryExpr
  | CastExpr
  | AliasExpr
  | AggExpr
  | TimeWindowExpr
  | SessionWindowExpr
  | CallExpr;

/** A sort key for `orderBy`. */
export interface SortOrder {
  readonly expr: Expr;
  readonly ascending: boolean;
  /** Spark's default: nulls first when ascending, last when descending. */
  readonly nullsFirst: boolean;
}

const freeze = <T extends object>(o: T): T => Object.freeze(o);

export const exprs = {
  column: (name: string): ColumnRef => freeze({ kind: 'column', name }),
  literal: (value: unknown, type: DataType | null): Literal => freeze({ kind: 'literal', value, type }),
  binary: (op: BinaryOp, left: Expr, right: Expr): BinaryExpr => freeze({ kind: 'binary', op, left, right }),
  unary: (op: UnaryOp, child: Expr): UnaryExpr => freeze({ kind: 'unary', op, child }),
  cast: (child: Expr, to: DataType): CastExpr => freeze({ kind: 'cast', child, to }),
  alias: (child: Expr, name: string): AliasExpr =>
    freeze({ kind: 'alias', child: child.kind === 'alias' ? child.child : child, name }),
  agg: (fn: AggFn, child: Expr | null): AggExpr => freeze({ kind: 'agg', fn, child }),
  window: (time: Expr, sizeMs: number, slideMs: number, startMs: number): TimeWindowExpr =>
    freeze({ kind: 'window', time, sizeMs, slideMs, startMs }),
  sessionWindow: (time: Expr, gap: Expr): SessionWindowExpr => freeze({ kind: 'sessionWindow', time, gap }),
  call: (fn: CallFn, args: readonly Expr[], options?: Record<string, unknown>): CallExpr =>
    freeze(options ? { kind: 'call', fn, args: freeze([...args]), options: freeze({ ...options }) } : { kind: 'call', fn, args: freeze([...args]) }),
};

/** Visits every node of an expression, parents first. */
export function walkExpr(e: Expr, visit: (e: Expr) => void): void {
  visit(e);
  for (const c of childrenOf(e)) walkExpr(c, visit);
}

/** The direct children of a node. */
export function childrenOf(e: Expr): readonly Expr[] {
  switch (e.kind) {
    case 'column':
    case 'literal':
      return [];
    case 'binary':
      return [e.left, e.right];
    case 'unary':
    case 'cast':
    case 'alias':
      return [e.child];
    case 'agg':
      return e.child ? [e.child] : [];
    case 'window':
      return [e.time];
    case 'sessionWindow':
      return [e.time, e.gap];
    case 'call':
      return e.args;
  }
}

/** True when the expression contains an aggregate function. */
export function containsAgg(e: Expr): boolean {
  let found = false;
  walkExpr(e, (x) => {
    if (x.kind === 'agg') found = true;
  });
  return found;
}

/** Strips a top-level alias. */
export function unalias(e: Expr): Expr {
  return e.kind === 'alias' ? e.child : e;
}

/**
 * The output column name Spark would give an expression: the alias, the column name, or the expression text
 * (`sum(amount)`, `count(1)`, `(amount * 100)`).
 */
export function exprName(e: Expr): string {
  switch (e.kind) {
    case 'alias':
      return e.name;
    case 'column': {
      const parts = splitName(e.name);
      return parts[parts.length - 1]!;
    }
    case 'window':
      return 'window';
    case 'sessionWindow':
      return 'session_window';
    case 'call':
      // A field of a computed struct is named after the field, as Spark's GetStructField.
      return e.fn === 'getField' ? String(e.options?.['field']) : exprToString(e);
    default:
      return exprToString(e);
  }
}

/** Expression text as shown in `explain()` and in generated names. */
export function exprToString(e: Expr): string {
  switch (e.kind) {
    case 'column':
      return e.name;
    case 'literal':
      if (e.value === null || e.value === undefined) return 'NULL';
      if (typeof e.value === 'string') return e.type === 'string' ? `'${e.value}'` : String(e.value);
      if (e.value instanceof Date) return `TIMESTAMP '${e.value.toISOString()}'`;
      return String(e.value);
    case 'binary': {
      const op = e.op === 'and' ? 'AND' : e.op === 'or' ? 'OR' : e.op;
      return `(${exprToString(e.left)} ${op} ${exprToString(e.right)})`;
    }
    case 'unary':
      switch (e.op) {
        case 'not':
          return `(NOT ${exprToString(e.child)})`;
        case 'negate':
          return `(- ${exprToString(e.child)})`;
        case 'isNull':
          return `(${exprToString(e.child)} IS NULL)`;
        case 'isNotNull':
          return `(${exprToString(e.child)} IS NOT NULL)`;
      }
      break;
    case 'cast':
      return `CAST(${exprToString(e.child)} AS ${typeof e.to === 'string' ? e.to.toUpperCase() : e.to.kind.toUpperCase()})`;
    case 'alias':
      return `${exprToString(e.child)} AS ${e.name}`;
    case 'agg':
      if (e.fn === 'countDistinct') return `count(DISTINCT ${e.child ? exprToString(e.child) : '*'})`;
      return `${e.fn}(${e.child ? exprToString(e.child) : '1'})`;
    case 'window':
      return e.sizeMs === e.slideMs
        ? `window(${exprToString(e.time)}, ${formatDuration(e.sizeMs)}${e.startMs ? `, start ${formatDuration(e.startMs)}` : ''})`
        : `window(${exprToString(e.time)}, ${formatDuration(e.sizeMs)}, ${formatDuration(e.slideMs)}${e.startMs ? `, ${formatDuration(e.startMs)}` : ''})`;
    case 'sessionWindow':
      return `session_window(${exprToString(e.time)}, ${e.gap.kind === 'literal' ? formatDuration(Number(e.gap.value)) : exprToString(e.gap)})`;
    case 'call':
      if (e.fn === 'getField') return `${exprToString(e.args[0]!)}.${String(e.options?.['field'])}`;
      if (e.fn === 'interval') return `INTERVAL '${formatDuration(Number(e.options?.['ms']))}'`;
      return `${e.fn}(${e.args.map(exprToString).join(', ')})`;
  }
  return '?';
}

/**
 * Splits a column path on dots, honouring backticks: `` a.`b.c` `` → `['a', 'b.c']`.
 *
 * @example
 * splitName('window.start'); // ['window', 'start']
 */
export function splitName(name: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < name.length; i++) {
    const ch = name[i]!;
    if (ch === '`') {
      if (quoted && name[i + 1] === '`') {
        cur += '`';
        i++;
      } else quoted = !quoted;
    } else if (ch === '.' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}
