/**
 * Bound expressions: names resolved to column ordinals, types known, implicit casts made explicit. This is what the
 * vectorized evaluator runs; it never sees a name.
 *
 * @module
 */
import type { DataType, Schema } from '../types/data-type.js';
import type { ArithmeticOp, CallFn, ComparisonOp, LogicalOp } from './expr.js';

export type NumericType = 'int' | 'long' | 'double';

export type Bound =
  | { readonly k: 'ref'; readonly ordinal: number; readonly path: readonly number[]; readonly type: DataType }
  | { readonly k: 'lit'; readonly value: unknown; readonly type: DataType | 'null' }
  | { readonly k: 'arith'; readonly op: ArithmeticOp; readonly l: Bound; readonly r: Bound; readonly type: NumericType }
  | { readonly k: 'cmp'; readonly op: ComparisonOp; readonly l: Bound; readonly r: Bound; readonly type: 'boolean' }
  | { readonly k: 'logic'; readonly op: LogicalOp; readonly l: Bound; readonly r: Bound; readonly type: 'boolean' }
  | { readonly k: 'not'; readonly c: Bound; readonly type: 'boolean' }
  | { readonly k: 'neg'; readonly c: Bound; readonly type: DataType }
  | { readonly k: 'isNull'; readonly c: Bound; readonly negate: boolean; readonly type: 'boolean' }
  | { readonly k: 'cast'; readonly c: Bound; readonly type: DataType }
  | {
      readonly k: 'call';
      readonly fn: CallFn;
      readonly args: readonly Bound[];
      readonly type: DataType;
      readonly options?: Readonly<Record<string, unknown>>;
    };

/** The type a bound expression produces (`'null'` for an untyped null literal). */
export function boundType(b: Bound): DataType | 'null' {
  return b.type;
}

/** A bound expression with the output name and nullability the analyzer gave it. */
export interface NamedBound {
  readonly name: string;
  readonly bound: Bound;
  readonly type: DataType;
  readonly nullable: boolean;
}

/** The schema of a list of named bound expressions. */
export function schemaOfNamed(named: readonly NamedBound[]): Schema {
  return Object.freeze({
    fields: Object.freeze(named.map((n) => Object.freeze({ name: n.name, type: n.type, nullable: n.nullable }))),
  });
}

/** Input columns (ordinals) an expression reads. */
export function boundColumns(b: Bound, out: Set<number> = new Set()): Set<number> {
  switch (b.k) {
    case 'ref':
      out.add(b.ordinal);
      break;
    case 'lit':
      break;
    case 'arith':
    case 'cmp':
    case 'logic':
      boundColumns(b.l, out);
      boundColumns(b.r, out);
      break;
    case 'not':
    case 'neg':
    case 'isNull':
    case 'cast':
      boundColumns(b.c, out);
      break;
    case 'call':
      for (const a of b.args) boundColumns(a, out);
      break;
  }
  return out;
}

/** The same expression reading column `map[i]` where it read column `i` (for projected inputs). */
export function remapColumns(b: Bound, map: ReadonlyMap<number, number>): Bound {
  switch (b.k) {
    case 'ref':
      return { ...b, ordinal: map.get(b.ordinal)! };
    case 'lit':
      return b;
    case 'arith':
    case 'cmp':
    case 'logic':
      return { ...b, l: remapColumns(b.l, map), r: remapColumns(b.r, map) } as Bound;
    case 'not':
    case 'neg':
    case 'isNull':
    case 'cast':
      return { ...b, c: remapColumns(b.c, map) } as Bound;
    case 'call':
      return { ...b, args: b.args.map((a) => remapColumns(a, map)) };
  }
}
