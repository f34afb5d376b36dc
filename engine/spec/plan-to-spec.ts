/**
 * Logical plan → pipeline spec (`df.toSpec()`): the inverse of `dataFrameFromSpec`. The plan must be a chain from one
 * source (a format read by `session.readStream` or a file read by `session.read`) through filters, projections,
 * watermarks, dedup, aliases, joins (whose other input is such a chain, without aggregation: a `join` step's `with`)
 * and at most one aggregation. The result is the canonical spec: `dataFrameFromSpec(toSpec(df))`
 * builds the same plan, and `toSpec` of that plan is the same spec again.
 *
 * Canonical choices: a `fromJson(col('value').cast('string'), s).as('e')` + `select('e.*')` right above the source
 * becomes `source.value`; a watermark right before the aggregation (or, without one, last) becomes the top-level
 * `watermark`; a window that is the first grouping key becomes `groupBy.window`; consecutive `withColumn`s merge into
 * one step; durations are written as `formatDuration` prints them (`"5 minutes"`).
 *
 * @module
 */
import { analyze } from '../logical/analyzer.js';
import type { Expr } from '../logical/expr.js';
import { isStreamingPlan, type AggregateNode, type JoinNode, type LogicalPlan } from '../logical/plan.js';
import { formatDuration } from '../types/duration.js';
import type { Schema } from '../types/data-type.js';
import { exprToSpec, groupWindowToSpec, schemaToSpec, SpecError, type ExprSpec } from './expr-spec.js';
import type {
  AggregationSpec,
  GroupBySpec,
  GroupWindowSpec,
  JoinInputSpec,
  JoinStepSpec,
  PipelineSpec,
  SinkSpec,
  SourceSpec,
  StepSpec,
  TriggerSpec,
  WatermarkSpec,
} from './pipeline-spec.js';

/** The parts of a spec a DataFrame does not know: what runs it and where it writes. */
export interface SpecExtras {
  readonly name?: string;
  readonly description?: string;
  readonly outputMode?: 'append' | 'update' | 'complete';
  readonly sink?: SinkSpec;
  readonly checkpoint?: string;
  readonly trigger?: TriggerSpec;
}

/** Formats whose rows have a fixed schema of their own: `schema` is not written for them. */
const SELF_DESCRIBED_FORMATS = new Set(['kafka', 'delta']);
const TEXT_FORMATS = new Set(['jsonl', 'json', 'csv']);
const CORRUPT_RECORD = '_corrupt_record';

function fail(message: string): never {
  throw new SpecError([{ path: [], message }]);
}

/** A file scan of `session.read` (duck-typed: the engine does not import connectors). */
interface FileScanLike {
  readonly format: { readonly name: string };
  readonly path: string;
  readonly options: Readonly<Record<string, string>>;
  readonly schema: Schema;
}

function isFileScan(x: unknown): x is FileScanLike {
  const s = x as Partial<FileScanLike> | undefined;
  return !!s && typeof s.path === 'string' && typeof s.format?.name === 'string' && typeof s.options === 'object' && Array.isArray(s.schema?.fields);
}

function sourceSpec(format: string, options: Readonly<Record<string, string>>, schema: Schema, path: string | null): SourceSpec {
  const opts: Record<string, string> = {};
  for (const [k, v] of Object.entries(options)) if (k !== 'path') opts[k] = v;
  const p = path ?? options['path'] ?? null;
  const out: { format: string; path?: string; options?: Record<string, string>; schema?: Record<string, unknown> } = { format };
  if (p !== null) out.path = p;
  if (Object.keys(opts).length > 0) out.options = opts;
  if (!SELF_DESCRIBED_FORMATS.has(format.toLowerCase())) {
    let fields = schema.fields;
    const mode = (opts['mode'] ?? 'permissive').toLowerCase();
    const last = fields[fields.length - 1];
    // The text readers add `_corrupt_record` in permissive mode; writing it would not change the plan, only the spec.
    if (TEXT_FORMATS.has(format.toLowerCase()) && mode === 'permissive' && last?.name === CORRUPT_RECORD && last.type === 'string') fields = fields.slice(0, -1);
    if (fields.length > 0) out.schema = schemaToSpec({ fields });
  }
  return out as SourceSpec;
}

/** The source of a leaf; `streaming`: whether the whole query streams (its batch reads are then `static`). */
function leafSource(leaf: LogicalPlan, streaming: boolean): SourceSpec {
  if (leaf.kind === 'streamingRelation') return sourceSpec(leaf.format, leaf.options, leaf.schema, null);
  if (leaf.kind === 'relation') {
    if (isFileScan(leaf.scan)) {
      const s = sourceSpec(leaf.scan.format.name, leaf.scan.options, leaf.scan.schema, leaf.scan.path);
      return streaming ? { ...s, static: true } : s;
    }
    fail(`the query reads ${leaf.description}, which has no spec form: a spec reads a format (session.readStream or session.read of files).`);
  }
  return fail(`unexpected leaf ${leaf.kind}`);
}

/** The value-decoding pattern right above the source, or null. */
function valueSpec(first: LogicalPlan | undefined, second: LogicalPlan | undefined): SourceSpec['value'] | null {
  if (first?.kind !== 'project' || second?.kind !== 'project') return null;
  if (first.exprs.length !== 1 || second.exprs.length !== 1) return null;
  const a = first.exprs[0]!;
  const b = second.exprs[0]!;
  if (a.kind !== 'alias' || a.name !== 'e' || b.kind !== 'column' || b.name !== 'e.*') return null;
  const call = a.child;
  if (call.kind !== 'call' || (call.fn !== 'fromJson' && call.fn !== 'fromCsv') || call.args.length !== 1) return null;
  const arg = call.args[0]!;
  if (arg.kind !== 'cast' || arg.to !== 'string' || arg.child.kind !== 'column' || arg.child.name !== 'value') return null;
  const o = call.options ?? {};
  const schema = o['schema'] as Schema | undefined;
  if (!schema) return null;
  const out: { format: 'json' | 'csv'; schema: Record<string, unknown>; mode?: string; delimiter?: string } = {
    format: call.fn === 'fromJson' ? 'json' : 'csv',
    schema: schemaToSpec(schema),
  };
  if (o['mode'] !== undefined && o['mode'] !== 'permissive') out.mode = String(o['mode']);
  if (call.fn === 'fromCsv' && o['delimiter'] !== undefined && o['delimiter'] !== ',') out.delimiter = String(o['delimiter']);
  return out as SourceSpec['value'];
}

function quoteName(name: string): string {
  return /[.`]/.test(name) ? `\`${name.replace(/`/g, '``')}\`` : name;
}

/** `withColumn(name, value)` builds exactly this projection; recognise it. */
function withColumnOf(exprs: readonly Expr[], names: readonly string[]): [string, Expr] | null {
  if (exprs.length !== names.length && exprs.length !== names.length + 1) return null;
  let found: [string, Expr] | null = null;
  for (let i = 0; i < exprs.length; i++) {
    const e = exprs[i]!;
    if (i < names.length && e.kind === 'column' && e.name === quoteName(names[i]!)) continue;
    if (e.kind !== 'alias' || found !== null) return null;
    if (i < names.length ? e.name !== names[i] : names.includes(e.name)) return null;
    found = [e.name, e.child];
  }
  return found;
}

function stepOf(node: LogicalPlan, streaming: boolean): StepSpec {
  switch (node.kind) {
    case 'subqueryAlias':
      return { alias: node.alias };
    case 'join':
      return { join: joinStepOf(node, streaming) };
    case 'filter':
      return { filter: exprToSpec(node.condition) };
    case 'project': {
      const names = analyze(node.child).schema.fields.map((f) => f.name);
      const wc = withColumnOf(node.exprs, names);
      if (wc) return { withColumn: { [wc[0]]: exprToSpec(wc[1]) } };
      return { select: node.exprs.map((e) => exprToSpec(e)) };
    }
    case 'watermark':
      return { watermark: { column: node.column, delay: formatDuration(node.delayMs) } };
    case 'deduplicate':
      return node.withinWatermark ? { dropDuplicatesWithinWatermark: node.keys ? [...node.keys] : null } : { dropDuplicates: node.keys ? [...node.keys] : null };
    case 'transformWithState': {
      const m = node.processor.module;
      if (m === null) {
        return fail(
          `transformWithState(${node.processor.cls?.name ?? 'a class'}) has no spec form without a module: pass { module: { module: new URL('./file.ts', import.meta.url).href, export: 'Name' } } in its options.`,
        );
      }
      if (node.initialState !== null) return fail('transformWithState with an initialState has no spec form: the initial state is a batch DataFrame.');
      return {
        transformWithState: {
          groupByKey: [...node.keys],
          processor: { module: m.module, ...(m.export === undefined ? {} : { export: m.export }) },
          outputSchema: schemaToSpec(node.outputSchema),
          timeMode: node.timeMode,
          ...(node.outputMode === null ? {} : { outputMode: node.outputMode }),
          ...(node.eventTimeColumnName === null ? {} : { eventTimeColumnName: node.eventTimeColumnName }),
        },
      };
    }
    case 'sort':
      return fail('orderBy() has no spec form: a pipeline spec describes a streaming query (sort its output where you read it).');
    case 'limit':
      return fail('limit() has no spec form: a pipeline spec describes a streaming query.');
    default:
      return fail(`a ${node.kind} node has no spec form.`);
  }
}

/** `join(other, on, how)`: the other input as a source and its steps; `how` left out for an inner join. */
function joinStepOf(node: JoinNode, streaming: boolean): JoinStepSpec {
  const out: { with: JoinInputSpec; on?: JoinStepSpec['on']; how?: string } = { with: inputSpecOf(node.right, streaming) };
  if (node.using !== null) out.on = node.using.length === 1 ? node.using[0]! : [...node.using];
  else if (node.condition !== null) {
    const c = exprToSpec(node.condition, 'join.on');
    // A bare string would read as a using column: write a column condition explicitly.
    out.on = typeof c === 'string' ? { col: c } : (c as JoinStepSpec['on']);
  }
  if (node.joinType !== 'inner') out.how = node.joinType;
  return out;
}

/** A chain from a leaf: its source (with `value` decoding folded in) and the nodes above it, bottom up. */
function chainOf(plan: LogicalPlan, streaming: boolean): { source: SourceSpec; ops: LogicalPlan[] } {
  const chain: LogicalPlan[] = [];
  let node = plan;
  for (;;) {
    if (node.kind === 'relation' || node.kind === 'streamingRelation') break;
    if (node.kind === 'union') fail('union() has no spec form: a spec reads one source.');
    chain.push(node);
    node = node.kind === 'join' ? node.left : node.child;
  }
  const source = leafSource(node, streaming);
  const ops = chain.reverse();
  const value = valueSpec(ops[0], ops[1]);
  if (!value) return { source, ops };
  const src: SourceSpec = { ...source, value };
  if (src.schema) delete (src as { schema?: unknown }).schema;
  return { source: src, ops: ops.slice(2) };
}

/**
 * The other input of a join: source, steps, then a trailing watermark as `watermark` and a trailing alias as `alias`
 * (the order `dataFrameFromSpec` applies them in).
 */
function inputSpecOf(plan: LogicalPlan, streaming: boolean): JoinInputSpec {
  const { source, ops } = chainOf(plan, streaming);
  if (ops.some((n) => n.kind === 'aggregate')) fail('an aggregation inside the other input of a join has no spec form: a join input is a source and its steps.');
  let alias: string | undefined;
  let watermark: WatermarkSpec | undefined;
  let top = ops[ops.length - 1];
  if (top?.kind === 'subqueryAlias') {
    alias = top.alias;
    ops.pop();
    top = ops[ops.length - 1];
  }
  if (top?.kind === 'watermark') {
    watermark = { column: top.column, delay: formatDuration(top.delayMs) };
    ops.pop();
  }
  const steps = mergeSteps(ops.map((n) => stepOf(n, streaming)));
  const out: { source: SourceSpec; steps?: StepSpec[]; watermark?: WatermarkSpec; alias?: string } = { source };
  if (steps.length > 0) out.steps = steps;
  if (watermark) out.watermark = watermark;
  if (alias !== undefined) out.alias = alias;
  return out;
}

/** Merges consecutive `withColumn` steps (JSON keys keep order, except integer-like names, which then stay apart). */
function mergeSteps(steps: StepSpec[]): StepSpec[] {
  const out: StepSpec[] = [];
  for (const s of steps) {
    const prev = out[out.length - 1];
    if (prev && 'withColumn' in prev && 'withColumn' in s) {
      const [name] = Object.keys(s.withColumn);
      if (name !== undefined && !(name in prev.withColumn) && !/^\d+$/.test(name) && !Object.keys(prev.withColumn).some((n) => /^\d+$/.test(n))) {
        out[out.length - 1] = { withColumn: { ...prev.withColumn, ...s.withColumn } };
        continue;
      }
    }
    out.push(s);
  }
  return out;
}

function aggregationOf(e: Expr): AggregationSpec {
  const body = e.kind === 'alias' ? e.child : e;
  const as = e.kind === 'alias' ? e.name : undefined;
  if (body.kind === 'agg') {
    const out: { fn: string; column?: ExprSpec; as?: string } = { fn: body.fn };
    if (body.child !== null) out.column = exprToSpec(body.child);
    if (as !== undefined) out.as = as;
    return out;
  }
  return as !== undefined ? { expr: exprToSpec(body), as } : { expr: exprToSpec(body) };
}

function groupByOf(agg: AggregateNode): GroupBySpec | undefined {
  if (agg.groupBy.length === 0) return undefined;
  const [first, ...rest] = agg.groupBy;
  const w = groupWindowToSpec(first!);
  const keys = (w ? rest : agg.groupBy).map((k) => exprToSpec(k));
  const out: { window?: GroupWindowSpec; keys?: ExprSpec[] } = {};
  if (w) out.window = w as unknown as GroupWindowSpec;
  if (keys.length > 0) out.keys = keys;
  return out;
}

/**
 * The canonical pipeline spec of a plan, plus the parts only the caller knows (sink, checkpoint, trigger, …).
 *
 * @example
 * specFromPlan(df.plan, { sink: { format: 'delta', path: 'lake/sales' }, checkpoint: 'ckpt/sales' });
 */
export function specFromPlan(plan: LogicalPlan, extras: SpecExtras = {}): PipelineSpec {
  const streaming = isStreamingPlan(plan);
  const { source: src, ops } = chainOf(plan, streaming);
  const aggAt = ops.findIndex((n) => n.kind === 'aggregate');
  if (aggAt >= 0 && ops.slice(aggAt + 1).some((n) => n.kind === 'aggregate')) {
    fail('chained aggregations have no spec form: a spec has one groupBy/aggregations.');
  }
  const before = ops.slice(0, aggAt >= 0 ? aggAt : ops.length);
  const after = aggAt >= 0 ? ops.slice(aggAt + 1) : [];
  let watermark: WatermarkSpec | undefined;
  const last = before[before.length - 1];
  if (last?.kind === 'watermark') {
    watermark = { column: last.column, delay: formatDuration(last.delayMs) };
    before.pop();
  }
  const steps = mergeSteps(before.map((n) => stepOf(n, streaming)));
  const outputSteps = mergeSteps(after.map((n) => stepOf(n, streaming)));
  const agg = aggAt >= 0 ? (ops[aggAt] as AggregateNode) : null;
  const spec: Record<string, unknown> = {};
  if (extras.name !== undefined) spec['name'] = extras.name;
  if (extras.description !== undefined) spec['description'] = extras.description;
  spec['source'] = src;
  if (steps.length > 0) spec['steps'] = steps;
  if (watermark) spec['watermark'] = watermark;
  if (agg) {
    const g = groupByOf(agg);
    if (g) spec['groupBy'] = g;
    spec['aggregations'] = agg.aggs.map(aggregationOf);
  }
  if (outputSteps.length > 0) spec['outputSteps'] = outputSteps;
  if (extras.outputMode !== undefined) spec['outputMode'] = extras.outputMode;
  if (extras.sink !== undefined) spec['sink'] = extras.sink;
  if (extras.checkpoint !== undefined) spec['checkpoint'] = extras.checkpoint;
  if (extras.trigger !== undefined) spec['trigger'] = extras.trigger;
  return spec as unknown as PipelineSpec;
}
