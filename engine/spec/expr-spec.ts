/**
 * The JSON form of expressions, types and schemas in pipeline specs, and its translation to and from the logical
 * plan's `Expr` nodes. The grammar (documented in `engine/spec/README.md`):
 *
 * ```
 * "amount"                                  a column (a bare string is always a column: "window.start", "e.*")
 * 5 | true | null                           a literal (bare numbers, booleans and null)
 * { "lit": "EU" }                           a literal string, or any literal with a type: { "lit": "…Z", "type": "timestamp" }
 * { "col": "amount" }                       a column, explicitly
 * { "op": ">", "args": ["amount", 0] }      + - * / % = != < <= > >= <=> and or   (and/or take 2 or more args)
 * { "op": "not", "args": [E] }              not negate isNull isNotNull
 * { "op": "in", "args": [E, v1, v2] }       sugar for (E = v1) or (E = v2)
 * { "cast": E, "to": "timestamp" }          a cast
 * { "as": "cents", "expr": E }              a name
 * { "fn": "toDate", "args": [E] }           a function (functions.ts names); "options" for fromJson/fromCsv
 * { "agg": "sum", "args": [E] }             an aggregate ({ "agg": "count", "args": [] } is count(*))
 * { "window": { "column": E, "size": "5 minutes", "slide"?: …, "startTime"?: … } }
 * { "sessionWindow": { "column": E, "gap": "30 seconds" | E-object } }
 * { "interval": "1 hour" }                  interval('1 hour'): timestamp ± interval is a timestamp
 * ```
 *
 * @module
 */
import { exprs, type AggFn, type BinaryOp, type CallFn, type Expr, type UnaryOp } from '../logical/expr.js';
import { field, parseType, PRIMITIVE_TYPES, structType, type DataType, type Field, type Schema } from '../types/data-type.js';
import { formatDuration, parseDuration, type Duration } from '../types/duration.js';

/** A place in a spec: `['groupBy', 'window', 'size']` prints as `groupBy.window.size`. */
export type SpecPath = readonly (string | number)[];

/** One problem found in a spec, at a path. */
export interface SpecIssue {
  readonly path: SpecPath;
  readonly message: string;
}

/** A duration in a spec: `"5 minutes"`, `"250 milliseconds"`, or a number of milliseconds. */
export type DurationSpec = string | number;

/** A type in a spec: a type name, `{ "array": T }` or `{ "struct": { "name": T } }`. */
export type TypeSpec = string | { readonly array: TypeSpec } | { readonly struct: Readonly<Record<string, TypeSpec>> };

/** A schema in a spec: `{ "user": "string", "ts": "timestamp" }`. */
export type SchemaJson = Readonly<Record<string, TypeSpec>>;

/** A literal value in a spec. */
export type LiteralJson = string | number | boolean | null;

/** An expression in a spec (see the module comment for the grammar). */
export type ExprSpec =
  | string
  | number
  | boolean
  | null
  | { readonly col: string }
  | { readonly lit: LiteralJson; readonly type?: TypeSpec }
  | { readonly op: string; readonly args: readonly ExprSpec[] }
  | { readonly cast: ExprSpec; readonly to: TypeSpec }
  | { readonly as: string; readonly expr: ExprSpec }
  | { readonly fn: string; readonly args?: readonly ExprSpec[]; readonly options?: Readonly<Record<string, unknown>> }
  | { readonly agg: string; readonly args?: readonly ExprSpec[] }
  | { readonly window: WindowExprSpec }
  | { readonly sessionWindow: SessionWindowExprSpec }
  | { readonly interval: DurationSpec };

/** A tumbling or sliding window expression. */
export interface WindowExprSpec {
  readonly column: ExprSpec;
  readonly size: DurationSpec;
  readonly slide?: DurationSpec;
  readonly startTime?: DurationSpec;
}

/** A session window expression; a string gap is a duration, an object gap a per-row expression. */
export interface SessionWindowExprSpec {
  readonly column: ExprSpec;
  readonly gap: DurationSpec | Exclude<ExprSpec, string | number | boolean | null>;
}

/** Thrown by spec → plan and plan → spec conversions: every issue names the path of the offending field. */
export class SpecError extends Error {
  override readonly name = 'SpecError';
  constructor(
    readonly issues: readonly SpecIssue[],
    readonly source: string | null = null,
  ) {
    super(formatIssues(issues, source));
  }
}

/**
 * `groupBy.window.size`, `aggregations[1].fn`.
 *
 * @example
 * formatPath(['steps', 0, 'filter']); // 'steps[0].filter'
 */
export function formatPath(path: SpecPath): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out === '' ? '(spec)' : out;
}

function formatIssues(issues: readonly SpecIssue[], source: string | null): string {
  const head = `Invalid pipeline spec${source ? ` (${source})` : ''}:`;
  return [head, ...issues.map((i) => `  ${formatPath(i.path)}: ${i.message}`)].join('\n');
}

export const BINARY_OPS: readonly BinaryOp[] = ['+', '-', '*', '/', '%', '=', '!=', '<', '<=', '>', '>=', '<=>', 'and', 'or'];
export const UNARY_OPS: readonly UnaryOp[] = ['not', 'negate', 'isNull', 'isNotNull'];
export const AGG_FNS: readonly AggFn[] = ['count', 'countDistinct', 'sum', 'avg', 'min', 'max', 'first', 'last'];
export const CALL_FNS: readonly CallFn[] = [
  'coalesce',
  'when',
  'struct',
  'fromJson',
  'fromCsv',
  'toJson',
  'getField',
  'lower',
  'upper',
  'length',
  'concat',
  'abs',
  'floor',
  'ceil',
  'round',
  'toDate',
  'dateFormat',
  'unixMillis',
  'timestampMillis',
  'currentTimestamp',
  'windowTime',
  'hash',
  'interval',
];

const EXPR_KEYS: Readonly<Record<string, readonly string[]>> = {
  col: [],
  lit: ['type'],
  op: ['args'],
  cast: ['to'],
  as: ['expr'],
  fn: ['args', 'options'],
  agg: ['args'],
  window: [],
  sessionWindow: [],
  interval: [],
};

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Issues are collected, not thrown, so one pass reports every problem of a spec. */
export class IssueSink {
  readonly issues: SpecIssue[] = [];
  add(path: SpecPath, message: string): null {
    this.issues.push({ path: [...path], message });
    return null;
  }
  get ok(): boolean {
    return this.issues.length === 0;
  }
  /** Throws a `SpecError` listing every issue, if any. */
  throwIfAny(source: string | null = null): void {
    if (this.issues.length > 0) throw new SpecError(this.issues, source);
  }
}

/**
 * Milliseconds of a duration in a spec, or null with an issue.
 *
 * @example
 * durationFromSpec('5 minutes', ['groupBy', 'window', 'size'], issues); // 300000
 */
export function durationFromSpec(v: unknown, path: SpecPath, issues: IssueSink, opts: { positive?: boolean } = {}): number | null {
  if (typeof v !== 'string' && typeof v !== 'number') {
    return issues.add(path, `expected a duration like "5 minutes" or a number of milliseconds, got ${describe(v)}`);
  }
  let ms: number;
  try {
    ms = parseDuration(v as Duration, 'duration');
  } catch (e) {
    return issues.add(path, (e as Error).message);
  }
  if (opts.positive && ms <= 0) return issues.add(path, `must be greater than 0, got ${JSON.stringify(v)}`);
  if (ms < 0) return issues.add(path, `cannot be negative, got ${JSON.stringify(v)}`);
  return ms;
}

/** The canonical duration text of milliseconds (`"5 minutes"`). */
export function durationToSpec(ms: number): string {
  return formatDuration(ms);
}

/**
 * A sluice type from its spec form.
 *
 * @example
 * typeFromSpec({ array: 'string' }, ['source', 'schema', 'tags'], issues); // { kind: 'array', element: 'string' }
 */
export function typeFromSpec(v: unknown, path: SpecPath, issues: IssueSink): DataType | null {
  if (typeof v === 'string') {
    try {
      return parseType(v);
    } catch {
      return issues.add(path, `unknown type ${JSON.stringify(v)}; use one of ${PRIMITIVE_TYPES.join(', ')}, { "array": T } or { "struct": { … } }`);
    }
  }
  if (isPlainObject(v)) {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === 'array') {
      const el = typeFromSpec(v['array'], [...path, 'array'], issues);
      return el === null ? null : { kind: 'array', element: el };
    }
    if (keys.length === 1 && keys[0] === 'struct') {
      const s = schemaFromSpec(v['struct'], [...path, 'struct'], issues);
      return s === null ? null : structType(s.fields);
    }
  }
  return issues.add(path, `expected a type name like "string" or { "array": T } / { "struct": { … } }, got ${describe(v)}`);
}

/** The spec form of a type. */
export function typeToSpec(t: DataType): TypeSpec {
  if (typeof t === 'string') return t;
  if (t.kind === 'array') return { array: typeToSpec(t.element) };
  return { struct: schemaToSpec({ fields: t.fields }) };
}

/**
 * A schema from `{ "name": "type" }` (every column nullable).
 *
 * @example
 * schemaFromSpec({ user: 'string', ts: 'timestamp' }, ['source', 'schema'], issues);
 */
export function schemaFromSpec(v: unknown, path: SpecPath, issues: IssueSink): Schema | null {
  if (!isPlainObject(v)) return issues.add(path, `expected a schema like { "user": "string", "ts": "timestamp" }, got ${describe(v)}`);
  const entries = Object.entries(v);
  if (entries.length === 0) return issues.add(path, 'a schema needs at least one column');
  const fields: Field[] = [];
  let ok = true;
  for (const [name, t] of entries) {
    const type = typeFromSpec(t, [...path, name], issues);
    if (type === null) ok = false;
    else fields.push(field(name, type));
  }
  return ok ? { fields } : null;
}

/** The spec form of a schema (nullability is not kept: spec schemas are nullable). */
export function schemaToSpec(s: Schema): Record<string, TypeSpec> {
  const out: Record<string, TypeSpec> = {};
  for (const f of s.fields) out[f.name] = typeToSpec(f.type);
  return out;
}

/** Validates and converts the options of a function call (a `schema` is given in spec form). */
function callOptionsFromSpec(v: unknown, path: SpecPath, issues: IssueSink): Record<string, unknown> | null {
  if (!isPlainObject(v)) return issues.add(path, `expected an object of options, got ${describe(v)}`);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === 'schema') {
      const s = schemaFromSpec(x, [...path, k], issues);
      if (s === null) return null;
      out[k] = s;
    } else out[k] = x;
  }
  return out;
}

/**
 * Parses an expression of a spec; problems go to `issues` (null is returned).
 *
 * @example
 * exprFromSpec({ op: '>', args: ['amount', 0] }, ['steps', 0, 'filter'], issues); // (amount > 0)
 */
export function exprFromSpec(v: unknown, path: SpecPath, issues: IssueSink): Expr | null {
  if (typeof v === 'string') {
    if (v.trim() === '') return issues.add(path, 'a column name cannot be empty');
    return exprs.column(v);
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return issues.add(path, 'a number literal must be finite');
    return exprs.literal(v, null);
  }
  if (typeof v === 'boolean' || v === null) return exprs.literal(v, null);
  if (Array.isArray(v)) return issues.add(path, 'an expression cannot be an array (function arguments go in "args")');
  if (!isPlainObject(v)) return issues.add(path, `expected an expression, got ${describe(v)}`);
  const keys = Object.keys(v);
  const kinds = keys.filter((k) => k in EXPR_KEYS);
  if (kinds.length !== 1) {
    return issues.add(
      path,
      kinds.length === 0
        ? `not an expression: expected one of the keys ${Object.keys(EXPR_KEYS).map((k) => `"${k}"`).join(', ')} (got ${keys.map((k) => `"${k}"`).join(', ') || 'an empty object'})`
        : `an expression has exactly one of ${kinds.map((k) => `"${k}"`).join(', ')}, not several`,
    );
  }
  const kind = kinds[0]!;
  const extra = keys.filter((k) => k !== kind && !EXPR_KEYS[kind]!.includes(k));
  if (extra.length > 0) {
    const allowed = EXPR_KEYS[kind]!;
    return issues.add([...path, extra[0]!], `unknown field in a "${kind}" expression${allowed.length > 0 ? ` (it takes ${allowed.map((k) => `"${k}"`).join(', ')})` : ''}`);
  }
  const args = (min: number, max: number = Infinity): Expr[] | null => {
    const a = v['args'];
    if (a === undefined && min === 0) return [];
    if (!Array.isArray(a)) return issues.add([...path, 'args'], `expected an array of expressions, got ${describe(a)}`);
    if (a.length < min || a.length > max) {
      return issues.add([...path, 'args'], `expected ${max === min ? min : max === Infinity ? `at least ${min}` : `${min} to ${max}`} argument(s), got ${a.length}`);
    }
    const out: Expr[] = [];
    let ok = true;
    a.forEach((x, i) => {
      const e = exprFromSpec(x, [...path, 'args', i], issues);
      if (e === null) ok = false;
      else out.push(e);
    });
    return ok ? out : null;
  };
  switch (kind) {
    case 'col': {
      const name = v['col'];
      if (typeof name !== 'string' || name.trim() === '') return issues.add([...path, 'col'], `expected a column name, got ${describe(name)}`);
      return exprs.column(name);
    }
    case 'lit': {
      const value = v['lit'];
      if (value !== null && typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        return issues.add([...path, 'lit'], `expected a string, number, boolean or null, got ${describe(value)}`);
      }
      if (v['type'] === undefined) return exprs.literal(value, null);
      const t = typeFromSpec(v['type'], [...path, 'type'], issues);
      return t === null ? null : exprs.literal(value, t);
    }
    case 'op': {
      const op = v['op'];
      if (typeof op !== 'string') return issues.add([...path, 'op'], `expected an operator, got ${describe(op)}`);
      if (op === 'and' || op === 'or') {
        const a = args(2);
        return a === null ? null : a.slice(1).reduce((l, r) => exprs.binary(op, l, r), a[0]!);
      }
      if (op === 'in') {
        const a = args(1);
        if (a === null) return null;
        const [x, ...values] = a;
        if (values.length === 0) return exprs.literal(false, 'boolean');
        return values.map((y) => exprs.binary('=', x!, y) as Expr).reduce((l, r) => exprs.binary('or', l, r));
      }
      if ((BINARY_OPS as readonly string[]).includes(op)) {
        const a = args(2, 2);
        return a === null ? null : exprs.binary(op as BinaryOp, a[0]!, a[1]!);
      }
      if ((UNARY_OPS as readonly string[]).includes(op)) {
        const a = args(1, 1);
        return a === null ? null : exprs.unary(op as UnaryOp, a[0]!);
      }
      const hint = op === '==' ? ' (equality is "=")' : op === '<>' ? ' (inequality is "!=")' : '';
      return issues.add([...path, 'op'], `unknown operator ${JSON.stringify(op)}${hint}; use ${[...BINARY_OPS, 'in', ...UNARY_OPS].join(' ')}`);
    }
    case 'cast': {
      const child = exprFromSpec(v['cast'], [...path, 'cast'], issues);
      if (v['to'] === undefined) return issues.add([...path, 'to'], 'a cast needs "to": the target type');
      const t = typeFromSpec(v['to'], [...path, 'to'], issues);
      return child === null || t === null ? null : exprs.cast(child, t);
    }
    case 'as': {
      const name = v['as'];
      if (typeof name !== 'string' || name === '') return issues.add([...path, 'as'], `expected a column name, got ${describe(name)}`);
      if (v['expr'] === undefined) return issues.add([...path, 'expr'], 'a named expression needs "expr"');
      const child = exprFromSpec(v['expr'], [...path, 'expr'], issues);
      return child === null ? null : exprs.alias(child, name);
    }
    case 'fn': {
      const fn = v['fn'];
      if (typeof fn !== 'string' || !(CALL_FNS as readonly string[]).includes(fn)) {
        const aggHint = typeof fn === 'string' && (AGG_FNS as readonly string[]).includes(fn) ? ` (${fn} is an aggregate: { "agg": "${fn}", "args": [...] })` : '';
        return issues.add([...path, 'fn'], `unknown function ${JSON.stringify(fn)}${aggHint}; known: ${CALL_FNS.join(', ')}`);
      }
      const a = args(0);
      const o = v['options'] === undefined ? undefined : callOptionsFromSpec(v['options'], [...path, 'options'], issues);
      if (a === null || o === null) return null;
      return exprs.call(fn as CallFn, a, o);
    }
    case 'agg': {
      let fn = v['agg'];
      if (fn === 'mean') fn = 'avg';
      if (typeof fn !== 'string' || !(AGG_FNS as readonly string[]).includes(fn)) {
        return issues.add([...path, 'agg'], `unknown aggregate ${JSON.stringify(fn)}; known: ${AGG_FNS.join(', ')}`);
      }
      const a = args(fn === 'count' ? 0 : 1, 1);
      if (a === null) return null;
      return exprs.agg(fn as AggFn, a[0] ?? null);
    }
    case 'window':
      return windowFromSpec(v['window'], [...path, 'window'], issues);
    case 'sessionWindow':
      return sessionWindowFromSpec(v['sessionWindow'], [...path, 'sessionWindow'], issues);
    case 'interval': {
      const ms = durationFromSpec(v['interval'], [...path, 'interval'], issues);
      return ms === null ? null : exprs.call('interval', [], { ms });
    }
  }
  return issues.add(path, 'not an expression');
}

function strictFields(v: unknown, path: SpecPath, issues: IssueSink, required: readonly string[], optional: readonly string[]): Record<string, unknown> | null {
  if (!isPlainObject(v)) return issues.add(path, `expected an object with ${required.map((k) => `"${k}"`).join(', ')}, got ${describe(v)}`);
  let ok = true;
  for (const k of Object.keys(v)) {
    if (!required.includes(k) && !optional.includes(k)) {
      issues.add([...path, k], `unknown field; known fields: ${[...required, ...optional].join(', ')}`);
      ok = false;
    }
  }
  for (const k of required) {
    if (v[k] === undefined) {
      issues.add([...path, k], 'required');
      ok = false;
    }
  }
  return ok ? v : null;
}

/** A tumbling/sliding window expression (Spark's rules on size, slide and start are checked here). */
export function windowFromSpec(v: unknown, path: SpecPath, issues: IssueSink): Expr | null {
  const o = strictFields(v, path, issues, ['column', 'size'], ['slide', 'startTime']);
  if (o === null) return null;
  const time = exprFromSpec(o['column'], [...path, 'column'], issues);
  const size = durationFromSpec(o['size'], [...path, 'size'], issues, { positive: true });
  const slide = o['slide'] === undefined ? size : durationFromSpec(o['slide'], [...path, 'slide'], issues, { positive: true });
  const start = o['startTime'] === undefined ? 0 : durationFromSpec(o['startTime'], [...path, 'startTime'], issues);
  if (time === null || size === null || slide === null || start === null) return null;
  if (slide > size) return issues.add([...path, 'slide'], `the slide (${formatDuration(slide)}) must not be longer than the window size (${formatDuration(size)})`);
  if (Math.abs(start) >= slide) return issues.add([...path, 'startTime'], `the start time must be shorter than the slide (${formatDuration(slide)})`);
  return exprs.window(time, size, slide, start);
}

/** A session window expression. */
export function sessionWindowFromSpec(v: unknown, path: SpecPath, issues: IssueSink): Expr | null {
  const o = strictFields(v, path, issues, ['column', 'gap'], []);
  if (o === null) return null;
  const time = exprFromSpec(o['column'], [...path, 'column'], issues);
  let gap: Expr | null;
  if (isPlainObject(o['gap'])) gap = exprFromSpec(o['gap'], [...path, 'gap'], issues);
  else {
    const ms = durationFromSpec(o['gap'], [...path, 'gap'], issues, { positive: true });
    gap = ms === null ? null : exprs.literal(ms, 'long');
  }
  return time === null || gap === null ? null : exprs.sessionWindow(time, gap);
}

/** The window of a `groupBy.window` spec: `{ "type": "tumbling" | "sliding" | "session", … }`. */
export function groupWindowFromSpec(v: unknown, path: SpecPath, issues: IssueSink): Expr | null {
  if (!isPlainObject(v)) return issues.add(path, `expected a window like { "type": "tumbling", "column": "ts", "size": "5 minutes" }, got ${describe(v)}`);
  const type = v['type'];
  const { type: _t, ...rest } = v;
  void _t;
  switch (type) {
    case 'tumbling': {
      const o = strictFields(rest, path, issues, ['column', 'size'], ['startTime']);
      return o === null ? null : windowFromSpec(o, path, issues);
    }
    case 'sliding': {
      const o = strictFields(rest, path, issues, ['column', 'size', 'slide'], ['startTime']);
      return o === null ? null : windowFromSpec(o, path, issues);
    }
    case 'session':
      return sessionWindowFromSpec(rest, path, issues);
    case undefined:
      return issues.add([...path, 'type'], 'required: "tumbling", "sliding" or "session"');
    default:
      return issues.add([...path, 'type'], `unknown window type ${JSON.stringify(type)}; use "tumbling", "sliding" or "session"`);
  }
}

/** A literal's spec form. */
function literalToSpec(value: unknown, type: DataType | null, path: string): ExprSpec {
  const t = type === null ? undefined : typeToSpec(type);
  if (value instanceof Date) return { lit: value.toISOString(), type: t ?? 'timestamp' };
  if (typeof value === 'bigint') return { lit: value.toString(), type: t ?? 'long' };
  if (value === undefined) value = null;
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new SpecError([{ path: [path], message: `the literal ${value} has no JSON form` }]);
  }
  if (value !== null && typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw new SpecError([{ path: [path], message: `a literal of JavaScript type ${typeof value} has no JSON form` }]);
  }
  if (t === undefined && typeof value !== 'string') return value;
  return t === undefined ? { lit: value } : { lit: value, type: t };
}

/**
 * The spec form of an expression: the inverse of `exprFromSpec` (`exprFromSpec(exprToSpec(e))` rebuilds `e`).
 *
 * @example
 * exprToSpec(col('amount').gt(0).expr); // { op: '>', args: ['amount', 0] }
 */
export function exprToSpec(e: Expr, where = 'expression'): ExprSpec {
  switch (e.kind) {
    case 'column':
      return e.name;
    case 'literal':
      return literalToSpec(e.value, e.type, where);
    case 'binary':
      return { op: e.op, args: [exprToSpec(e.left, where), exprToSpec(e.right, where)] };
    case 'unary':
      return { op: e.op, args: [exprToSpec(e.child, where)] };
    case 'cast':
      return { cast: exprToSpec(e.child, where), to: typeToSpec(e.to) };
    case 'alias':
      return { as: e.name, expr: exprToSpec(e.child, where) };
    case 'agg':
      return { agg: e.fn, args: e.child === null ? [] : [exprToSpec(e.child, where)] };
    case 'window': {
      const w: { column: ExprSpec; size: string; slide?: string; startTime?: string } = { column: exprToSpec(e.time, where), size: formatDuration(e.sizeMs) };
      if (e.slideMs !== e.sizeMs) w.slide = formatDuration(e.slideMs);
      if (e.startMs !== 0) w.startTime = formatDuration(e.startMs);
      return { window: w };
    }
    case 'sessionWindow':
      return { sessionWindow: { column: exprToSpec(e.time, where), gap: gapToSpec(e.gap, where) } };
    case 'call': {
      if (e.fn === 'interval' && e.args.length === 0 && e.options && Object.keys(e.options).length === 1 && typeof e.options['ms'] === 'number' && e.options['ms'] >= 0) {
        return { interval: formatDuration(e.options['ms']) };
      }
      const out: { fn: string; args: ExprSpec[]; options?: Record<string, unknown> } = { fn: e.fn, args: e.args.map((a) => exprToSpec(a, where)) };
      if (e.options) out.options = callOptionsToSpec(e.options);
      return out;
    }
  }
}

function gapToSpec(gap: Expr, where: string): SessionWindowExprSpec['gap'] {
  if (gap.kind === 'literal' && gap.type === 'long' && typeof gap.value === 'number') return formatDuration(gap.value);
  const s = exprToSpec(gap, where);
  if (typeof s === 'object' && s !== null) return s as Exclude<ExprSpec, string | number | boolean | null>;
  return { col: String(s) };
}

function callOptionsToSpec(o: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    out[k] = k === 'schema' && typeof v === 'object' && v !== null && Array.isArray((v as Schema).fields) ? schemaToSpec(v as Schema) : v;
  }
  return out;
}

/** The window of an expression's `groupBy.window` form, or null when it has none. */
export function groupWindowToSpec(e: Expr, where = 'groupBy'): Record<string, unknown> | null {
  if (e.kind === 'window') {
    const w = exprToSpec(e, where) as { window: WindowExprSpec };
    return { type: e.slideMs === e.sizeMs ? 'tumbling' : 'sliding', ...w.window };
  }
  if (e.kind === 'sessionWindow') {
    const w = exprToSpec(e, where) as { sessionWindow: SessionWindowExprSpec };
    return { type: 'session', ...w.sessionWindow };
  }
  return null;
}
