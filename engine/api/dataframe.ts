/**
 * `DataFrame`: an immutable query. Every method returns a new DataFrame and is checked immediately (unknown columns and
 * wrong types fail at the call, not when the query runs).
 *
 * @module
 */
import { Table, type RecordBatch } from 'apache-arrow';
import { analyze, analyzeAggregate } from '../logical/analyzer.js';
import { exprs, exprName, unalias, type Expr } from '../logical/expr.js';
import { isStreamingPlan, plans, type LogicalPlan } from '../logical/plan.js';
import { parseJoinType } from '../logical/join-type.js';
import { AnalysisError, unknownColumn } from '../logical/resolve-expr.js';
import { planPhysical } from '../planner/planner.js';
import { executeBatch, type BatchQueryMetrics } from '../exec/batch-execution.js';
import { assertUniqueNames, schemaOf, schemaToString, typeToString, type Schema, type SchemaSpec } from '../types/data-type.js';
import type { StatefulProcessor, ProcessorModuleRef, StatefulProcessorClass, TransformWithStateOptions } from './stateful-processor.js';
import { parseDuration, type Duration } from '../types/duration.js';
import { rowsFromBatch } from '../types/values.js';
import { appendAll } from '../types/arrays.js';
import { Column, SortColumn, toColumnExpr, toSortOrder, type ColumnLike } from './column.js';
import type { Session } from './session.js';
import { formatTable } from './show.js';
import { specFromPlan, type SpecExtras } from '../spec/plan-to-spec.js';
import type { PipelineSpec } from '../spec/pipeline-spec.js';

/** A row returned by `collect()`: column name → JS value (see `data-type.ts` for the mapping). */
export type Row = Record<string, unknown>;

/**
 * A query over bounded (batch) or unbounded (streaming) input.
 *
 * @example
 * const result = await df.where(col('amount').gt(0))
 *   .groupBy(window(col('ts'), '5 minutes'), col('user'))
 *   .agg(count('*').as('n'), sum('amount').as('total'))
 *   .collect();
 */
export class DataFrame {
  private metrics: BatchQueryMetrics | null = null;

  constructor(
    readonly session: Session,
    readonly plan: LogicalPlan,
  ) {
    analyze(plan);
  }

  /**
   * The numbers of this DataFrame's last run (`collect`, `count`, `show`, `toBatches`, `toArrow`), or null before the
   * first: output rows, malformed rows the readers met, dead-letter rows, and rows each window aggregation left out
   * because their time was null.
   *
   * @example
   * await df.collect(); df.lastMetrics?.rowsWithoutWindow; // [{ column: 'ts', window: 'window', rows: 2 }]
   */
  get lastMetrics(): BatchQueryMetrics | null {
    return this.metrics;
  }

  private with(plan: LogicalPlan): DataFrame {
    return new DataFrame(this.session, plan);
  }

  /** The output schema. @example df.schema.fields.map((f) => f.name) */
  get schema(): Schema {
    return analyze(this.plan).schema;
  }

  /** Column names. @example df.columns // ['user', 'amount'] */
  get columns(): string[] {
    return this.schema.fields.map((f) => f.name);
  }

  /** True when the query reads a streaming source. @example df.isStreaming */
  get isStreaming(): boolean {
    return isStreamingPlan(this.plan);
  }

  /** Prints the schema as a tree. @example df.printSchema() */
  printSchema(): string {
    const text = ['root', ...this.schema.fields.map((f) => ` |-- ${f.name}: ${typeToString(f.type)} (nullable = ${f.nullable})`)].join('\n');
    console.log(text);
    return text;
  }

  /** Keeps, computes or renames columns. `'*'` and `'s.*'` expand. @example df.select('user', col('amount').mul(100).as('cents')) */
  select(...cols: (ColumnLike | Column)[]): DataFrame {
    return this.with(plans.project(this.plan, cols.map(toColumnExpr)));
  }

  /** Keeps rows where the condition is true. @example df.where(col('amount').gt(0)) */
  where(condition: Column): DataFrame {
    return this.with(plans.filter(this.plan, condition.expr));
  }

  /** Alias of `where`. @example df.filter(col('user').isNotNull()) */
  filter(condition: Column): DataFrame {
    return this.where(condition);
  }

  /** Adds or replaces a column. @example df.withColumn('cents', col('amount').mul(100)) */
  withColumn(name: string, value: Column): DataFrame {
    const names = this.columns;
    const list: Expr[] = names.map((n) => (n === name ? exprs.alias(value.expr, name) : exprs.column(quote(n))));
    if (!names.includes(name)) list.push(exprs.alias(value.expr, name));
    return this.with(plans.project(this.plan, list));
  }

  /** Renames a column (no-op if absent, as Spark). @example df.withColumnRenamed('amount', 'value') */
  withColumnRenamed(existing: string, name: string): DataFrame {
    if (!this.columns.includes(existing)) return this;
    return this.with(plans.project(this.plan, this.columns.map((n) => (n === existing ? exprs.alias(exprs.column(quote(n)), name) : exprs.column(quote(n))))));
  }

  /** Removes columns (unknown names are ignored, as Spark). @example df.drop('debug') */
  drop(...names: string[]): DataFrame {
    const keep = this.columns.filter((n) => !names.includes(n));
    if (keep.length === 0) throw new AnalysisError(`drop(${names.join(', ')}) would remove every column.`);
    return this.with(plans.project(this.plan, keep.map((n) => exprs.column(quote(n)))));
  }

  /** Groups rows for `agg`. Keys are columns or a `window()`/`sessionWindow()`. @example df.groupBy(window('ts', '1 minute'), 'user') */
  groupBy(...cols: (ColumnLike | Column)[]): GroupedData {
    return new GroupedData(this, cols.map(toColumnExpr));
  }

  /**
   * Groups rows by key for `transformWithState` (arbitrary keyed state). Keys are columns, or expressions: an
   * expression is added as a column named after it (`.as('…')` names it), which the rows then carry.
   *
   * @example
   * logins.groupByKey(col('user')).transformWithState(FailedLoginDetector, { outputSchema: { user: 'string', at: 'timestamp' } });
   */
  groupByKey(...cols: (ColumnLike | Column)[]): KeyValueGroupedDataFrame {
    if (cols.length === 0) throw new AnalysisError("groupByKey() needs at least one key column, e.g. groupByKey(col('user')).");
    const keyExprs = cols.map(toColumnExpr);
    const names: string[] = [];
    const added: Expr[] = [];
    keyExprs.forEach((e) => {
      const body = unalias(e);
      if (body === e && body.kind === 'column' && this.columns.includes(body.name)) {
        names.push(body.name);
        return;
      }
      const name = exprName(e);
      if (this.columns.includes(name) && body.kind === 'column') {
        names.push(name);
        return;
      }
      added.push(e);
      names.push(name);
    });
    const df = added.length === 0 ? this : this.select(...this.columns.map((n) => new Column(exprs.column(quote(n)))), ...added.map((e) => new Column(e)));
    return new KeyValueGroupedDataFrame(df, names);
  }

  /** Aggregates the whole DataFrame (one row). @example df.agg(count('*').as('n')) */
  agg(...aggs: Column[]): DataFrame {
    return this.groupBy().agg(...aggs);
  }

  /** Sorts. @example df.orderBy(col('window.start'), col('n').desc()) */
  orderBy(...cols: (ColumnLike | SortColumn)[]): DataFrame {
    return this.with(plans.sort(this.plan, cols.map(toSortOrder)));
  }

  /** Alias of `orderBy`. @example df.sort('user') */
  sort(...cols: (ColumnLike | SortColumn)[]): DataFrame {
    return this.orderBy(...cols);
  }

  /** The first `n` rows. @example df.limit(10) */
  limit(n: number): DataFrame {
    return this.with(plans.limit(this.plan, n));
  }

  /** Rows of both (by position, keeping duplicates). @example a.union(b) */
  union(other: DataFrame): DataFrame {
    return this.with(plans.union([this.plan, other.plan]));
  }

  /** Union matching columns by name. @example a.unionByName(b) */
  unionByName(other: DataFrame): DataFrame {
    const names = this.columns;
    for (const n of names) if (!other.columns.includes(n)) throw unknownColumn(n, other.schema, 'the other DataFrame of unionByName()');
    return this.union(other.select(...names.map(quote)));
  }

  /**
   * Names this DataFrame so that its columns can be referred to as `alias.column` (`col('l.id')`), which is how the two
   * `id` columns of a join are told apart.
   *
   * @example
   * const l = orders.alias('l'), r = payments.alias('r');
   * l.join(r, col('l.id').eq(col('r.orderId'))).select('l.id', 'r.amount');
   */
  alias(name: string): DataFrame {
    return this.with(plans.subqueryAlias(this.plan, name));
  }

  /** Alias of `alias()`. @example df.as('l') */
  as(name: string): DataFrame {
    return this.alias(name);
  }

  /**
   * Joins with another DataFrame. `on` is a column name or a list of them (equal values match; each appears once in
   * the output, first), or a boolean condition over both sides' columns; omitted, every pair of rows matches. `how` is
   * one of `inner` (default), `left`/`leftOuter`, `right`/`rightOuter`, `full`/`fullOuter`/`outer`, `leftSemi`/`semi`,
   * `leftAnti`/`anti`, `cross` (case and `_` ignored, as in Spark). A null key never matches.
   *
   * Either side may be streaming: a stream joined with a batch DataFrame enriches each micro-batch (the batch side is
   * read once per run); two streams are joined with their rows buffered in state, bounded by watermarks and a time
   * condition (see README, "Joins").
   *
   * @example
   * orders.join(customers, 'customerId');
   * orders.alias('o').join(payments.alias('p'), col('o.id').eq(col('p.orderId')), 'leftOuter');
   * impressions.withWatermark('impTime', '2 hours').join(
   *   clicks.withWatermark('clickTime', '3 hours'),
   *   col('clickAdId').eq(col('impAdId'))
   *     .and(col('clickTime').geq(col('impTime')))
   *     .and(col('clickTime').leq(col('impTime').plus(interval('1 hour')))),
   *   'leftOuter');
   */
  join(right: DataFrame, on?: string | readonly string[] | Column | null, how: string = 'inner'): DataFrame {
    if (!(right instanceof DataFrame)) throw new AnalysisError('join() needs a DataFrame to join with, e.g. orders.join(customers, \'customerId\').');
    const joinType = parseJoinType(how);
    if (on === undefined || on === null) return this.with(plans.join(this.plan, right.plan, joinType, null, null));
    if (typeof on === 'string') return this.with(plans.join(this.plan, right.plan, joinType, null, [on]));
    if (Array.isArray(on)) {
      if (on.every((x) => typeof x === 'string')) return this.with(plans.join(this.plan, right.plan, joinType, null, on as readonly string[]));
      throw new AnalysisError('join(other, on): a list in `on` must hold column names; combine conditions with .and() instead.');
    }
    if (on instanceof Column) return this.with(plans.join(this.plan, right.plan, joinType, on.expr, null));
    throw new AnalysisError("join(other, on): `on` must be a column name, a list of names, or a condition such as col('l.id').eq(col('r.id')).");
  }

  /**
   * Every pair of rows of the two DataFrames (a cartesian product).
   *
   * @example
   * sizes.crossJoin(colours);
   */
  crossJoin(right: DataFrame): DataFrame {
    return this.join(right, null, 'cross');
  }

  /** Keeps the first row of each distinct key (all columns by default). @example df.dropDuplicates(['id']) */
  dropDuplicates(cols?: readonly string[]): DataFrame {
    return this.with(plans.deduplicate(this.plan, cols ?? null, false));
  }

  /** Alias of `dropDuplicates()` over every column. @example df.distinct() */
  distinct(): DataFrame {
    return this.dropDuplicates();
  }

  /**
   * Streaming dedup whose state lasts as long as the watermark delay after each key's first row.
   *
   * @example
   * df.withWatermark('ts', '10 minutes').dropDuplicatesWithinWatermark(['id']);
   */
  dropDuplicatesWithinWatermark(cols?: readonly string[]): DataFrame {
    return this.with(plans.deduplicate(this.plan, cols ?? null, true));
  }

  /**
   * Declares `column` as event time with an allowed lateness of `delay`: after each batch the watermark becomes
   * `max(previous, maxEventTime − delay)`; stateful operators drop rows older than it and close windows behind it.
   * Ignored by batch queries.
   *
   * @example
   * df.withWatermark('eventTime', '10 seconds');
   */
  withWatermark(column: string, delay: Duration): DataFrame {
    return this.with(plans.watermark(this.plan, column, parseDuration(delay, 'watermark delay')));
  }

  private assertBatch(method: string): void {
    if (this.isStreaming) {
      throw new AnalysisError(
        `Queries with streaming sources must be executed with writeStream.start(); ${method}() works on batch DataFrames only.`,
      );
    }
  }

  /** Runs the query and returns its batches. @example const batches = await df.toBatches() */
  async toBatches(): Promise<RecordBatch[]> {
    this.assertBatch('toBatches');
    const out: RecordBatch[] = [];
    const conf = this.session.conf;
    const parallel = { parallelism: conf.get('parallelism'), thresholdRows: conf.get('parallelThresholdRows') };
    for await (const b of executeBatch(this.plan, Date.now(), parallel, (m) => (this.metrics = m))) out.push(b);
    return out;
  }

  /** Runs the query into an Arrow table. @example (await df.toArrow()).numRows */
  async toArrow(): Promise<Table> {
    const batches = await this.toBatches();
    if (batches.length === 0) {
      const { emptyBatch } = await import('../types/values.js');
      return new Table([emptyBatch(this.schema)]);
    }
    return new Table(batches);
  }

  /**
   * Runs the query and returns plain objects: timestamps as `Date`, dates as `YYYY-MM-DD`, windows as `{ start, end }`,
   * longs as numbers (bigint beyond ±2^53). A result with two columns of one name (both inputs' `id` after a join) is
   * refused before it runs (`RepeatedColumnNamesError`, with the columns to rename), as are `show()` and every sink.
   *
   * @example
   * const rows = await df.collect(); rows[0].window.start;
   */
  async collect(): Promise<Row[]> {
    this.assertBatch('collect');
    const schema = this.schema;
    assertUniqueNames(schema, 'collect()');
    const out: Row[] = [];
    for (const b of await this.toBatches()) appendAll(out, rowsFromBatch(b, schema));
    return out;
  }

  /** Number of rows. @example await df.count() */
  async count(): Promise<number> {
    this.assertBatch('count');
    let n = 0;
    for (const b of await this.toBatches()) n += b.numRows;
    return n;
  }

  /** Prints the first rows as a table, as Spark's `show()`. @example await df.show(5) */
  async show(n = 20): Promise<void> {
    console.log(await this.showString(n));
  }

  /** The table `show()` prints, as text. @example const text = await df.showString(5) */
  async showString(n = 20): Promise<string> {
    this.assertBatch('show');
    assertUniqueNames(this.schema, 'show()');
    const limited = this.limit(n);
    const rows = await limited.collect();
    this.metrics = limited.metrics;
    return formatTable(this.columns, rows);
  }

  /**
   * The physical plan, one operator per line (printed and returned). Each stateful operator (aggregation,
   * deduplication) reads its input through an `Exchange: hashpartitioning(<keys>, <parallelism>)`: the partitioning of
   * its rows by key across the session's `parallelism` (see `ExchangeExec`).
   *
   * @example
   * df.explain(); // ProjectExec: … \n  FilterExec: (amount > 0) \n    ScanExec: …
   * df.groupBy('user').count().explain(); // WindowAggregateExec: … keys=[user] … \n  Exchange: hashpartitioning(user, 2) \n    ScanExec: …
   */
  explain(options: { print?: boolean } = {}): string {
    const text = planPhysical(this.plan, { parallelism: this.session.conf.get('parallelism') }).toString();
    if (options.print !== false) console.log(text);
    return text;
  }

  /** Writes the result of a batch query. @example await df.write.format('delta').mode('append').save('lake/t') */
  get write(): import('./writers.js').DataFrameWriter {
    this.assertBatch('write');
    return this.session.newWriter(this);
  }

  /** Starts building a streaming query. @example df.writeStream.format('memory').queryName('t').start() */
  get writeStream(): import('./writers.js').DataStreamWriter {
    if (!this.isStreaming) {
      throw new AnalysisError("writeStream needs a streaming DataFrame (from session.readStream or a MemoryStream); use write for batch data.");
    }
    return this.session.newStreamWriter(this);
  }

  /**
   * The query as a pipeline spec (JSON that `sluice run` runs); pass what the DataFrame does not know: sink,
   * checkpoint, trigger, output mode, name. See `engine/spec/README.md`.
   *
   * @example
   * console.log(JSON.stringify(df.toSpec({ sink: { format: 'delta', path: 'lake/sales' }, checkpoint: 'ckpt/sales' }), null, 2));
   */
  toSpec(extras: SpecExtras = {}): PipelineSpec {
    return specFromPlan(this.plan, extras);
  }

  /** The schema as text. @example String(df) */
  toString(): string {
    return `DataFrame[${schemaToString(this.schema)}]`;
  }
}

/** Quotes a column name so dots in it are not read as struct access. */
export function quote(name: string): string {
  return /[.`]/.test(name) ? `\`${name.replace(/`/g, '``')}\`` : name;
}

/**
 * The result of `groupByKey`: call `transformWithState` to run a keyed stateful processor over each key's rows.
 *
 * @example
 * df.groupByKey(col('user')).transformWithState(FailedLoginDetector, { outputSchema: { user: 'string', reason: 'string' }, timeMode: 'processingTime' });
 */
export class KeyValueGroupedDataFrame {
  constructor(
    readonly df: DataFrame,
    /** The grouping columns' names. */
    readonly keys: readonly string[],
  ) {}

  /**
   * Runs `processor` over each key's rows with its own state, timers and TTL (Spark 4's transformWithState). Pass
   * the class; for worker threads and pipeline specs also say where it can be imported from (`options.module`), or
   * pass only that module reference. Without a module the processor runs on the calling thread.
   *
   * @example
   * logins.groupByKey(col('user')).transformWithState(FailedLoginDetector, {
   *   outputSchema: { user: 'string', reason: 'string', at: 'timestamp' },
   *   timeMode: 'processingTime',
   *   module: { module: new URL('./detector.ts', import.meta.url).href, export: 'FailedLoginDetector' },
   * });
   */
  transformWithState<K, I, O>(processor: StatefulProcessorClass<K, I, O> | ProcessorModuleRef, options: TransformWithStateOptions): DataFrame {
    if (options === undefined || options === null || typeof options !== 'object' || options.outputSchema === undefined) {
      throw new AnalysisError("transformWithState() needs options with an outputSchema, e.g. { outputSchema: { user: 'string', at: 'timestamp' } }.");
    }
    const cls = typeof processor === 'function' ? (processor as unknown as StatefulProcessorClass) : null;
    const moduleRef = typeof processor === 'function' ? (options.module ?? null) : processor;
    if (cls === null && (moduleRef === null || typeof moduleRef.module !== 'string')) {
      throw new AnalysisError('transformWithState() needs a StatefulProcessor class or a module reference { module: url, export: name }.');
    }
    // By shape, not by class identity: a processor may extend another copy of sluice's StatefulProcessor (dist/ and
    // sources, a bundled module).
    const proto = cls?.prototype as Partial<StatefulProcessor> | undefined;
    if (cls !== null && (typeof proto?.init !== 'function' || typeof proto.handleInputRows !== 'function')) {
      throw new AnalysisError(
        `transformWithState(): ${cls.name || 'the class'} is not a StatefulProcessor (it needs init and handleInputRows methods). Declare it as 'class ${cls.name || 'P'} extends StatefulProcessor<…>'.`,
      );
    }
    const outputSchema = 'fields' in options.outputSchema && Array.isArray((options.outputSchema as Schema).fields) ? (options.outputSchema as Schema) : schemaOf(options.outputSchema as SchemaSpec);
    let initialState: { plan: LogicalPlan; keys: readonly string[] } | null = null;
    if (options.initialState !== undefined && options.initialState !== null) {
      const init = options.initialState;
      if (!(init instanceof KeyValueGroupedDataFrame)) {
        throw new AnalysisError("transformWithState initialState must be a grouped DataFrame: initialState: stateDf.groupByKey(col('user')).");
      }
      initialState = { plan: init.df.plan, keys: init.keys };
    }
    const timeMode = options.timeMode ?? (options.eventTimeColumnName !== undefined ? 'eventTime' : 'none');
    const plan = plans.transformWithState({
      child: this.df.plan,
      keys: this.keys,
      processor: { cls, module: moduleRef },
      outputSchema,
      timeMode,
      outputMode: options.outputMode ?? null,
      eventTimeColumnName: options.eventTimeColumnName ?? null,
      initialState,
    });
    analyze(plan);
    return new DataFrame(this.df.session, plan);
  }
}

/**
 * The result of `groupBy`: call `agg` (or a shortcut) to aggregate.
 *
 * @example
 * df.groupBy('user').agg(count('*').as('n'), max('amount'));
 */
export class GroupedData {
  constructor(
    private readonly df: DataFrame,
    private readonly keys: readonly Expr[],
  ) {}

  /** Aggregates each group. @example .agg(count('*').as('n'), sum('amount').as('total')) */
  agg(...aggs: Column[]): DataFrame {
    if (aggs.length === 0) throw new AnalysisError('agg() needs at least one aggregate, e.g. agg(count("*")).');
    const plan = plans.aggregate(this.df.plan, this.keys, aggs.map((a) => a.expr));
    analyzeAggregate(plan);
    return new DataFrame(this.df.session, plan);
  }

  /** Rows per group, as column `count`. @example df.groupBy('user').count() */
  count(): DataFrame {
    return this.agg(new Column(exprs.alias(exprs.agg('count', null), 'count')));
  }

  private each(fn: 'sum' | 'avg' | 'min' | 'max', cols: string[]): DataFrame {
    return this.agg(...cols.map((c) => new Column(exprs.agg(fn, exprs.column(c)))));
  }
  /** sum() of each column. @example df.groupBy('user').sum('amount') */
  sum(...cols: string[]): DataFrame {
    return this.each('sum', cols);
  }
  /** avg() of each column. @example df.groupBy('user').avg('amount') */
  avg(...cols: string[]): DataFrame {
    return this.each('avg', cols);
  }
  /** min() of each column. @example df.groupBy('user').min('amount') */
  min(...cols: string[]): DataFrame {
    return this.each('min', cols);
  }
  /** max() of each column. @example df.groupBy('user').max('amount') */
  max(...cols: string[]): DataFrame {
    return this.each('max', cols);
  }
}

export { unalias, exprName };
