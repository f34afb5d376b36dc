/**
 * The analyzer: resolves every node of a logical plan against its input schema, infers output schemas, tracks which
 * columns carry an event-time watermark, and rejects what cannot run with a message that names the fix.
 *
 * @module
 */
import {
  field,
  isStruct,
  schemaOf,
  schemaToString,
  typeEquals,
  typeToString,
  WINDOW_TYPE,
  type DataType,
  qualifySchema,
  type Field,
  type Schema,
} from '../types/data-type.js';
import { aggOutputType, type AggSpec } from '../kernels/agg-kernel.js';
import type { Bound, NamedBound } from './bound-expr.js';
import {
  exprName,
  exprToString,
  unalias,
  walkExpr,
  type Expr,
  type SessionWindowExpr,
  type SortOrder,
  type TimeWindowExpr,
} from './expr.js';
import { assertNever, type AggregateNode, type LogicalPlan, type TransformWithStateNode } from './plan.js';
import { AnalysisError, bindExpr, bindNamed, resolveColumn, unknownColumn } from './resolve-expr.js';
import { analyzeJoin, joinWatermarkColumns } from './join-analysis.js';

export { AnalysisError };

/** What the analyzer knows about a node's output. */
export interface NodeInfo {
  readonly schema: Schema;
  /** Top-level columns that carry watermark metadata, with the delay (ms) of their `withWatermark`. */
  readonly watermarkColumns: ReadonlyMap<string, number>;
  readonly streaming: boolean;
}

/** A bound `window(…)` or `sessionWindow(…)`: its time (a timestamp) and its size, slide and start, or its gap. */
export type WindowBinding =
  | {
      readonly kind: 'time';
      readonly time: Bound;
      readonly sizeMs: number;
      readonly slideMs: number;
      readonly startMs: number;
    }
  | {
      readonly kind: 'session';
      readonly time: Bound;
      /** Constant gap (ms) or a per-row expression (a duration string or milliseconds). */
      readonly gap: number | Bound;
    };

/** The window of an aggregation, if any: its binding, output name and index among the grouping columns. */
export type WindowSpec = WindowBinding & { readonly name: string; readonly position: number };

/**
 * The window of a projection (`select(window(col('ts'), '10 minutes'), …)`), as Spark's TimeWindowing and
 * SessionWindowing rules rewrite one: the operator below the projection appends the window column (ordinal `ordinal`,
 * right after the input's columns) and drops rows with a null time; a sliding window expands each row into one per
 * window that holds it; a session window is each row's own `[t, t + gap)` (no merging), rows with an invalid gap
 * dropped. The projection then reads the window expression as that column.
 */
export type ProjectionWindow = WindowBinding & {
  /** `exprToString` of the window expression: every occurrence in the projection binds to the column. */
  readonly text: string;
  readonly ordinal: number;
  /** Watermark delay the window column carries: its time column's (Spark copies the column's metadata). */
  readonly watermarkDelayMs: number | null;
};

/** A resolved aggregation. */
export interface AggregateAnalysis {
  /** Grouping columns other than the window, in groupBy order. */
  readonly keys: readonly NamedBound[];
  readonly window: WindowSpec | null;
  readonly aggs: readonly { readonly spec: AggSpec; readonly input: Bound | null; readonly name: string }[];
  /** Output: grouping columns in groupBy order (the window where it was written), then the aggregates. */
  readonly schema: Schema;
  /**
   * Where a group's event time comes from for lateness and eviction: the window's end, a raw timestamp key or a window
   * column key, whose end counts, as Spark's watermark predicates (`{ key: index }`), or nothing (never evicted).
   */
  readonly eventTime: 'window' | { readonly key: number } | null;
  /** Delay of the watermark that the event-time key carries (null: no watermark on any key). */
  readonly watermarkDelayMs: number | null;
}

const infoCache = new WeakMap<LogicalPlan, NodeInfo>();
const aggCache = new WeakMap<AggregateNode, AggregateAnalysis>();

/**
 * Analyzes a plan (memoised per node) and returns its output schema and watermark columns.
 *
 * @example
 * analyze(df.plan).schema.fields.map((f) => f.name);
 */
export function analyze(p: LogicalPlan): NodeInfo {
  const cached = infoCache.get(p);
  if (cached) return cached;
  const info = analyzeNode(p);
  infoCache.set(p, info);
  return info;
}

function analyzeNode(p: LogicalPlan): NodeInfo {
  switch (p.kind) {
    case 'relation':
      return { schema: p.schema, watermarkColumns: new Map(), streaming: false };
    case 'streamingRelation':
      return { schema: p.schema, watermarkColumns: new Map(), streaming: true };
    case 'project': {
      const child = analyze(p.child);
      const w = projectionWindow(p.exprs, child);
      const named = bindNamed(p.exprs, child.schema, { clause: 'select', ...(w ? { window: w } : {}) });
      // Columns passed through as is may repeat a name the input already repeats (both sides' `id` after a join);
      // writing or collecting such a result is refused later, with the names to rename.
      const passThrough = (n: NamedBound) => n.bound.k === 'ref' && n.bound.path.length === 0 && child.schema.fields[n.bound.ordinal]?.name === n.name;
      checkDuplicateNames(
        named.filter((n) => !passThrough(n) || child.schema.fields.filter((f) => f.name === n.name).length < 2).map((n) => n.name),
        'select',
      );
      const wm = new Map<string, number>();
      // A watermark column stays one when it is projected as is or renamed; so does the window of a watermark column.
      for (const n of named) {
        if (n.bound.k !== 'ref' || n.bound.path.length !== 0) continue;
        const d =
          w !== null && n.bound.ordinal === w.ordinal
            ? w.watermarkDelayMs
            : child.watermarkColumns.get(child.schema.fields[n.bound.ordinal]!.name);
        if (d !== undefined && d !== null) wm.set(n.name, d);
      }
      // A column passed through as is keeps its qualifier (`df.alias('l').select('id')` still answers to `l.id`).
      const fields = named.map((n) => {
        const src = n.bound.k === 'ref' && n.bound.path.length === 0 ? child.schema.fields[n.bound.ordinal] : undefined;
        return src !== undefined && src.qualifier !== undefined && src.name === n.name
          ? Object.freeze({ name: n.name, type: n.type, nullable: n.nullable, qualifier: src.qualifier })
          : field(n.name, n.type, n.nullable);
      });
      return { schema: schemaOf(fields), watermarkColumns: wm, streaming: child.streaming };
    }
    case 'filter': {
      const child = analyze(p.child);
      const { type } = bindExpr(p.condition, child.schema, { clause: 'where' });
      if (type !== 'boolean' && type !== 'null') {
        throw new AnalysisError(
          `where() needs a boolean condition, but ${exprToString(p.condition)} is ${typeToString(type)}. ` +
            `Compare it, e.g. col('x').gt(0).`,
        );
      }
      return child;
    }
    case 'aggregate': {
      const child = analyze(p.child);
      const a = analyzeAggregate(p);
      const wm = new Map<string, number>();
      if (a.watermarkDelayMs !== null) {
        if (a.eventTime === 'window') wm.set(a.window!.name, a.watermarkDelayMs);
        else if (a.eventTime !== null) wm.set(a.keys[a.eventTime.key]!.name, a.watermarkDelayMs);
      }
      return { schema: a.schema, watermarkColumns: wm, streaming: child.streaming };
    }
    case 'sort': {
      const child = analyze(p.child);
      for (const o of p.orders) bindSortKey(o, child.schema);
      return child;
    }
    case 'limit': {
      if (!Number.isInteger(p.n) || p.n < 0) throw new AnalysisError(`limit() needs a non-negative integer, got ${p.n}.`);
      return analyze(p.child);
    }
    case 'union': {
      const infos = p.children.map(analyze);
      const first = infos[0]!;
      infos.slice(1).forEach((info, i) => {
        const a = first.schema.fields;
        const b = info.schema.fields;
        if (a.length !== b.length) {
          throw new AnalysisError(
            `union() needs the same number of columns: the first input has ${a.length} (${schemaToString(first.schema)}), ` +
              `input ${i + 2} has ${b.length} (${schemaToString(info.schema)}). Select matching columns first.`,
          );
        }
        a.forEach((f, k) => {
          if (!typeEquals(f.type, b[k]!.type)) {
            throw new AnalysisError(
              `union() column ${k + 1} ('${f.name}') is ${typeToString(f.type)} in the first input but ` +
                `${typeToString(b[k]!.type)} ('${b[k]!.name}') in input ${i + 2}. Cast one of them.`,
            );
          }
        });
      });
      // Union keeps a watermark column when every input carries it (the executor tracks each input's watermark).
      const wm = new Map<string, number>();
      for (const [name, d] of first.watermarkColumns) {
        const idx = first.schema.fields.findIndex((f) => f.name === name);
        if (infos.every((info) => info.watermarkColumns.has(info.schema.fields[idx]!.name))) wm.set(name, d);
      }
      return { schema: first.schema, watermarkColumns: wm, streaming: infos.some((i) => i.streaming) };
    }
    case 'deduplicate': {
      const child = analyze(p.child);
      if (p.keys) for (const k of p.keys) if (!child.schema.fields.some((f) => f.name === k)) throw unknownColumn(k, child.schema, 'dropDuplicates()');
      if (p.withinWatermark && child.streaming && child.watermarkColumns.size === 0) {
        throw new AnalysisError(
          'dropDuplicatesWithinWatermark() needs a watermark: call withWatermark(column, delay) before it.',
        );
      }
      return child;
    }
    case 'watermark': {
      const child = analyze(p.child);
      const r = resolveColumn(p.column, child.schema);
      if (r.path.length > 0 || (r.type !== 'timestamp' && !(isStruct(r.type) && typeEquals(r.type, WINDOW_TYPE)))) {
        throw new AnalysisError(
          `withWatermark('${p.column}', …) needs a timestamp column (or a window), but '${p.column}' is ${typeToString(r.type)}. ` +
            `Cast it first, e.g. withColumn('${p.column}', col('${p.column}').cast('timestamp')).`,
        );
      }
      if (p.delayMs < 0) throw new AnalysisError(`The watermark delay for '${p.column}' should not be negative (got ${p.delayMs} ms).`);
      if (hasWatermarkNode(p.child)) {
        throw new AnalysisError('Redefining watermark is disallowed: call withWatermark() once per input, before the aggregation.');
      }
      const wm = new Map(child.watermarkColumns);
      wm.set(r.name, p.delayMs);
      return { schema: child.schema, watermarkColumns: wm, streaming: child.streaming };
    }
    case 'transformWithState':
      return analyzeTransformWithState(p);
    case 'subqueryAlias': {
      const child = analyze(p.child);
      if (typeof p.alias !== 'string' || p.alias.length === 0 || p.alias.includes('.')) {
        throw new AnalysisError(`alias('${p.alias}') needs a name without dots, e.g. df.alias('l').`);
      }
      return { schema: qualifySchema(child.schema, p.alias), watermarkColumns: child.watermarkColumns, streaming: child.streaming };
    }
    case 'join': {
      const j = analyzeJoin(p);
      return { schema: j.schema, watermarkColumns: joinWatermarkColumns(j), streaming: j.left.streaming || j.right.streaming };
    }
    default:
      return assertNever(p);
  }
}

/**
 * `transformWithState`: the grouping columns exist, the modes are known, and `eventTimeColumnName` (which implies
 * `timeMode: 'eventTime'`) names a timestamp column of the output and has a watermark upstream to carry (Spark's
 * CANNOT_ASSIGN_EVENT_TIME_COLUMN_WITHOUT_WATERMARK). The output carries a watermark only on that column.
 */
function analyzeTransformWithState(p: TransformWithStateNode): NodeInfo {
  const child = analyze(p.child);
  const what = 'groupByKey(…).transformWithState()';
  if (p.keys.length === 0) throw new AnalysisError(`${what} needs at least one grouping column: groupByKey(col('user')).`);
  for (const k of p.keys) if (!child.schema.fields.some((f) => f.name === k)) throw unknownColumn(k, child.schema, 'groupByKey()');
  if (!['none', 'processingTime', 'eventTime'].includes(p.timeMode)) {
    throw new AnalysisError(`${what}: timeMode '${p.timeMode}' is not one of 'none', 'processingTime', 'eventTime'.`);
  }
  if (p.outputMode !== null && p.outputMode !== 'append' && p.outputMode !== 'update') {
    throw new AnalysisError(`${what}: outputMode '${String(p.outputMode)}' is not 'append' or 'update' (complete needs an aggregation).`);
  }
  if (p.outputSchema.fields.length === 0) throw new AnalysisError(`${what} needs an outputSchema with at least one column, e.g. { user: 'string', at: 'timestamp' }.`);
  checkDuplicateNames(p.outputSchema.fields.map((f) => f.name), 'transformWithState outputSchema');
  if (child.streaming && p.timeMode === 'eventTime' && child.watermarkColumns.size === 0) {
    throw new AnalysisError(
      `${what} with timeMode 'eventTime' needs a watermark on its input: call withWatermark(column, delay) before groupByKey(), ` +
        `or use timeMode 'processingTime'.`,
    );
  }
  const wm = new Map<string, number>();
  if (p.eventTimeColumnName !== null) {
    const name = p.eventTimeColumnName;
    const f = p.outputSchema.fields.find((x) => x.name === name);
    if (!f) throw unknownColumn(name, p.outputSchema, 'eventTimeColumnName of transformWithState');
    if (f.type !== 'timestamp') {
      throw new AnalysisError(`eventTimeColumnName '${name}' must be a timestamp column of the outputSchema, but it is ${typeToString(f.type)}.`);
    }
    if (p.timeMode !== 'eventTime') {
      throw new AnalysisError(`eventTimeColumnName needs timeMode 'eventTime' (got '${p.timeMode}'): the output's event time follows the input's watermark.`);
    }
    if (child.watermarkColumns.size === 0) {
      throw new AnalysisError(
        `[CANNOT_ASSIGN_EVENT_TIME_COLUMN_WITHOUT_WATERMARK] eventTimeColumnName '${name}' needs a watermark on the input of transformWithState: ` +
          `call withWatermark(column, delay) before groupByKey().`,
      );
    }
    wm.set(name, Math.min(...child.watermarkColumns.values()));
  }
  if (p.initialState !== null) {
    const init = analyze(p.initialState.plan);
    if (init.streaming) throw new AnalysisError('transformWithState initialState must be a batch DataFrame (read with session.read, not readStream).');
    if (p.initialState.keys.length !== p.keys.length) {
      throw new AnalysisError(
        `transformWithState initialState is grouped by ${p.initialState.keys.length} column(s) but the input by ${p.keys.length}: group both by the same key.`,
      );
    }
    p.initialState.keys.forEach((k, i) => {
      const f = init.schema.fields.find((x) => x.name === k);
      if (!f) throw unknownColumn(k, init.schema, 'groupByKey() of initialState');
      const want = child.schema.fields.find((x) => x.name === p.keys[i])!;
      if (!typeEquals(f.type, want.type)) {
        throw new AnalysisError(`initialState key '${k}' is ${typeToString(f.type)} but the input key '${want.name}' is ${typeToString(want.type)}. Cast one of them.`);
      }
    });
  }
  return { schema: p.outputSchema, watermarkColumns: wm, streaming: child.streaming };
}

function hasWatermarkNode(p: LogicalPlan): boolean {
  if (p.kind === 'watermark') return true;
  if (p.kind === 'aggregate' || p.kind === 'union' || p.kind === 'transformWithState' || p.kind === 'join') return false;
  return p.kind === 'relation' || p.kind === 'streamingRelation' ? false : hasWatermarkNode(p.child);
}

function checkDuplicateNames(names: readonly string[], clause: string): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new AnalysisError(`${clause}() would produce two columns named '${n}'. Rename one with .as('…').`);
    seen.add(n);
  }
}

/** Binds a sort key. */
export function bindSortKey(o: SortOrder, schema: Schema): Bound {
  const { bound, type } = bindExpr(o.expr, schema, { clause: 'orderBy' });
  if (type !== 'null' && typeof type === 'object' && type.kind === 'array') {
    throw new AnalysisError(`Cannot sort by ${exprToString(o.expr)}: it is an array.`);
  }
  return bound;
}

/**
 * Resolves an aggregation: its grouping columns, window and aggregates.
 *
 * @example
 * const a = analyzeAggregate(node); a.window?.kind; // 'time'
 */
export function analyzeAggregate(p: AggregateNode): AggregateAnalysis {
  const cached = aggCache.get(p);
  if (cached) return cached;
  const child = analyze(p.child);
  const schema = child.schema;
  let window: WindowSpec | null = null;
  const keys: NamedBound[] = [];
  const outFields: Field[] = [];
  const keyPositions: number[] = [];
  p.groupBy.forEach((g, position) => {
    const e = unalias(g);
    const name = exprName(g);
    if (e.kind === 'window' || e.kind === 'sessionWindow') {
      if (window) {
        throw new AnalysisError(
          'Multiple time or session windows in one groupBy() would result in a cartesian product of rows: use one window per aggregation.',
        );
      }
      window = { ...bindWindow(e, schema), name, position };
      outFields.push(field(name, WINDOW_TYPE, true));
      return;
    }
    if (e.kind === 'agg') throw new AnalysisError(`groupBy() cannot group by the aggregate ${exprToString(e)}.`);
    const [nb] = bindNamed([g], schema, { clause: 'groupBy' });
    keys.push(nb!);
    keyPositions.push(position);
    outFields.push(field(nb!.name, nb!.type, true));
  });
  const aggs = p.aggs.map((a) => {
    const e = unalias(a);
    const name = exprName(a);
    if (e.kind !== 'agg') {
      throw new AnalysisError(
        `agg() takes aggregate functions (count, sum, avg, min, max, first, last, countDistinct), but got ${exprToString(a)}. ` +
          `Compute it with withColumn() after the aggregation.`,
      );
    }
    let input: Bound | null = null;
    let inputType: DataType | null = null;
    if (e.child && !(e.child.kind === 'column' && e.child.name === '*')) {
      const { bound, type } = bindExpr(e.child, schema, { clause: `${e.fn}()` });
      input = bound;
      inputType = type === 'null' ? 'double' : type;
      if ((e.fn === 'sum' || e.fn === 'avg') && inputType !== 'int' && inputType !== 'long' && inputType !== 'double') {
        throw new AnalysisError(
          `${e.fn}(${exprToString(e.child)}) needs a number, but it is ${typeToString(inputType)}. ` +
            `Cast it, e.g. ${e.fn}(col('${exprToString(e.child)}').cast('double')).`,
        );
      }
      if ((e.fn === 'min' || e.fn === 'max') && typeof inputType === 'object') {
        throw new AnalysisError(`${e.fn}() cannot order ${typeToString(inputType)} values (${exprToString(e.child)}).`);
      }
    } else if (e.fn !== 'count') {
      throw new AnalysisError(`${e.fn}() needs a column, e.g. ${e.fn}('amount').`);
    }
    const spec: AggSpec = { fn: e.fn, input: inputType, output: aggOutputType(e.fn, inputType) };
    outFields.push(field(name, spec.output, true));
    return { spec, input, name };
  });
  checkDuplicateNames(outFields.map((f) => f.name), 'agg');
  // Output order: grouping columns in groupBy order, then aggregates.
  let eventTime: AggregateAnalysis['eventTime'] = null;
  let watermarkDelayMs: number | null = null;
  const w = window as WindowSpec | null;
  if (w) {
    const d = watermarkOf(w.time, child);
    if (d !== null) {
      eventTime = 'window';
      watermarkDelayMs = d;
    }
  }
  if (eventTime === null) {
    keys.forEach((k, i) => {
      if (eventTime !== null) return;
      const d = watermarkOf(k.bound, child);
      if (d !== null) {
        eventTime = { key: i };
        watermarkDelayMs = d;
      }
    });
  }
  const analysis: AggregateAnalysis = {
    keys,
    window: w,
    aggs,
    schema: schemaOf(outFields),
    eventTime,
    watermarkDelayMs,
  };
  aggCache.set(p, analysis);
  return analysis;
}

/**
 * Binds a `window(…)` or `sessionWindow(…)` against its input: the time must be a timestamp, or a window column (then
 * `window_time(w)`, its end − 1 ms, is the time); a session gap is a literal duration or a per-row expression.
 *
 * @example
 * bindWindow(window(col('ts'), '5 minutes').expr, schema); // { kind: 'time', sizeMs: 300000, … }
 */
export function bindWindow(e: TimeWindowExpr | SessionWindowExpr, schema: Schema): WindowBinding {
  const { bound: time, type } = bindExpr(e.time, schema, { clause: 'window' });
  const timeType = type === 'null' ? 'timestamp' : type;
  let timeBound = time;
  if (isStruct(timeType) && typeEquals(timeType, WINDOW_TYPE)) {
    // A window over a window column uses window_time(w) = end − 1 ms.
    timeBound = { k: 'call', fn: 'windowTime', args: [time], type: 'timestamp' };
  } else if (timeType !== 'timestamp') {
    throw new AnalysisError(
      `${e.kind === 'window' ? 'window' : 'sessionWindow'}() needs a timestamp column, but ${exprToString(e.time)} is ` +
        `${typeToString(timeType)}. Cast it, e.g. col('${exprToString(e.time)}').cast('timestamp').`,
    );
  }
  if (e.kind === 'window') return { kind: 'time', time: timeBound, sizeMs: e.sizeMs, slideMs: e.slideMs, startMs: e.startMs };
  let gap: number | Bound;
  if (e.gap.kind === 'literal' && typeof e.gap.value === 'number') gap = e.gap.value;
  else {
    const { bound, type: gt } = bindExpr(e.gap, schema, { clause: 'sessionWindow gap' });
    if (gt !== 'string' && gt !== 'int' && gt !== 'long' && gt !== 'double' && gt !== 'null') {
      throw new AnalysisError(
        `sessionWindow() gap must be a duration: a string such as '10 seconds' or a number of milliseconds, but ` +
          `${exprToString(e.gap)} is ${typeToString(gt)}.`,
      );
    }
    gap = bound;
  }
  return { kind: 'session', time: timeBound, gap };
}

/**
 * The window a projection computes, or null: the one distinct `window(…)`/`sessionWindow(…)` among its expressions
 * (at any depth; repeats of the same one share it). Two different ones are refused, as Spark.
 *
 * @example
 * projectionWindow([window(col('ts'), '10 minutes').expr, col('v').expr], analyze(child)); // { kind: 'time', ordinal: 2, … }
 */
export function projectionWindow(list: readonly Expr[], child: NodeInfo): ProjectionWindow | null {
  let found: TimeWindowExpr | SessionWindowExpr | null = null;
  let text = '';
  for (const e of list) {
    walkExpr(e, (x) => {
      if (x.kind !== 'window' && x.kind !== 'sessionWindow') return;
      const t = exprToString(x);
      if (found !== null && t !== text) {
        throw new AnalysisError(
          `Multiple time or session window expressions (${text} and ${t}) in one select() would result in a cartesian ` +
            'product of rows, therefore they are currently not supported: compute one window per select().',
        );
      }
      found = x;
      text = t;
    });
  }
  if (found === null) return null;
  const b = bindWindow(found, child.schema);
  return { ...b, text, ordinal: child.schema.fields.length, watermarkDelayMs: watermarkOf(b.time, child) };
}

/** The watermark delay a bound expression carries: a reference to a watermark column (or window_time of one). */
function watermarkOf(b: Bound, child: NodeInfo): number | null {
  if (b.k === 'ref' && b.path.length === 0) {
    return child.watermarkColumns.get(child.schema.fields[b.ordinal]!.name) ?? null;
  }
  if (b.k === 'call' && b.fn === 'windowTime') return watermarkOf(b.args[0]!, child);
  return null;
}

/** Convenience: the output schema of a plan. */
export function schemaOfPlan(p: LogicalPlan): Schema {
  return analyze(p).schema;
}
