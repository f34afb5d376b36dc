/**
 * Pipeline spec → DataFrame, through the public API only (`session.readStream…load()`, `where`, `withColumn`,
 * `withWatermark`, `groupBy().agg()`), so a spec and the fluent query it describes build the same logical plan.
 * Errors raised while building (unknown column, wrong type, unknown format) come back as a `SpecError` naming the spec
 * field they belong to (`steps[1].filter: Column 'amout' does not exist …`).
 *
 * @module
 */
import { dirname } from 'node:path';
import type { DataFrame } from '../api/dataframe.js';
import { moduleUrl } from '../workers/load-module.js';
import { Column } from '../api/column.js';
import { col, fromCsv, fromJson } from '../api/functions.js';
import type { Session } from '../api/session.js';
import type { DataStreamWriter } from '../api/writers.js';
import type { StreamingQuery } from '../exec/streaming-query.js';
import { AnalysisError } from '../logical/resolve-expr.js';
import { UnsupportedJoinError, UnsupportedOperationError } from '../logical/unsupported-operations.js';
import type { Expr } from '../logical/expr.js';
import { DurationError } from '../types/duration.js';
import { SchemaError, type Schema } from '../types/data-type.js';
import { UnknownFormatError } from '../io/format-registry.js';
import { ConfError } from '../api/conf.js';
import { exprFromSpec, groupWindowFromSpec, IssueSink, schemaFromSpec, SpecError, type SpecPath } from './expr-spec.js';
import {
  parseAggregation,
  parseStep,
  triggerOf,
  watermarkFromSpec,
  type JoinInputSpec,
  type PipelineSpec,
  type ResolvedStep,
  type ResolvedTrigger,
} from './pipeline-spec.js';

/** How `dataFrameFromSpec` reads and shapes the query. */
export interface SpecToPlanOptions {
  /** `'stream'` (default): `session.readStream`; `'batch'`: `session.read` (bounded; watermarks are ignored). */
  readonly mode?: 'stream' | 'batch';
  /** Replaces `source.path` (e.g. `sluice batch --input`). */
  readonly path?: string;
  /** Added to (and overriding) `source.options` (e.g. Kafka offsets of a backfill). */
  readonly sourceOptions?: Readonly<Record<string, string>>;
  /** Used instead of reading the source (value decoding and every step still apply). */
  readonly input?: DataFrame;
  /** Applied just before the aggregation (after the watermark), or at the end when there is none. */
  readonly beforeAggregate?: (df: DataFrame) => DataFrame;
  /** Applied right after the aggregation, before `outputSteps`. */
  readonly afterAggregate?: (df: DataFrame) => DataFrame;
}

const CONNECTOR_USER_ERRORS = new Set([
  'ReaderOptionError',
  'FileNotFoundError',
  'KafkaOptionError',
  'DeltaOptionsError',
  'DeltaPredicateError',
  'DeltaTableNotFoundError',
  'ParquetError',
  'CorruptFileError',
  'MemorySinkError',
]);

/** Errors that mean "the spec (or its input) is wrong", as opposed to a failure while running. */
export function isSpecProblem(e: unknown): e is Error {
  if (!(e instanceof Error)) return false;
  return (
    e instanceof SpecError ||
    e instanceof AnalysisError ||
    e instanceof DurationError ||
    e instanceof SchemaError ||
    e instanceof UnknownFormatError ||
    e instanceof ConfError ||
    CONNECTOR_USER_ERRORS.has(e.name)
  );
}

/** Runs `build`; a problem it raises is reported at `path`. */
function at<T>(path: SpecPath, build: () => T, source: string | null): T {
  try {
    return build();
  } catch (e) {
    if (e instanceof SpecError) throw e;
    if (isSpecProblem(e)) throw new SpecError([{ path, message: e.message }], source);
    throw e;
  }
}

function parsed<T>(fn: (issues: IssueSink) => T | null, source: string | null): T {
  const issues = new IssueSink();
  const v = fn(issues);
  issues.throwIfAny(source);
  return v as T;
}

function optionStrings(o: Readonly<Record<string, string | number | boolean>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o ?? {})) out[k] = String(v);
  return out;
}

/**
 * Applies one step through the DataFrame API. `baseDir` resolves a processor module's relative path (the spec
 * file's folder; default the working directory). `joinInput` builds the other input of a join step (default: read it
 * as `df` is read, a stream or a batch, unless its source is `static`).
 *
 * @example
 * applyStep(df, { kind: 'filter', condition: col('amount').gt(0).expr });
 */
export function applyStep(df: DataFrame, step: ResolvedStep, baseDir?: string, joinInput?: (input: JoinInputSpec) => DataFrame): DataFrame {
  switch (step.kind) {
    case 'filter':
      return df.where(new Column(step.condition));
    case 'select':
      return df.select(...step.exprs.map((e) => new Column(e)));
    case 'withColumn':
      return step.columns.reduce((d, [name, e]) => d.withColumn(name, new Column(e)), df);
    case 'drop':
      return df.drop(...step.columns);
    case 'withColumnRenamed':
      return step.renames.reduce((d, [from, to]) => d.withColumnRenamed(from, to), df);
    case 'watermark':
      return df.withWatermark(step.column, step.delayMs);
    case 'dropDuplicates':
      return step.withinWatermark ? df.dropDuplicatesWithinWatermark(step.columns ?? undefined) : df.dropDuplicates(step.columns ?? undefined);
    case 'transformWithState':
      return df.groupByKey(...step.keys).transformWithState(
        { module: moduleUrl(step.module, baseDir), export: step.export },
        {
          outputSchema: step.outputSchema,
          ...(step.timeMode === undefined ? {} : { timeMode: step.timeMode }),
          ...(step.outputMode === undefined ? {} : { outputMode: step.outputMode }),
          ...(step.eventTimeColumnName === undefined ? {} : { eventTimeColumnName: step.eventTimeColumnName }),
        },
      );
    case 'alias':
      return df.alias(step.name);
    case 'join': {
      const right = joinInput ? joinInput(step.input) : inputFromSpec(step.input, df.session, { mode: df.isStreaming ? 'stream' : 'batch' }, null, []);
      return df.join(right, step.using ?? (step.condition === null ? null : new Column(step.condition)), step.joinType);
    }
  }
}

/** The DataFrame of a source (before `value` decoding); `at` is the path of the input it belongs to. */
function readSource(src: PipelineSpec['source'], session: Session, o: SpecToPlanOptions, file: string | null, where: SpecPath): DataFrame {
  const batch = o.mode === 'batch' || src.static === true;
  at([...where, 'source', 'format'], () => session.formats.get(src.format, batch ? 'batchScan' : 'streamSource'), file);
  const schema = src.schema ? parsed((i) => schemaFromSpec(src.schema, [...where, 'source', 'schema'], i), file) : null;
  const options = { ...optionStrings(src.options), ...(o.sourceOptions ?? {}) };
  const path = o.path ?? src.path;
  return at(
    [...where, 'source'],
    () => {
      if (batch) {
        const r = session.read.format(src.format).options(options);
        if (schema) r.schema(schema);
        return r.load(path);
      }
      const r = session.readStream.format(src.format).options(options);
      if (schema) r.schema(schema);
      return r.load(path);
    },
    file,
  );
}

/**
 * Builds the query of a spec. Steps run in this order: source → `value` decoding → `steps` → `watermark` →
 * `groupBy`/`aggregations` → `outputSteps`.
 *
 * @example
 * const df = dataFrameFromSpec(spec, session);                    // streaming
 * const bounded = dataFrameFromSpec(spec, session, { mode: 'batch', path: 'data/2026-05-30/' });
 */
export function dataFrameFromSpec(spec: PipelineSpec, session: Session, o: SpecToPlanOptions = {}, file: string | null = null): DataFrame {
  let df = inputFromSpec(spec, session, o, file, []);
  if (o.beforeAggregate) df = o.beforeAggregate(df);
  if (spec.aggregations) {
    const keys: Expr[] = [];
    const g = spec.groupBy;
    if (g?.window !== undefined) keys.push(parsed((i) => groupWindowFromSpec(g.window, ['groupBy', 'window'], i), file));
    (g?.keys ?? []).forEach((k, i) => keys.push(parsed((issues) => exprFromSpec(k, ['groupBy', 'keys', i], issues), file)));
    const grouped = at(['groupBy'], () => df.groupBy(...keys.map((k) => new Column(k))), file);
    const aggs = spec.aggregations.map((a, i) => new Column(parsed((issues) => parseAggregation(a, ['aggregations', i], issues), file)));
    df = at(['aggregations'], () => grouped.agg(...aggs), file);
    if (o.afterAggregate) df = o.afterAggregate(df);
  }
  return runSteps(df, spec.outputSteps, ['outputSteps'], session, o.mode, file);
}

/** The steps of a spec (or of a join input), each reported at its path under `where`. */
function runSteps(df: DataFrame, steps: PipelineSpec['steps'], where: SpecPath, session: Session, mode: SpecToPlanOptions['mode'], file: string | null): DataFrame {
  (steps ?? []).forEach((s, i) => {
    const step = parsed((issues) => parseStep(s, [...where, i], issues), file);
    const here = [...where, i, Object.keys(s)[0]!];
    const joinInput = (input: JoinInputSpec) => inputFromSpec(input, session, { ...(mode === undefined ? {} : { mode }) }, file, [...here, 'with']);
    df = at(here, () => applyStep(df, step, file === null ? undefined : dirname(file), joinInput), file);
  });
  return df;
}

/**
 * An input of the query: its source, `value` decoding, steps and watermark (the spec's main input, `where` = []), or
 * the other input of a join step, with its alias (`where` = its path, e.g. `steps[2].join.with`).
 */
function inputFromSpec(spec: JoinInputSpec, session: Session, o: SpecToPlanOptions, file: string | null, where: SpecPath): DataFrame {
  let df = o.input ?? readSource(spec.source, session, o, file, where);
  const value = spec.source.value;
  if (value) {
    const schema: Schema = parsed((i) => schemaFromSpec(value.schema, [...where, 'source', 'value', 'schema'], i), file);
    df = at(
      [...where, 'source', 'value'],
      () => {
        const raw = col('value').cast('string');
        const mode = value.mode ?? 'permissive';
        const e = value.format === 'json' ? fromJson(raw, schema, { mode }) : fromCsv(raw, schema, { mode, delimiter: value.delimiter ?? ',' });
        return df.select(e.as('e')).select('e.*');
      },
      file,
    );
  }
  df = runSteps(df, spec.steps, [...where, 'steps'], session, o.mode, file);
  if (spec.watermark) {
    const w = parsed((i) => watermarkFromSpec(spec.watermark, [...where, 'watermark'], i), file);
    df = at([...where, 'watermark'], () => df.withWatermark(w.column, w.delayMs), file);
  }
  if (spec.alias !== undefined) {
    const name = spec.alias;
    df = at([...where, 'alias'], () => df.alias(name), file);
  }
  return df;
}

/** Sinks that may run on a temporary checkpoint (their output is not durable). */
const TEMP_CHECKPOINT_SINKS = new Set(['memory', 'console']);

/** What the CLI (or a caller) may override when starting a spec. */
export interface StartOverrides {
  readonly trigger?: ResolvedTrigger;
  readonly checkpoint?: string;
  readonly queryName?: string;
}

/**
 * The `writeStream` of a spec's query: sink format, path, partitioning, options, output mode, trigger, checkpoint.
 *
 * @example
 * const q = streamWriterFromSpec(dataFrameFromSpec(spec, session), spec).start();
 */
export function streamWriterFromSpec(df: DataFrame, spec: PipelineSpec, overrides: StartOverrides = {}, file: string | null = null): DataStreamWriter {
  const sink = spec.sink;
  if (!sink) throw new SpecError([{ path: ['sink'], message: 'required to run the query, e.g. { "format": "delta", "path": "lake/sales" }' }], file);
  at(['sink', 'format'], () => df.session.formats.get(sink.format, 'streamingSink'), file);
  const w = df.writeStream.format(sink.format).outputMode(spec.outputMode ?? 'append');
  if (sink.options) w.options(sink.options);
  if (sink.partitionBy && sink.partitionBy.length > 0) w.partitionBy(...sink.partitionBy);
  if (sink.path) w.option('path', sink.path);
  const name = overrides.queryName ?? sink.queryName ?? spec.name;
  if (name) w.queryName(name);
  const checkpoint = overrides.checkpoint ?? spec.checkpoint;
  if (checkpoint) w.option('checkpointLocation', checkpoint);
  else if (!TEMP_CHECKPOINT_SINKS.has(sink.format.toLowerCase())) {
    throw new SpecError([{ path: ['checkpoint'], message: `required for the ${sink.format} sink (exactly-once needs a checkpoint folder), e.g. "checkpoints/${spec.name ?? 'query'}"` }], file);
  }
  const t = overrides.trigger ?? triggerOf(spec);
  at(['trigger'], () => w.trigger('processingTime' in t ? { processingTime: t.processingTime } : t), file);
  return w;
}

/**
 * Builds and starts a spec's streaming query.
 *
 * @example
 * const q = startPipeline(parsePipelineSpec(json), new Session());
 * await q.awaitTermination();
 */
export function startPipeline(spec: PipelineSpec, session: Session, overrides: StartOverrides = {}, file: string | null = null): StreamingQuery {
  const df = dataFrameFromSpec(spec, session, { mode: 'stream' }, file);
  const writer = streamWriterFromSpec(df, spec, overrides, file);
  try {
    return writer.start();
  } catch (e) {
    if (!isSpecProblem(e) || e instanceof SpecError) throw e;
    const path = e instanceof UnsupportedJoinError ? joinStepPath(spec) : e instanceof UnsupportedOperationError ? ['outputMode'] : e.name === 'FileNotFoundError' ? ['source', 'path'] : ['sink'];
    throw new SpecError([{ path, message: e.message }], file);
  }
}

/** The path of the spec's join step (`steps[1].join`) when it has one at the top level, else `steps`. */
function joinStepPath(spec: PipelineSpec): SpecPath {
  const found: SpecPath[] = [];
  for (const field of ['steps', 'outputSteps'] as const) (spec[field] ?? []).forEach((s, i) => 'join' in s && found.push([field, i, 'join']));
  return found.length === 1 ? found[0]! : ['steps'];
}
