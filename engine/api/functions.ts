/**
 * Column functions with Spark's names in camelCase.
 *
 * @module
 */
import { parseType, schemaOf, type DataType, type Schema, type SchemaSpec } from '../types/data-type.js';
import { DurationError, parseDuration, type Duration } from '../types/duration.js';
import { exprs, type AggFn } from '../logical/expr.js';
import { AnalysisError } from '../logical/resolve-expr.js';
import { Column, toColumnExpr, toExpr, type ColumnLike } from './column.js';

/**
 * A column by name; dots reach into structs (`'window.start'`), backticks quote names with dots.
 *
 * @example
 * col('amount').gt(0);
 * col('window.start');
 */
export function col(name: string): Column {
  return new Column(exprs.column(name));
}

/** Alias of `col`. @example column('user') */
export const column = col;

/**
 * A literal value: number, string, boolean, bigint, Date (a timestamp) or null; optionally typed.
 *
 * @example
 * lit(100); lit('2026-01-01T00:00:00Z', 'timestamp');
 */
export function lit(value: unknown, type?: DataType | string): Column {
  return new Column(exprs.literal(value, type === undefined ? null : parseType(type)));
}

function aggOf(fn: AggFn, c: ColumnLike | null): Column {
  return new Column(exprs.agg(fn, c === null ? null : toColumnExpr(c)));
}

/**
 * Counts rows (`count('*')`) or non-null values of a column.
 *
 * @example
 * df.groupBy('user').agg(count('*').as('n'));
 */
export function count(c: ColumnLike): Column {
  if (c === '*' || c === '1') return aggOf('count', null);
  return aggOf('count', c);
}

/** Counts distinct non-null values (batch queries only). @example countDistinct('user') */
export function countDistinct(c: ColumnLike): Column {
  return aggOf('countDistinct', c);
}

/** Sum of non-null values (a long for int/long input, a double for doubles). @example sum('amount').as('total') */
export function sum(c: ColumnLike): Column {
  return aggOf('sum', c);
}

/** Average of non-null values, a double. @example avg('amount') */
export function avg(c: ColumnLike): Column {
  return aggOf('avg', c);
}

/** Alias of `avg`. @example mean('amount') */
export const mean = avg;

/** Smallest non-null value (NaN above every number). @example min('price') */
export function min(c: ColumnLike): Column {
  return aggOf('min', c);
}

/** Largest non-null value (NaN above every number). @example max('price') */
export function max(c: ColumnLike): Column {
  return aggOf('max', c);
}

/** Value of the group's first row in arrival order (null included). @example first('status') */
export function first(c: ColumnLike): Column {
  return aggOf('first', c);
}

/** Value of the group's last row in arrival order (null included). @example last('status') */
export function last(c: ColumnLike): Column {
  return aggOf('last', c);
}

function durationMs(d: Duration, what: string): number {
  return parseDuration(d, what);
}

/** Raised for window definitions Spark refuses too. */
export class WindowDefinitionError extends AnalysisError {}

/**
 * A tumbling (`slide` omitted) or sliding event-time window, Spark's `window()`: `[start, end)` with
 * `start = t − floorMod(t − startTime, slide)`. Use it as a `groupBy` key, or in `select`/`withColumn`, where a sliding
 * window gives one row per window that holds the row (the latest first); either way rows with a null time get no window
 * and are dropped. The result column is `window {start, end}`; it carries its time column's watermark.
 *
 * @example
 * df.groupBy(window(col('ts'), '5 minutes'), col('user'));
 * df.select(window('ts', '10 seconds', '2 seconds'), col('user')); // ≤ 5 rows per row
 */
export function window(timeColumn: ColumnLike, windowDuration: Duration, slideDuration?: Duration, startTime?: Duration): Column {
  const size = durationMs(windowDuration, 'window duration');
  const slide = slideDuration === undefined ? size : durationMs(slideDuration, 'slide duration');
  const start = startTime === undefined ? 0 : durationMs(startTime, 'window start time');
  if (size <= 0) throw new WindowDefinitionError(`The window duration (${windowDuration}) must be greater than 0.`);
  if (slide <= 0) throw new WindowDefinitionError(`The slide duration (${slideDuration}) must be greater than 0.`);
  if (slide > size) {
    throw new WindowDefinitionError(
      `The slide duration (${slideDuration}) must be less than or equal to the window duration (${windowDuration}).`,
    );
  }
  if (Math.abs(start) >= slide) {
    throw new WindowDefinitionError(
      `The absolute value of the start time (${startTime}) must be less than the slide duration (${slideDuration ?? windowDuration}).`,
    );
  }
  return new Column(exprs.window(toColumnExpr(timeColumn), size, slide, start));
}

/**
 * An interval literal: a fixed duration that can be added to or subtracted from a timestamp (`ts ± interval` is a
 * timestamp). Months count as 31 days, as elsewhere in sluice. The usual use is a join's time bound.
 *
 * @example
 * col('clickTime').leq(col('impTime').plus(interval('1 hour')));
 * col('ts').minus(interval('5 minutes'));
 */
export function interval(duration: Duration): Column {
  const ms = durationMs(duration, 'interval');
  return new Column(exprs.call('interval', [], { ms }));
}

/**
 * A session window: each row opens `[t, t + gap)`, and under `groupBy` rows of the same key whose sessions overlap or
 * touch merge; in `select`/`withColumn` each row keeps its own `[t, t + gap)`. The gap is a duration or a per-row column
 * (a duration string or milliseconds); rows whose time is null or whose gap is null or ≤ 0 are dropped. The result
 * column is `session_window {start, end}`.
 *
 * @example
 * df.groupBy(sessionWindow(col('ts'), '30 seconds'), col('user'));
 * df.groupBy(sessionWindow('ts', when(col('vip'), lit('1 minute')).otherwise(lit('10 seconds'))), col('user'));
 */
export function sessionWindow(timeColumn: ColumnLike, gap: Duration | Column): Column {
  let gapExpr;
  if (gap instanceof Column) gapExpr = gap.expr;
  else {
    let ms: number;
    try {
      ms = parseDuration(gap, 'session gap');
    } catch (e) {
      throw e instanceof DurationError ? e : new DurationError(String(e));
    }
    if (ms <= 0) throw new WindowDefinitionError(`The session gap (${gap}) must be greater than 0.`);
    gapExpr = exprs.literal(ms, 'long');
  }
  return new Column(exprs.sessionWindow(toColumnExpr(timeColumn), gapExpr));
}

/** The first non-null argument. @example coalesce(col('nick'), col('name'), lit('?')) */
export function coalesce(...cols: (ColumnLike | Column)[]): Column {
  return new Column(exprs.call('coalesce', cols.map((c) => (typeof c === 'string' ? toColumnExpr(c) : c.expr))));
}

/** A `CASE WHEN` builder. */
export class WhenColumn extends Column {
  constructor(private readonly parts: readonly ReturnType<typeof toExpr>[]) {
    super(exprs.call('when', parts));
  }
  /** Adds a branch. @example when(col('a').gt(1), 'big').when(col('a').gt(0), 'small') */
  when(condition: Column, value: unknown): WhenColumn {
    return new WhenColumn([...this.parts, condition.expr, toExpr(value)]);
  }
  /** The value when no branch matches (default null). @example when(col('a').gt(0), 1).otherwise(0) */
  otherwise(value: unknown): Column {
    return new Column(exprs.call('when', [...this.parts, toExpr(value)]));
  }
}

/** `CASE WHEN condition THEN value …`. @example when(col('amount').gt(100), 'large').otherwise('small') */
export function when(condition: Column, value: unknown): WhenColumn {
  return new WhenColumn([condition.expr, toExpr(value)]);
}

/** A struct of columns (names from the columns or their aliases). @example struct(col('a'), col('b').as('x')) */
export function struct(...cols: ColumnLike[]): Column {
  return new Column(exprs.call('struct', cols.map(toColumnExpr)));
}

/** Options of `fromJson` / `fromCsv`. */
export interface ParseOptions {
  /**
   * `permissive` (default: null struct for a bad value), `dropMalformed` (drop the row) or `failFast` (stop, naming the
   * row and its text). The mode holds wherever the parse sits in a `select`/`withColumn` or a `where` — also nested,
   * as in `fromJson(…).getField('a')`, `coalesce(fromJson(…), …)`, `struct(…)`, `toJson(…)` or a `when` branch (only
   * the rows that take the branch are parsed, as Spark) — and every row it cannot parse goes to `deadLetterPath`,
   * counted in progress. A `dropMalformed` parse in a `groupBy` or `orderBy` key is refused when it meets a bad row:
   * nothing there can drop it; parse in a `select` first.
   */
  readonly mode?: 'permissive' | 'dropMalformed' | 'failFast';
  /** CSV only: the field delimiter (default `,`). */
  readonly delimiter?: string;
}

function schemaArg(schema: Schema | SchemaSpec): Schema {
  return schemaOf(schema as SchemaSpec);
}

/**
 * Parses a JSON string (or binary) column into a struct; address fields as `col('e.user')` or expand with `select('e.*')`.
 *
 * @example
 * df.select(fromJson(col('value').cast('string'), { user: 'string', ts: 'timestamp' }).as('e')).select('e.*');
 */
export function fromJson(c: ColumnLike, schema: Schema | SchemaSpec, options: ParseOptions = {}): Column {
  return new Column(exprs.call('fromJson', [toColumnExpr(c)], { schema: schemaArg(schema), mode: options.mode ?? 'permissive' }));
}

/** Parses a CSV line column into a struct. @example fromCsv(col('line'), { a: 'int', b: 'string' }) */
export function fromCsv(c: ColumnLike, schema: Schema | SchemaSpec, options: ParseOptions = {}): Column {
  return new Column(
    exprs.call('fromCsv', [toColumnExpr(c)], { schema: schemaArg(schema), mode: options.mode ?? 'permissive', delimiter: options.delimiter ?? ',' }),
  );
}

/** A JSON string of a struct (null fields omitted, timestamps ISO-8601). @example toJson(struct(col('a'), col('b'))) */
export function toJson(c: ColumnLike): Column {
  return new Column(exprs.call('toJson', [toColumnExpr(c)]));
}

/** Lower-case. @example lower(col('user')) */
export function lower(c: ColumnLike): Column {
  return new Column(exprs.call('lower', [toColumnExpr(c)]));
}
/** Upper-case. @example upper(col('user')) */
export function upper(c: ColumnLike): Column {
  return new Column(exprs.call('upper', [toColumnExpr(c)]));
}
/** Length in characters (bytes for binary). @example length(col('user')) */
export function length(c: ColumnLike): Column {
  return new Column(exprs.call('length', [toColumnExpr(c)]));
}
/** String concatenation (null if any part is null). @example concat(col('a'), lit('-'), col('b')) */
export function concat(...cols: (ColumnLike | Column)[]): Column {
  return new Column(exprs.call('concat', cols.map((c) => (typeof c === 'string' ? toColumnExpr(c) : c.expr))));
}
/** Absolute value. @example abs(col('delta')) */
export function abs(c: ColumnLike): Column {
  return new Column(exprs.call('abs', [toColumnExpr(c)]));
}
/** Rounds down to a long. @example floor(col('x')) */
export function floor(c: ColumnLike): Column {
  return new Column(exprs.call('floor', [toColumnExpr(c)]));
}
/** Rounds up to a long. @example ceil(col('x')) */
export function ceil(c: ColumnLike): Column {
  return new Column(exprs.call('ceil', [toColumnExpr(c)]));
}
/** Rounds half away from zero to `scale` decimals. @example round(col('price'), 2) */
export function round(c: ColumnLike, scale = 0): Column {
  return new Column(exprs.call('round', [toColumnExpr(c), exprs.literal(scale, 'int')]));
}
/** The date of a timestamp (UTC). @example toDate(col('ts')) */
export function toDate(c: ColumnLike): Column {
  return new Column(exprs.call('toDate', [toColumnExpr(c)]));
}
/** Epoch milliseconds of a timestamp. @example unixMillis(col('ts')) */
export function unixMillis(c: ColumnLike): Column {
  return new Column(exprs.call('unixMillis', [toColumnExpr(c)]));
}
/** A timestamp from epoch milliseconds. @example timestampMillis(col('epoch_ms')) */
export function timestampMillis(c: ColumnLike): Column {
  return new Column(exprs.call('timestampMillis', [toColumnExpr(c)]));
}
/**
 * The time the current batch started (processing time): stable when a batch is re-run after a restart.
 *
 * @example
 * df.withColumn('ingested', currentTimestamp());
 */
export function currentTimestamp(): Column {
  return new Column(exprs.call('currentTimestamp', []));
}
/** The event time of a window: its end minus 1 ms. @example windowTime(col('window')) */
export function windowTime(c: ColumnLike): Column {
  return new Column(exprs.call('windowTime', [toColumnExpr(c)]));
}
/** The gap literal helper for `sessionWindow`: milliseconds of a duration. @example expr ms: durationMillis('10 seconds') */
export function durationMillis(d: Duration): number {
  return parseDuration(d);
}
