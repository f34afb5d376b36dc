/**
 * The pipeline spec: a query as JSON (source → steps → watermark → groupBy/aggregations → output steps → sink), with
 * its trigger and checkpoint. The CLI runs it; `df.toSpec()` prints one. Validated with zod; every issue names the
 * path of the field (`groupBy.window.size: Cannot read the duration '5 minuts' …`). Format: `engine/spec/README.md`.
 *
 * @example
 * const spec = parsePipelineSpec(JSON.parse(text), 'sales.json');
 * const df = dataFrameFromSpec(spec, session);
 *
 * @module
 */
import { z } from 'zod';
import { exprs, type Expr } from '../logical/expr.js';
import { parseJoinType, type JoinType } from '../logical/join-type.js';
import type { Schema } from '../types/data-type.js';
import {
  durationFromSpec,
  exprFromSpec,
  groupWindowFromSpec,
  IssueSink,
  schemaFromSpec,
  SpecError,
  type DurationSpec,
  type ExprSpec,
  type SchemaJson,
  type SpecIssue,
  type SpecPath,
} from './expr-spec.js';

/** Where rows come from: a registered format, its options, and for Kafka how to decode `value`. */
export interface SourceSpec {
  /** Any registered format: `jsonl`, `csv`, `parquet`, `arrow`, `delta`, `kafka`, … */
  readonly format: string;
  /** Files, folder or glob (file formats), table folder (delta). */
  readonly path?: string;
  /** Format options, as `.option(key, value)` takes them. */
  readonly options?: Readonly<Record<string, string | number | boolean>>;
  /** The input schema (file formats; inferred when absent). */
  readonly schema?: SchemaJson;
  /** Decodes the binary `value` column (Kafka): `fromJson(col('value').cast('string'), schema)` then `select('e.*')`. */
  readonly value?: ValueSpec;
  /**
   * Read as a table (`session.read`: once per run) even when the query streams: the static side of a stream–static
   * join. Without it a source is read as the query runs (`session.readStream`, or `session.read` in batch mode).
   */
  readonly static?: boolean;
}

/** How `value` is decoded. */
export interface ValueSpec {
  readonly format: 'json' | 'csv';
  readonly schema: SchemaJson;
  readonly mode?: 'permissive' | 'dropMalformed' | 'failFast';
  /** CSV only. */
  readonly delimiter?: string;
}

/** One transformation. Exactly one key. */
export type StepSpec =
  | { readonly filter: ExprSpec }
  | { readonly select: readonly ExprSpec[] }
  | { readonly withColumn: Readonly<Record<string, ExprSpec>> }
  | { readonly drop: readonly string[] }
  | { readonly withColumnRenamed: Readonly<Record<string, string>> }
  | { readonly watermark: WatermarkSpec }
  | { readonly dropDuplicates: readonly string[] | null }
  | { readonly dropDuplicatesWithinWatermark: readonly string[] | null }
  | { readonly transformWithState: TransformWithStateStepSpec }
  | { readonly alias: string }
  | { readonly join: JoinStepSpec };

/**
 * The other input of a join: a source and its own steps, read as the main input is (a stream, or with
 * `source.static` a table), then `watermark`, then `alias`.
 */
export interface JoinInputSpec {
  readonly source: SourceSpec;
  readonly steps?: readonly StepSpec[];
  readonly watermark?: WatermarkSpec;
  /** `alias(name)` of this input, so that conditions can name `r.id`. */
  readonly alias?: string;
}

/**
 * `join(other, on, how)`: `on` is a using column (`"id"`), a list of them (`["a", "b"]`), or a condition (an
 * expression object); absent, every pair matches. `how` is any of Spark's join type names (default `inner`).
 */
export interface JoinStepSpec {
  readonly with: JoinInputSpec;
  readonly on?: string | readonly string[] | Exclude<ExprSpec, string>;
  readonly how?: string;
}

/**
 * `groupByKey(...).transformWithState(processor, options)`: the processor named by its module (a path relative to
 * the spec file, or a URL) and export.
 */
export interface TransformWithStateStepSpec {
  readonly groupByKey: readonly string[];
  readonly processor: { readonly module: string; readonly export?: string };
  readonly outputSchema: SchemaJson;
  readonly timeMode?: 'none' | 'processingTime' | 'eventTime';
  readonly outputMode?: 'append' | 'update';
  readonly eventTimeColumnName?: string;
}

/** `withWatermark(column, delay)`. */
export interface WatermarkSpec {
  readonly column: string;
  readonly delay: DurationSpec;
}

/** `groupBy.window`: the event-time window, first of the grouping keys. */
export type GroupWindowSpec =
  | { readonly type: 'tumbling'; readonly column: ExprSpec; readonly size: DurationSpec; readonly startTime?: DurationSpec }
  | { readonly type: 'sliding'; readonly column: ExprSpec; readonly size: DurationSpec; readonly slide: DurationSpec; readonly startTime?: DurationSpec }
  | { readonly type: 'session'; readonly column: ExprSpec; readonly gap: DurationSpec | Exclude<ExprSpec, string | number | boolean | null> };

export interface GroupBySpec {
  readonly window?: GroupWindowSpec;
  readonly keys?: readonly ExprSpec[];
}

/** `{ "fn": "sum", "column": "amount", "as": "total" }` or `{ "expr": E, "as": "x" }`. */
export type AggregationSpec =
  | { readonly fn: string; readonly column?: ExprSpec; readonly as?: string }
  | { readonly expr: ExprSpec; readonly as?: string };

export interface SinkSpec {
  /** Any format with a streaming sink (and, for `sluice batch`, a batch writer). */
  readonly format: string;
  readonly path?: string;
  readonly partitionBy?: readonly string[];
  readonly options?: Readonly<Record<string, string | number | boolean>>;
  /** The query's name (the memory sink's table); default the spec's `name`. */
  readonly queryName?: string;
}

export type TriggerSpec = { readonly processingTime: DurationSpec } | { readonly once: true } | { readonly availableNow: true };

/** A pipeline spec. Only `source` is required; the CLI commands say which other fields they need. */
export interface PipelineSpec {
  readonly name?: string;
  readonly description?: string;
  readonly source: SourceSpec;
  /** Before the aggregation, in order. */
  readonly steps?: readonly StepSpec[];
  /** Applied after `steps`, just before `groupBy`. */
  readonly watermark?: WatermarkSpec;
  readonly groupBy?: GroupBySpec;
  readonly aggregations?: readonly AggregationSpec[];
  /** After the aggregation, in order (e.g. a partition column derived from the window). */
  readonly outputSteps?: readonly StepSpec[];
  readonly outputMode?: 'append' | 'update' | 'complete';
  readonly sink?: SinkSpec;
  readonly checkpoint?: string;
  readonly trigger?: TriggerSpec;
}

/** A step with its expressions parsed. */
export type ResolvedStep =
  | { readonly kind: 'filter'; readonly condition: Expr }
  | { readonly kind: 'select'; readonly exprs: readonly Expr[] }
  | { readonly kind: 'withColumn'; readonly columns: readonly (readonly [string, Expr])[] }
  | { readonly kind: 'drop'; readonly columns: readonly string[] }
  | { readonly kind: 'withColumnRenamed'; readonly renames: readonly (readonly [string, string])[] }
  | { readonly kind: 'watermark'; readonly column: string; readonly delayMs: number }
  | { readonly kind: 'dropDuplicates'; readonly columns: readonly string[] | null; readonly withinWatermark: boolean }
  | {
      readonly kind: 'transformWithState';
      readonly keys: readonly string[];
      readonly module: string;
      readonly export: string;
      readonly outputSchema: Schema;
      readonly timeMode: 'none' | 'processingTime' | 'eventTime' | undefined;
      readonly outputMode: 'append' | 'update' | undefined;
      readonly eventTimeColumnName: string | undefined;
    }
  | { readonly kind: 'alias'; readonly name: string }
  | {
      readonly kind: 'join';
      /** The other input, validated (its steps are parsed again when it is built, with their own paths). */
      readonly input: JoinInputSpec;
      readonly joinType: JoinType;
      readonly using: readonly string[] | null;
      readonly condition: Expr | null;
    };

/** A trigger as the engine takes it. */
export type ResolvedTrigger = { readonly processingTime: number } | { readonly once: true } | { readonly availableNow: true };

const STEP_KINDS = [
  'filter',
  'select',
  'withColumn',
  'drop',
  'withColumnRenamed',
  'watermark',
  'dropDuplicates',
  'dropDuplicatesWithinWatermark',
  'transformWithState',
  'alias',
  'join',
] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nameList(v: unknown, path: SpecPath, issues: IssueSink, allowNull: boolean): string[] | null | undefined {
  if (v === null && allowNull) return null;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x !== '')) {
    issues.add(path, `expected an array of column names${allowNull ? ' (or null for every column)' : ''}`);
    return undefined;
  }
  return v as string[];
}

/**
 * Parses one step; problems go to `issues` (null is returned).
 *
 * @example
 * parseStep({ filter: { op: '>', args: ['amount', 0] } }, ['steps', 0], issues); // { kind: 'filter', condition: … }
 */
export function parseStep(v: unknown, path: SpecPath, issues: IssueSink): ResolvedStep | null {
  if (!isObject(v)) return issues.add(path, `expected a step object with one of the keys ${STEP_KINDS.join(', ')}`);
  const keys = Object.keys(v);
  if (keys.length !== 1 || !(STEP_KINDS as readonly string[]).includes(keys[0]!)) {
    const bad = keys.find((k) => !(STEP_KINDS as readonly string[]).includes(k));
    return issues.add(
      bad !== undefined ? [...path, bad] : path,
      bad !== undefined ? `unknown step; a step is one of ${STEP_KINDS.join(', ')}` : `a step has exactly one key, got ${keys.length === 0 ? 'none' : keys.join(', ')}`,
    );
  }
  const kind = keys[0] as (typeof STEP_KINDS)[number];
  const body = v[kind];
  const p = [...path, kind];
  switch (kind) {
    case 'filter': {
      const e = exprFromSpec(body, p, issues);
      return e === null ? null : { kind, condition: e };
    }
    case 'select': {
      if (!Array.isArray(body) || body.length === 0) return issues.add(p, 'expected a non-empty array of expressions');
      const out: Expr[] = [];
      let ok = true;
      body.forEach((x, i) => {
        const e = exprFromSpec(x, [...p, i], issues);
        if (e === null) ok = false;
        else out.push(e);
      });
      return ok ? { kind, exprs: out } : null;
    }
    case 'withColumn': {
      if (!isObject(body) || Object.keys(body).length === 0) return issues.add(p, 'expected an object { "name": expression, … }');
      const cols: [string, Expr][] = [];
      let ok = true;
      for (const [name, x] of Object.entries(body)) {
        const e = exprFromSpec(x, [...p, name], issues);
        if (e === null) ok = false;
        else cols.push([name, e]);
      }
      return ok ? { kind, columns: cols } : null;
    }
    case 'drop': {
      const l = nameList(body, p, issues, false);
      return l ? { kind, columns: l } : null;
    }
    case 'withColumnRenamed': {
      if (!isObject(body) || !Object.values(body).every((x) => typeof x === 'string' && x !== '')) {
        return issues.add(p, 'expected an object { "old name": "new name", … }');
      }
      return { kind, renames: Object.entries(body as Record<string, string>) };
    }
    case 'watermark': {
      const w = watermarkFromSpec(body, p, issues);
      return w === null ? null : { kind, ...w };
    }
    case 'dropDuplicates':
    case 'dropDuplicatesWithinWatermark': {
      const l = nameList(body, p, issues, true);
      return l === undefined ? null : { kind: 'dropDuplicates', columns: l, withinWatermark: kind === 'dropDuplicatesWithinWatermark' };
    }
    case 'transformWithState':
      return transformWithStateFromSpec(body, p, issues);
    case 'alias': {
      const name = aliasFromSpec(body, p, issues);
      return name === null ? null : { kind, name };
    }
    case 'join':
      return joinFromSpec(body, p, issues);
  }
}

/** An alias: a non-empty name without dots (`col('l.id')` reads `l` as the alias). */
function aliasFromSpec(v: unknown, p: SpecPath, issues: IssueSink): string | null {
  if (typeof v !== 'string' || v === '' || v.includes('.')) return issues.add(p, 'expected a name without dots, e.g. "o" (then "o.id" names its id column)');
  return v;
}

const JOIN_FIELDS = ['with', 'on', 'how'];
const JOIN_INPUT_FIELDS = ['source', 'steps', 'watermark', 'alias'];
const JOIN_USAGE = '{ "with": { "source": { … }, "steps"?: [ … ], "watermark"?: { … }, "alias"?: "r" }, "on": "id" | ["a", "b"] | { "op": "=", … }, "how"?: "leftOuter" }';

/**
 * `{ "with": { "source": {…}, "steps"?, "watermark"?, "alias"? }, "on"?: …, "how"?: … }`: every problem of the step
 * and of its input (source, steps, watermark) is reported at its path.
 */
function joinFromSpec(v: unknown, p: SpecPath, issues: IssueSink): ResolvedStep | null {
  if (!isObject(v)) return issues.add(p, `expected ${JOIN_USAGE}`);
  let ok = true;
  for (const k of Object.keys(v)) {
    if (!JOIN_FIELDS.includes(k)) {
      issues.add([...p, k], `unknown field; known fields: ${JOIN_FIELDS.join(', ')}`);
      ok = false;
    }
  }
  const input = v['with'] === undefined ? issues.add([...p, 'with'], 'required: the other input, { "source": { "format": …, "path": … }, "alias"?: "r" }') : joinInputFromSpec(v['with'], [...p, 'with'], issues);
  let joinType: JoinType = 'inner';
  const how = v['how'];
  if (how !== undefined) {
    if (typeof how !== 'string') {
      issues.add([...p, 'how'], 'expected a join type: inner, leftOuter, rightOuter, fullOuter, leftSemi, leftAnti or cross');
      ok = false;
    } else {
      try {
        joinType = parseJoinType(how);
      } catch (e) {
        issues.add([...p, 'how'], (e as Error).message);
        ok = false;
      }
    }
  }
  const on = v['on'];
  let using: string[] | null = null;
  let condition: Expr | null = null;
  if (typeof on === 'string' || Array.isArray(on)) {
    const names = typeof on === 'string' ? [on] : on;
    if (names.length === 0 || !names.every((x) => typeof x === 'string' && x !== '')) {
      issues.add([...p, 'on'], 'expected a using column ("id"), a non-empty list of them (["a", "b"]), or a condition ({ "op": "=", "args": ["o.id", "p.orderId"] })');
      ok = false;
    } else using = names as string[];
  } else if (on !== undefined) {
    condition = exprFromSpec(on, [...p, 'on'], issues);
    if (condition === null) ok = false;
  }
  if (!ok || input === null) return null;
  return { kind: 'join', input, joinType, using, condition };
}

/** The other input of a join step, validated like the spec's own source, steps and watermark. */
function joinInputFromSpec(v: unknown, p: SpecPath, issues: IssueSink): JoinInputSpec | null {
  if (!isObject(v)) return issues.add(p, 'expected the other input: { "source": { "format": …, "path": … }, "steps"?: [ … ], "watermark"?: { … }, "alias"?: "r" }');
  const before = issues.issues.length;
  for (const k of Object.keys(v)) if (!JOIN_INPUT_FIELDS.includes(k)) issues.add([...p, k], `unknown field; known fields: ${JOIN_INPUT_FIELDS.join(', ')}`);
  if (v['source'] === undefined) issues.add([...p, 'source'], 'required, e.g. { "format": "parquet", "path": "ref/customers", "static": true }');
  else {
    const r = sourceSchema.safeParse(v['source']);
    if (!r.success) for (const i of issuesFromZod(r.error, sourceSchema)) issues.add([...p, 'source', ...i.path], i.message);
    else sourceIssues(v['source'] as SourceSpec, [...p, 'source'], issues);
  }
  const steps = v['steps'];
  if (steps !== undefined) {
    if (!Array.isArray(steps)) issues.add([...p, 'steps'], 'expected an array of steps');
    else steps.forEach((s, i) => parseStep(s, [...p, 'steps', i], issues));
  }
  if (v['watermark'] !== undefined) watermarkFromSpec(v['watermark'], [...p, 'watermark'], issues);
  if (v['alias'] !== undefined) aliasFromSpec(v['alias'], [...p, 'alias'], issues);
  return issues.issues.length === before ? (v as unknown as JoinInputSpec) : null;
}

const TWS_FIELDS = ['groupByKey', 'processor', 'outputSchema', 'timeMode', 'outputMode', 'eventTimeColumnName'];

/** `{ "groupByKey": ["user"], "processor": { "module": "./detector.js", "export": "Detector" }, "outputSchema": {…}, … }`. */
function transformWithStateFromSpec(v: unknown, p: SpecPath, issues: IssueSink): ResolvedStep | null {
  if (!isObject(v)) return issues.add(p, 'expected { "groupByKey": ["col"], "processor": { "module": "./file.js", "export": "Name" }, "outputSchema": { … } }');
  let ok = true;
  for (const k of Object.keys(v)) {
    if (!TWS_FIELDS.includes(k)) {
      issues.add([...p, k], `unknown field; known fields: ${TWS_FIELDS.join(', ')}`);
      ok = false;
    }
  }
  const keys = v['groupByKey'] === undefined ? issues.add([...p, 'groupByKey'], 'required, e.g. ["user"]') : nameList(v['groupByKey'], [...p, 'groupByKey'], issues, false);
  const proc = v['processor'];
  let module: string | null = null;
  let exportName = 'default';
  if (!isObject(proc) || typeof proc['module'] !== 'string' || proc['module'] === '') {
    issues.add([...p, 'processor'], proc === undefined ? 'required: { "module": "./file.js", "export": "Name" }' : 'expected { "module": "./file.js", "export": "Name" }');
    ok = false;
  } else {
    module = proc['module'];
    for (const k of Object.keys(proc)) if (k !== 'module' && k !== 'export') issues.add([...p, 'processor', k], 'unknown field; known fields: module, export');
    if (proc['export'] !== undefined) {
      if (typeof proc['export'] !== 'string' || proc['export'] === '') issues.add([...p, 'processor', 'export'], 'expected the exported class name');
      else exportName = proc['export'];
    }
  }
  const outputSchema = v['outputSchema'] === undefined ? issues.add([...p, 'outputSchema'], 'required, e.g. { "user": "string", "at": "timestamp" }') : schemaFromSpec(v['outputSchema'], [...p, 'outputSchema'], issues);
  const pick = <T extends string>(name: string, allowed: readonly T[]): T | undefined => {
    const x = v[name];
    if (x === undefined) return undefined;
    if (typeof x !== 'string' || !(allowed as readonly string[]).includes(x)) {
      issues.add([...p, name], `expected one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
      ok = false;
      return undefined;
    }
    return x as T;
  };
  const timeMode = pick('timeMode', ['none', 'processingTime', 'eventTime'] as const);
  const outputMode = pick('outputMode', ['append', 'update'] as const);
  const et = v['eventTimeColumnName'];
  if (et !== undefined && (typeof et !== 'string' || et === '')) {
    issues.add([...p, 'eventTimeColumnName'], 'expected a column name of the outputSchema');
    ok = false;
  }
  if (!ok || !keys || module === null || !outputSchema) return null;
  return { kind: 'transformWithState', keys, module, export: exportName, outputSchema, timeMode, outputMode, eventTimeColumnName: et as string | undefined };
}

/** `{ "column": "ts", "delay": "10 minutes" }`. */
export function watermarkFromSpec(v: unknown, path: SpecPath, issues: IssueSink): { column: string; delayMs: number } | null {
  if (!isObject(v)) return issues.add(path, 'expected { "column": "<event time column>", "delay": "10 minutes" }');
  for (const k of Object.keys(v)) if (k !== 'column' && k !== 'delay') issues.add([...path, k], 'unknown field; known fields: column, delay');
  const column = v['column'];
  if (typeof column !== 'string' || column === '') issues.add([...path, 'column'], column === undefined ? 'required' : 'expected a column name');
  const delay = v['delay'] === undefined ? issues.add([...path, 'delay'], 'required') : durationFromSpec(v['delay'], [...path, 'delay'], issues);
  return typeof column === 'string' && column !== '' && delay !== null ? { column, delayMs: delay } : null;
}

/**
 * Parses an aggregation: `{ fn, column?, as? }` or `{ expr, as? }`.
 *
 * @example
 * parseAggregation({ fn: 'sum', column: 'amount', as: 'total' }, ['aggregations', 1], issues);
 */
export function parseAggregation(v: unknown, path: SpecPath, issues: IssueSink): Expr | null {
  if (!isObject(v)) return issues.add(path, 'expected { "fn": "count" | "sum" | …, "column"?: …, "as"?: "name" } or { "expr": …, "as"?: "name" }');
  const allowed = 'expr' in v ? ['expr', 'as'] : ['fn', 'column', 'as'];
  let ok = true;
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) {
      issues.add([...path, k], `unknown field; known fields: ${allowed.join(', ')}`);
      ok = false;
    }
  }
  const as = v['as'];
  if (as !== undefined && (typeof as !== 'string' || as === '')) {
    issues.add([...path, 'as'], 'expected a column name');
    ok = false;
  }
  let e: Expr | null;
  if ('expr' in v) e = exprFromSpec(v['expr'], [...path, 'expr'], issues);
  else {
    if (v['fn'] === undefined) return issues.add([...path, 'fn'], 'required: count, countDistinct, sum, avg, min, max, first or last');
    const args = v['column'] === undefined ? [] : [v['column']];
    if (v['fn'] !== 'count' && args.length === 0 && typeof v['fn'] === 'string') return issues.add([...path, 'column'], `${v['fn']} needs a column`);
    const sub = new IssueSink();
    e = exprFromSpec({ agg: v['fn'], args }, path, sub);
    for (const i of sub.issues) {
      // Report against the field the user wrote: `fn` / `column`, not the internal `agg` / `args[0]` form.
      const rest = i.path.slice(path.length);
      const mapped = rest[0] === 'agg' ? [...path, 'fn'] : rest[0] === 'args' ? [...path, 'column', ...rest.slice(2)] : i.path;
      issues.add(mapped, i.message.replace(/^unknown aggregate/, 'unknown aggregate function'));
    }
  }
  if (!ok || e === null) return null;
  return typeof as === 'string' ? exprs.alias(e, as) : e;
}

/** `{ "processingTime": "1 second" }`, `{ "once": true }` or `{ "availableNow": true }`. */
export function parseTrigger(v: unknown, path: SpecPath, issues: IssueSink): ResolvedTrigger | null {
  const usage = 'expected { "processingTime": "1 second" }, { "once": true } or { "availableNow": true }';
  if (!isObject(v) || Object.keys(v).length !== 1) return issues.add(path, usage);
  const [k, x] = Object.entries(v)[0]!;
  if (k === 'processingTime') {
    const ms = durationFromSpec(x, [...path, k], issues);
    return ms === null ? null : { processingTime: ms };
  }
  if (k === 'once' || k === 'availableNow') {
    if (x !== true) return issues.add([...path, k], 'must be true');
    return k === 'once' ? { once: true } : { availableNow: true };
  }
  return issues.add([...path, k], `unknown trigger; ${usage}`);
}

/** A zod schema that runs one of the hand-written checks above and reports its issues at their paths. */
function checked(check: (v: unknown, path: SpecPath, issues: IssueSink) => unknown): z.ZodType<unknown> {
  return z.unknown().superRefine((v, ctx) => {
    if (v === undefined) return;
    const sink = new IssueSink();
    check(v, [], sink);
    for (const i of sink.issues) ctx.addIssue({ code: 'custom', message: i.message, path: [...i.path] });
  });
}

const optionValue = z.union([z.string(), z.number(), z.boolean()]);

const sourceSchema = z.strictObject({
  format: z.string().min(1),
  path: z.string().min(1).optional(),
  options: z.record(z.string(), optionValue).optional(),
  schema: checked(schemaFromSpec).optional(),
  static: z.boolean().optional(),
  value: z
    .strictObject({
      format: z.enum(['json', 'csv']),
      schema: checked(schemaFromSpec),
      mode: z.enum(['permissive', 'dropMalformed', 'failFast']).optional(),
      delimiter: z.string().min(1).optional(),
    })
    .optional(),
});

const sinkSchema = z.strictObject({
  format: z.string().min(1),
  path: z.string().min(1).optional(),
  partitionBy: z.array(z.string().min(1)).optional(),
  options: z.record(z.string(), optionValue).optional(),
  queryName: z.string().min(1).optional(),
});

/** The zod schema of a pipeline spec (structure; expressions are checked by `exprFromSpec`). */
export const pipelineSpecSchema = z.strictObject({
  name: z.string().min(1).optional(),
  description: z.string().optional(),
  source: sourceSchema,
  steps: z.array(checked(parseStep)).optional(),
  watermark: checked(watermarkFromSpec).optional(),
  groupBy: z
    .strictObject({
      window: checked(groupWindowFromSpec).optional(),
      keys: z.array(checked(exprFromSpec)).optional(),
    })
    .optional(),
  aggregations: z.array(checked(parseAggregation)).min(1).optional(),
  outputSteps: z.array(checked(parseStep)).optional(),
  outputMode: z.enum(['append', 'update', 'complete']).optional(),
  sink: sinkSchema.optional(),
  checkpoint: z.string().min(1).optional(),
  trigger: checked(parseTrigger).optional(),
});

/** The known fields of the object at `path` in a zod schema, for "unknown field" messages. */
function knownFields(root: z.ZodType<unknown>, path: readonly PropertyKey[]): string[] | null {
  let s: unknown = root;
  const unwrap = (x: unknown): unknown => {
    for (;;) {
      const o = x as { unwrap?: () => unknown; element?: unknown; def?: { type?: string } };
      if (o.def?.type === 'optional' && o.unwrap) x = o.unwrap();
      else return x;
    }
  };
  for (const p of path) {
    s = unwrap(s);
    if (typeof p === 'number') s = (s as { element?: unknown }).element;
    else s = (s as { shape?: Record<string, unknown> }).shape?.[String(p)];
    if (s === undefined) return null;
  }
  const shape = (unwrap(s) as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : null;
}

function issuesFromZod(error: z.ZodError, root: z.ZodType<unknown> = pipelineSpecSchema): SpecIssue[] {
  const out: SpecIssue[] = [];
  for (const i of error.issues) {
    const path = i.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (i.code === 'unrecognized_keys') {
      const known = knownFields(root, path);
      for (const k of i.keys) out.push({ path: [...path, k], message: `unknown field${known ? `; known fields: ${known.join(', ')}` : ''}` });
    } else if (i.code === 'invalid_type' && i.message.endsWith('received undefined')) {
      out.push({ path, message: 'required' });
    } else out.push({ path, message: i.message });
  }
  return out;
}

/** Checks across fields that zod's per-field schemas cannot see. */
function crossFieldIssues(spec: PipelineSpec, issues: IssueSink): void {
  if (spec.groupBy && !spec.aggregations) issues.add(['aggregations'], 'groupBy needs aggregations, e.g. [{ "fn": "count", "as": "n" }]');
  if (spec.outputSteps && !spec.aggregations) {
    issues.add(['outputSteps'], 'outputSteps come after the aggregation; without aggregations put them in "steps"');
  }
  sourceIssues(spec.source, ['source'], issues);
}

/** Checks across the fields of a source (the spec's, or a join input's at `path`). */
function sourceIssues(source: SourceSpec, path: SpecPath, issues: IssueSink): void {
  if (source.value && source.schema) issues.add([...path, 'schema'], 'a source with "value" decoding has the fixed schema of its format; give the schema in "value.schema"');
  if (source.value?.delimiter !== undefined && source.value.format !== 'csv') issues.add([...path, 'value', 'delimiter'], 'only for "format": "csv"');
}

/**
 * Validates a parsed JSON value as a pipeline spec; throws a `SpecError` listing every problem with its path.
 *
 * @example
 * const spec = parsePipelineSpec(JSON.parse(readFileSync('sales.json', 'utf8')), 'sales.json');
 */
export function parsePipelineSpec(json: unknown, source: string | null = null): PipelineSpec {
  const r = pipelineSpecSchema.safeParse(json);
  if (!r.success) throw new SpecError(issuesFromZod(r.error), source);
  const spec = json as PipelineSpec;
  const issues = new IssueSink();
  crossFieldIssues(spec, issues);
  issues.throwIfAny(source);
  return spec;
}

/**
 * Parses spec text (JSON); a syntax error names the line and column.
 *
 * @example
 * const spec = parsePipelineSpecText(readFileSync('sales.json', 'utf8'), 'sales.json');
 */
export function parsePipelineSpecText(text: string, source: string | null = null): PipelineSpec {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const m = /position (\d+)/.exec(msg);
    let where = '';
    if (m) {
      const pos = Number(m[1]);
      const before = text.slice(0, pos);
      const line = before.split('\n').length;
      where = ` at line ${line}, column ${pos - before.lastIndexOf('\n')}`;
    }
    throw new SpecError([{ path: [], message: `not valid JSON${where}: ${msg}` }], source);
  }
  return parsePipelineSpec(json, source);
}

/** The trigger of a spec, parsed (default: batches back to back). */
export function triggerOf(spec: PipelineSpec): ResolvedTrigger {
  if (!spec.trigger) return { processingTime: 0 };
  const issues = new IssueSink();
  const t = parseTrigger(spec.trigger, ['trigger'], issues);
  issues.throwIfAny();
  return t!;
}

