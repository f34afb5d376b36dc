/**
 * `Column`: a user-facing expression with Spark's operator methods.
 *
 * @module
 */
import { parseType, type DataType } from '../types/data-type.js';
import { exprs, exprToString, type BinaryOp, type Expr, type SortOrder } from '../logical/expr.js';

/** A column name, a `Column`, or (where a value is expected) a literal. */
export type ColumnLike = Column | string;

/**
 * An expression over the columns of a DataFrame. Build one with `col('x')`, `lit(1)` or a function, and combine them
 * with the methods below; nothing is evaluated until the query runs.
 *
 * @example
 * col('amount').mul(100).as('cents');
 * col('ts').gt('2026-01-01T00:00:00Z').and(col('user').isNotNull());
 */
export class Column {
  constructor(readonly expr: Expr) {}

  private bin(op: BinaryOp, other: unknown): Column {
    return new Column(exprs.binary(op, this.expr, toExpr(other)));
  }

  /** `this + other`. @example col('a').plus(1) */
  plus(other: unknown): Column {
    return this.bin('+', other);
  }
  /** `this - other`. @example col('a').minus(col('b')) */
  minus(other: unknown): Column {
    return this.bin('-', other);
  }
  /** `this * other`. @example col('amount').mul(100) */
  mul(other: unknown): Column {
    return this.bin('*', other);
  }
  /** Alias of `mul`. @example col('amount').multiply(100) */
  multiply(other: unknown): Column {
    return this.mul(other);
  }
  /** `this / other` as a double (null when dividing by zero). @example col('a').div(2) */
  div(other: unknown): Column {
    return this.bin('/', other);
  }
  /** Alias of `div`. @example col('a').divide(2) */
  divide(other: unknown): Column {
    return this.div(other);
  }
  /** `this % other`. @example col('a').mod(7) */
  mod(other: unknown): Column {
    return this.bin('%', other);
  }
  /** Equality (null when either side is null). @example col('user').eq('alice') */
  eq(other: unknown): Column {
    return this.bin('=', other);
  }
  /** Alias of `eq` (Spark's `===`). @example col('user').equalTo('alice') */
  equalTo(other: unknown): Column {
    return this.eq(other);
  }
  /** Null-safe equality: true when both are null. @example col('a').eqNullSafe(col('b')) */
  eqNullSafe(other: unknown): Column {
    return this.bin('<=>', other);
  }
  /** Inequality. @example col('user').ne('bot') */
  ne(other: unknown): Column {
    return this.bin('!=', other);
  }
  /** Alias of `ne`. @example col('user').notEqual('bot') */
  notEqual(other: unknown): Column {
    return this.ne(other);
  }
  /** `this < other`. @example col('amount').lt(10) */
  lt(other: unknown): Column {
    return this.bin('<', other);
  }
  /** `this <= other`. @example col('amount').leq(10) */
  leq(other: unknown): Column {
    return this.bin('<=', other);
  }
  /** `this > other`. @example col('amount').gt(0) */
  gt(other: unknown): Column {
    return this.bin('>', other);
  }
  /** `this >= other`. @example col('ts').geq('2026-01-01') */
  geq(other: unknown): Column {
    return this.bin('>=', other);
  }
  /** Logical and (three-valued). @example col('a').gt(0).and(col('b').lt(5)) */
  and(other: Column): Column {
    return this.bin('and', other);
  }
  /** Logical or (three-valued). @example col('a').isNull().or(col('a').eq(0)) */
  or(other: Column): Column {
    return this.bin('or', other);
  }
  /** Logical not. @example col('flag').not() */
  not(): Column {
    return new Column(exprs.unary('not', this.expr));
  }
  /** Arithmetic negation. @example col('delta').negate() */
  negate(): Column {
    return new Column(exprs.unary('negate', this.expr));
  }
  /** True where the value is null. @example col('user').isNull() */
  isNull(): Column {
    return new Column(exprs.unary('isNull', this.expr));
  }
  /** True where the value is not null. @example col('user').isNotNull() */
  isNotNull(): Column {
    return new Column(exprs.unary('isNotNull', this.expr));
  }
  /** `lower ≤ this ≤ upper`. @example col('amount').between(1, 10) */
  between(lower: unknown, upper: unknown): Column {
    return this.geq(lower).and(this.leq(upper));
  }
  /** True when the value is one of `values`. @example col('user').isin('a', 'b') */
  isin(...values: unknown[]): Column {
    if (values.length === 0) return new Column(exprs.literal(false, 'boolean'));
    return values.map((v) => this.eq(v)).reduce((a, b) => a.or(b));
  }
  /** Converts to another type (Spark's non-ANSI cast: bad values become null). @example col('ts').cast('timestamp') */
  cast(to: DataType | string): Column {
    return new Column(exprs.cast(this.expr, parseType(to)));
  }
  /** Names the column. @example sum('amount').as('total') */
  as(name: string): Column {
    return new Column(exprs.alias(this.expr, name));
  }
  /** Alias of `as`. @example col('a').alias('b') */
  alias(name: string): Column {
    return this.as(name);
  }
  /** Ascending sort order (nulls first). @example df.orderBy(col('n').asc()) */
  asc(): SortColumn {
    return new SortColumn({ expr: this.expr, ascending: true, nullsFirst: true });
  }
  /** Descending sort order (nulls last). @example df.orderBy(col('n').desc()) */
  desc(): SortColumn {
    return new SortColumn({ expr: this.expr, ascending: false, nullsFirst: false });
  }
  /** Ascending, nulls last. @example col('n').ascNullsLast() */
  ascNullsLast(): SortColumn {
    return new SortColumn({ expr: this.expr, ascending: true, nullsFirst: false });
  }
  /** Descending, nulls first. @example col('n').descNullsFirst() */
  descNullsFirst(): SortColumn {
    return new SortColumn({ expr: this.expr, ascending: false, nullsFirst: true });
  }
  /**
   * A field of a struct column or of any struct expression (null where the struct is null).
   *
   * @example
   * col('window').getField('start');
   * fromJson(col('value'), { user: 'string' }).getField('user');
   */
  getField(name: string): Column {
    if (this.expr.kind === 'column') return new Column(exprs.column(`${this.expr.name}.${name}`));
    return new Column(exprs.call('getField', [this.expr], { field: name }));
  }
  /** The expression as text. @example String(col('a').plus(1)) // '(a + 1)' */
  toString(): string {
    return exprToString(this.expr);
  }
}

/** A sort order for `orderBy`. */
export class SortColumn {
  constructor(readonly order: SortOrder) {}
}

/**
 * Turns a column name, a `Column` or a JS value into an expression: strings are column names only where a column is
 * expected (`toColumnExpr`); here a bare value is a literal.
 */
export function toExpr(v: unknown): Expr {
  if (v instanceof Column) return v.expr;
  if (v === undefined) return exprs.literal(null, null);
  return exprs.literal(v, null);
}

/** A column argument: a name (`'amount'`, `'window.start'`, `'*'`) or a `Column`. */
export function toColumnExpr(c: ColumnLike): Expr {
  return typeof c === 'string' ? exprs.column(c) : c.expr;
}

/** A sort argument: a name, a `Column` (ascending) or a `SortColumn`. */
export function toSortOrder(c: ColumnLike | SortColumn): SortOrder {
  if (c instanceof SortColumn) return c.order;
  return { expr: toColumnExpr(c), ascending: true, nullsFirst: true };
}
