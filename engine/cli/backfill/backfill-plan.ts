/**
 * The pure decisions of a backfill, tested without I/O: which partition column carries event time, how a requested
 * range widens to whole partitions, which windows are recomputed, and the `replaceWhere` predicate.
 *
 * Which windows a backfill replaces: the sink is partitioned by a date derived from the window start
 * (`toDate(window.start)`), so the requested `[from, to)` widens to whole days `[from', to')` (UTC midnight before
 * `from`, midnight at or after `to`). Every partition `date ∈ [from', to')` is replaced; it receives every window whose
 * start lies in `[from', to')` — including a sliding or session window that ends after `to'`, which lives in the
 * partition of its start — except, when a live query writes the same table, windows that end after the watermark its
 * last committed batch ran with (the live query has not emitted those yet and will).
 *
 * @module
 */
import { exprName, splitName, unalias, type Expr, type SessionWindowExpr, type TimeWindowExpr } from '../../logical/expr.js';
import type { LogicalPlan } from '../../logical/plan.js';

export const DAY_MS = 86_400_000;

/** How the partition column relates to event time. */
export type TimePartition =
  | {
      readonly kind: 'window';
      /** The partition column (e.g. `date`). */
      readonly column: string;
      /** The aggregate's window output column (`window` or `session_window`). */
      readonly windowColumn: string;
      readonly window: TimeWindowExpr | SessionWindowExpr;
    }
  | {
      readonly kind: 'eventTime';
      readonly column: string;
    };

/** A backfill the spec cannot do, with the fix. */
export class BackfillUnsupportedError extends Error {
  override readonly name = 'BackfillUnsupportedError';
}

/**
 * Finds which partition column is `toDate(<window>.start)` (or, without aggregation, `toDate(<time column>)`).
 *
 * @example
 * findTimePartition(df.plan, ['date']); // { kind: 'window', column: 'date', windowColumn: 'window', window: … }
 */
export function findTimePartition(plan: LogicalPlan, partitionBy: readonly string[]): TimePartition {
  if (partitionBy.length === 0) {
    throw new BackfillUnsupportedError(
      'A backfill replaces whole partitions, but the sink is not partitioned. Partition it by the window date: ' +
        '"outputSteps": [{ "withColumn": { "date": { "fn": "toDate", "args": ["window.start"] } } }] and "sink.partitionBy": ["date"].',
    );
  }
  const reasons: string[] = [];
  for (const column of partitionBy) {
    const r = traceDate(plan, column);
    if (typeof r === 'string') reasons.push(`'${column}' ${r}`);
    else return r;
  }
  throw new BackfillUnsupportedError(
    `A backfill needs a partition column that is the date of the window start, e.g. "date": { "fn": "toDate", "args": ["window.start"] }; ` +
      `${reasons.join('; ')}.`,
  );
}

function traceDate(plan: LogicalPlan, partitionColumn: string): TimePartition | string {
  let wanted = partitionColumn;
  /** Once toDate(x) is found: the path of x (`['window', 'start']`), followed down to the aggregate. */
  let arg: string[] | null = null;
  let node: LogicalPlan = plan;
  for (;;) {
    switch (node.kind) {
      case 'project': {
        const head = arg === null ? wanted : arg[0]!;
        const e = node.exprs.find((x) => exprName(x) === head);
        if (e === undefined) {
          if (arg === null) return 'is not produced by a projection';
          // Past a `select('e.*')` the argument is a field of a struct: fine when no aggregation lies below.
          return hasAggregate(node) ? `toDate's argument '${arg.join('.')}' cannot be followed to the window` : { kind: 'eventTime', column: partitionColumn };
        }
        const body = unalias(e);
        if (arg === null) {
          if (body.kind === 'call' && body.fn === 'toDate' && body.args.length === 1 && body.args[0]!.kind === 'column') {
            arg = splitName(body.args[0]!.name);
          } else if (body.kind === 'column' && splitName(body.name).length === 1) {
            wanted = body.name;
          } else return `is computed as ${describe(body)}, not toDate(<window>.start)`;
        } else if (body.kind === 'column') {
          arg = [...splitName(body.name), ...arg.slice(1)];
        } else if (hasAggregate(node)) return `toDate's argument '${arg.join('.')}' is computed, not the window start`;
        else return { kind: 'eventTime', column: partitionColumn };
        node = node.child;
        break;
      }
      case 'filter':
      case 'watermark':
      case 'deduplicate':
      case 'sort':
      case 'limit':
      case 'subqueryAlias':
        node = node.child;
        break;
      case 'aggregate': {
        if (arg === null) return 'is a grouping key, not a date derived from the window start';
        const w = node.groupBy.find((g) => exprName(g) === arg![0]);
        const body = w === undefined ? undefined : unalias(w);
        if (body === undefined || (body.kind !== 'window' && body.kind !== 'sessionWindow')) {
          return `is toDate(${arg.join('.')}), which is not the start of the query's window`;
        }
        if (arg.length !== 2 || arg[1] !== 'start') return `is toDate(${arg.join('.')}): use the window's start, toDate(${arg[0]}.start)`;
        return { kind: 'window', column: partitionColumn, windowColumn: arg[0]!, window: body };
      }
      case 'relation':
      case 'streamingRelation':
        if (arg === null) return 'is a column of the source, not a date derived from event time';
        return { kind: 'eventTime', column: partitionColumn };
      case 'union':
        return 'comes from a union';
      case 'join':
        return 'comes from a join';
    }
  }
}

function hasAggregate(p: LogicalPlan): boolean {
  if (p.kind === 'aggregate') return true;
  if (p.kind === 'relation' || p.kind === 'streamingRelation') return false;
  if (p.kind === 'union') return p.children.some(hasAggregate);
  if (p.kind === 'join') return hasAggregate(p.left) || hasAggregate(p.right);
  return hasAggregate(p.child);
}

function describe(e: Expr): string {
  return e.kind === 'call' ? `${e.fn}(…)` : e.kind;
}

/** A half-open event-time range `[fromMs, toMs)`. */
export interface TimeRange {
  readonly fromMs: number;
  readonly toMs: number;
}

/**
 * Widens a range to whole UTC days (the partitions of a `toDate` column).
 *
 * @example
 * widenToDays({ fromMs: Date.parse('2026-05-30T10:00Z'), toMs: Date.parse('2026-05-30T12:00Z') });
 * // [2026-05-30T00:00Z, 2026-05-31T00:00Z)
 */
export function widenToDays(r: TimeRange): TimeRange {
  // `+ 0` turns the -0 of Math.ceil(-0.5) into 0.
  const fromMs = Math.floor(r.fromMs / DAY_MS) * DAY_MS + 0;
  const toMs = Math.ceil(r.toMs / DAY_MS) * DAY_MS + 0;
  return { fromMs, toMs: toMs > fromMs ? toMs : fromMs + DAY_MS };
}

/** `YYYY-MM-DD` (UTC) of epoch milliseconds. */
export function dateString(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The dates (`YYYY-MM-DD`) of the days in a day-aligned range. */
export function datesIn(r: TimeRange): string[] {
  const out: string[] = [];
  for (let t = r.fromMs; t < r.toMs; t += DAY_MS) out.push(dateString(t));
  return out;
}

/** The `replaceWhere` predicate of a day-aligned range on a date partition column. */
export function partitionPredicate(column: string, r: TimeRange): Record<string, { gte: string; lt: string }> {
  return { [column]: { gte: dateString(r.fromMs), lt: dateString(r.toMs) } };
}

/**
 * Event times a recompute must read so that every window starting in `r` is complete: `[from, to + size)` for
 * tumbling and sliding windows; everything for session windows (a session may start long before its last row).
 *
 * @example
 * inputTimeRange(windowOf('5 minutes'), day); // [day.from, day.to + 5 min)
 */
export function inputTimeRange(tp: TimePartition, r: TimeRange): TimeRange | null {
  if (tp.kind === 'eventTime') return r;
  if (tp.window.kind === 'window') return { fromMs: r.fromMs, toMs: r.toMs + tp.window.sizeMs };
  return null;
}
