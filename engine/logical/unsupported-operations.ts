/**
 * What a query may not do (Spark's UnsupportedOperationChecker): a streaming query's checks run at `start()`, a batch
 * query's when it runs (`collect()`, `toBatches()`, `write…save()`). Every message names the fix.
 *
 * @module
 */
import type { OutputMode } from '../io/sink.js';
import { analyze, analyzeAggregate } from './analyzer.js';
import { analyzeJoin, type JoinAnalysis } from './join-analysis.js';
import { joinTypeName } from './join-type.js';
import { canEvictPreserved, joinWatermarks, type JoinSide } from './join-watermark.js';
import { AnalysisError } from './resolve-expr.js';
import { planChildren, type JoinNode, type LogicalPlan } from './plan.js';
import { type JoinType } from './join-type.js';

/** A streaming query refused for its output mode or operators. */
export class UnsupportedOperationError extends AnalysisError {}

/**
 * A join refused in a streaming query (which join type with which side streaming, or what state it would need).
 *
 * @example
 * throw new UnsupportedJoinError('FullOuter join with a streaming DataFrame/Dataset on the left … is not supported. …');
 */
export class UnsupportedJoinError extends UnsupportedOperationError {}

/**
 * A sink that does not take the query's output mode: Spark's `STREAMING_OUTPUT_MODE.UNSUPPORTED_DATASOURCE`
 * (sqlState 42KDE), with the format (`className`) and the mode.
 *
 * @example
 * throw new UnsupportedOutputModeError('parquet', 'update', ['append']);
 * // [STREAMING_OUTPUT_MODE.UNSUPPORTED_DATASOURCE] Invalid streaming output mode: update. This output mode is not supported in Data Source parquet. …
 */
export class UnsupportedOutputModeError extends UnsupportedOperationError {
  readonly errorClass = 'STREAMING_OUTPUT_MODE.UNSUPPORTED_DATASOURCE';
  readonly sqlState = '42KDE';
  constructor(
    readonly className: string,
    readonly outputMode: OutputMode,
    readonly supportedOutputModes: readonly OutputMode[],
  ) {
    super(
      `[STREAMING_OUTPUT_MODE.UNSUPPORTED_DATASOURCE] Invalid streaming output mode: ${outputMode}. ` +
        `This output mode is not supported in Data Source ${className}. SQLSTATE: 42KDE. ` +
        `Use outputMode(${supportedOutputModes.map((m) => `'${m}'`).join(' or ')}).`,
    );
  }
}

function collect(p: LogicalPlan, out: LogicalPlan[] = []): LogicalPlan[] {
  out.push(p);
  for (const c of planChildren(p)) collect(c, out);
  return out;
}

/**
 * Throws `UnsupportedOperationError` when a streaming plan cannot run in `mode`.
 *
 * @example
 * checkStreamingPlan(df.plan, 'append'); // throws for an aggregation without watermark
 */
export function checkStreamingPlan(plan: LogicalPlan, mode: OutputMode): void {
  const nodes = collect(plan).filter((n) => analyze(n).streaming);
  checkStreamStreamJoins(nodes, mode);
  const aggs = nodes.filter((n): n is Extract<LogicalPlan, { kind: 'aggregate' }> => n.kind === 'aggregate');
  if (mode === 'complete' && nodes.some((n) => n.kind === 'transformWithState')) {
    throw new UnsupportedOperationError(
      "Complete output mode is not supported with transformWithState: a processor emits rows, it keeps no result table to repeat. Use outputMode('append') or 'update'.",
    );
  }
  if (mode === 'complete' && aggs.length === 0) {
    throw new UnsupportedOperationError(
      'Complete output mode not supported when there are no streaming aggregations on streaming DataFrames/Datasets. ' +
        "Use outputMode('append') (or add a groupBy().agg()).",
    );
  }
  for (const a of aggs) {
    const info = analyzeAggregate(a);
    if (info.aggs.some((x) => x.spec.fn === 'countDistinct')) {
      throw new UnsupportedOperationError(
        'Distinct aggregations (countDistinct) are not supported on streaming DataFrames. Deduplicate first with ' +
          'dropDuplicates([...]) and count, or run the query as a batch.',
      );
    }
    if (info.window?.kind === 'session') {
      if (mode === 'update') {
        throw new UnsupportedOperationError(
          "Update output mode not supported for session window on streaming DataFrames/Datasets. Use outputMode('append') or 'complete'.",
        );
      }
      if (info.keys.length === 0) {
        throw new UnsupportedOperationError(
          'Global aggregation with session window in streaming query is not supported: add a key, e.g. groupBy(sessionWindow(...), col("user")).',
        );
      }
    }
    if (mode === 'append' && info.eventTime === null) {
      throw new UnsupportedOperationError(
        'Append output mode not supported when there are streaming aggregations on streaming DataFrames/DataSets without watermark. ' +
          "Call withWatermark(column, delay) on the event-time column before groupBy (and group by window(column, …) or the column), or use outputMode('update') or 'complete'.",
      );
    }
  }
  if (aggs.length > 1 && mode !== 'append') {
    throw new UnsupportedOperationError(
      `Multiple streaming aggregations are not supported in ${mode} mode: only append mode can chain aggregations (each with a watermark).`,
    );
  }
  for (const n of nodes) {
    if (n.kind === 'join') checkStreamStaticJoin(n);
    if (n.kind === 'sort') {
      const below = collect(n.child);
      if (mode !== 'complete' || !below.some((x) => x.kind === 'aggregate')) {
        throw new UnsupportedOperationError(
          "Sorting is not supported on streaming DataFrames/Datasets, unless it is on an aggregated DataFrame in Complete output mode. Sort in the sink's reader, or use outputMode('complete').",
        );
      }
    }
    if (n.kind === 'limit' && mode !== 'complete') {
      throw new UnsupportedOperationError(`limit() on a streaming DataFrame is only supported in complete mode, not ${mode}.`);
    }
  }
}

/** How to write `how` in a message: `'leftOuter'`. */
function how(t: JoinType): string {
  return `'${t}'`;
}

/**
 * Throws `UnsupportedOperationError` for a join with exactly one streaming side whose type cannot be computed
 * incrementally (Spark's `UnsupportedOperationChecker`): a join type that keeps unmatched rows of the static side, or
 * decides a row's fate by the absence of a match on the streaming side, would need the whole stream. Inner and cross
 * joins are allowed with the stream on either side; left outer and left semi need the stream on the left, right outer
 * on the right; full outer is refused, and so is left anti with the stream on the right. Joins of two streams, or of
 * two static inputs, are not this function's concern. Each message says which side to put where.
 *
 * @example
 * checkStreamStaticJoin(stream.join(table, 'id', 'leftOuter').plan as JoinNode);  // allowed
 * checkStreamStaticJoin(table.join(stream, 'id', 'leftOuter').plan as JoinNode);  // throws: LeftOuter join with a streaming DataFrame/Dataset on the right …
 */
export function checkStreamStaticJoin(j: JoinNode): void {
  const leftStreaming = analyze(j.left).streaming;
  const rightStreaming = analyze(j.right).streaming;
  if (leftStreaming === rightStreaming) return;
  const t = j.joinType;
  const refuse = (streamOn: 'left' | 'right', fix: string): never => {
    const staticOn = streamOn === 'left' ? 'right' : 'left';
    throw new UnsupportedJoinError(
      `${joinTypeName(t)} join with a streaming DataFrame/Dataset on the ${streamOn} and a static DataFrame/Dataset on the ${staticOn} is not supported. ${fix}`,
    );
  };
  switch (t) {
    case 'inner':
    case 'cross':
      return;
    case 'leftOuter':
    case 'leftSemi':
      if (rightStreaming) {
        refuse(
          'right',
          `The rows of the static side cannot be ${t === 'leftOuter' ? 'kept unmatched' : 'tested for a match'} before the stream ends: put the stream on the left, ` +
            `stream.join(table, on, ${how(t)}) (every stream row${t === 'leftOuter' ? ', matched or not' : ' that has a match'}), or join them ${how('inner')}.`,
        );
      }
      return;
    case 'rightOuter':
      if (leftStreaming) {
        refuse(
          'left',
          `The rows of the static side cannot be kept unmatched before the stream ends: put the stream on the right, table.join(stream, on, ${how('rightOuter')}), ` +
            `or write stream.join(table, on, ${how('leftOuter')}) (every stream row, matched or not).`,
        );
      }
      return;
    case 'fullOuter':
      refuse(
        leftStreaming ? 'left' : 'right',
        `The unmatched rows of the static side cannot be known before the stream ends: keep every stream row with ` +
          `stream.join(table, on, ${how('leftOuter')}) (the stream on the left), or join them ${how('inner')}.`,
      );
      return;
    case 'leftAnti':
      if (rightStreaming) {
        refuse(
          'right',
          `Whether a static row never has a match cannot be known before the stream ends: put the stream on the left, ` +
            `stream.join(table, on, ${how('leftAnti')}) (the stream rows without a match in the table).`,
        );
      }
      return;
  }
}

/**
 * Throws `UnsupportedOperationError` when a batch plan uses an operator that only means something on a stream, as
 * Spark's checkForBatch: `dropDuplicatesWithinWatermark` ("…is not supported with batch DataFrames/DataSets").
 *
 * @example
 * checkBatchPlan(session.createDataFrame(rows, schema).dropDuplicatesWithinWatermark(['id']).plan); // throws
 */
export function checkBatchPlan(plan: LogicalPlan): void {
  for (const n of collect(plan)) {
    if (n.kind === 'deduplicate' && n.withinWatermark) {
      throw new UnsupportedOperationError(
        'dropDuplicatesWithinWatermark is not supported with batch DataFrames/DataSets: ' +
          `use dropDuplicates(${n.keys ? `[${n.keys.map((k) => `'${k}'`).join(', ')}]` : ''}) on a batch DataFrame, or read the input with readStream.`,
      );
    }
  }
}

/** The joins of a plan whose two inputs are both streaming, with their analysis. */
function streamStreamJoins(nodes: readonly LogicalPlan[]): JoinAnalysis[] {
  const out: JoinAnalysis[] = [];
  for (const n of nodes) {
    if (n.kind !== 'join') continue;
    const j = analyzeJoin(n);
    if (j.left.streaming && j.right.streaming) out.push(j);
  }
  return out;
}

function modeName(mode: OutputMode): string {
  return mode[0]!.toUpperCase() + mode.slice(1);
}

/**
 * Spark's rules for joins of two streams (UnsupportedOperationChecker): append mode only, an equality predicate,
 * no left anti join, and an outer or semi join only when its preserved side's state can be evicted (a watermark in
 * the join keys, or a watermark on the nullable side and a range condition).
 */
function checkStreamStreamJoins(nodes: readonly LogicalPlan[], mode: OutputMode): void {
  for (const j of streamStreamJoins(nodes)) {
    const type = joinTypeName(j.joinType);
    if (mode !== 'append') {
      throw new UnsupportedOperationError(
        `Join between two streaming DataFrames/Datasets is not supported in ${modeName(mode)} output mode, only in Append output mode. Use outputMode('append').`,
      );
    }
    if (j.joinType === 'leftAnti') {
      throw new UnsupportedOperationError(
        `${type} joins with a streaming DataFrame/Dataset on the right are not supported. Join with a static DataFrame on the right, or use a left outer join and keep the rows whose right columns are null.`,
      );
    }
    if (j.keys.length === 0) {
      throw new UnsupportedOperationError(
        "Stream-stream join without equality predicate is not supported. Join on a key, e.g. col('l.id').eq(col('r.id')).",
      );
    }
    if ((j.joinType === 'leftOuter' || j.joinType === 'rightOuter' || j.joinType === 'fullOuter' || j.joinType === 'leftSemi') && !canEvictPreserved(j)) {
      throw new UnsupportedOperationError(
        `Stream-stream ${type} join between two streaming DataFrame/Datasets is not supported without a watermark in the join keys, ` +
          'or a watermark on the nullable side and an appropriate range condition. Call withWatermark on both inputs and bound the times, ' +
          "e.g. col('r.time').between(col('l.time'), col('l.time').plus(interval('1 hour'))), or join on a watermarked time or window.",
      );
    }
  }
}

/**
 * What a streaming plan will do that it may not mean to (beyond Spark, which starts such queries silently): a
 * stream–stream join side whose state is never evicted, so it grows for as long as the query runs. Each warning
 * names the side and the missing condition.
 *
 * @example
 * streamingPlanWarnings(impressions.join(clicks, col('adId').eq(col('clickAdId'))).plan);
 * // ["Stream-stream Inner join on [(adId = clickAdId)]: the left side's state is never evicted: …"]
 */
export function streamingPlanWarnings(plan: LogicalPlan): string[] {
  const out: string[] = [];
  for (const j of streamStreamJoins(collect(plan).filter((n) => analyze(n).streaming))) {
    if (j.keys.length === 0 || j.joinType === 'leftAnti') continue;
    const w = joinWatermarks(j);
    for (const side of ['left', 'right'] as const) {
      if ((side === 'left' ? w.left : w.right) !== null) continue;
      out.push(`Stream-stream ${joinTypeName(j.joinType)} join on [${j.keys.map((k) => k.text).join(', ')}]: the ${side} side's state is never evicted: ${missingBound(j, side, w.lateLeft, w.lateRight)}`);
    }
  }
  return out;
}

function missingBound(j: JoinAnalysis, side: JoinSide, lateLeft: { name: string } | null, lateRight: { name: string } | null): string {
  const mine = side === 'left' ? lateLeft : lateRight;
  const theirs = side === 'left' ? lateRight : lateLeft;
  const other = side === 'left' ? 'right' : 'left';
  if (mine === null) return `the ${side} input has no watermark. Call withWatermark(column, delay) on it and bound its time by the ${other} side's, or join on a watermarked time or window.`;
  if (theirs === null) return `the ${other} input has no watermark, so nothing bounds how late a ${other} row matching a ${side} row can come. Call withWatermark(column, delay) on the ${other} input.`;
  return (
    `no condition bounds the ${side} side's ${mine.name} from below by the ${other} side's ${theirs.name}. ` +
    `Add a range condition such as ${side}.${mine.name} >= ${other}.${theirs.name} - interval('1 hour'), or join on a watermarked time or window.`
  );
}
