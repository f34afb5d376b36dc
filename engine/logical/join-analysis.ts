/**
 * Resolution of a join: its output columns, its equi-keys (the hash join's keys) and the rest of its condition, split
 * by which input each conjunct reads. Batch, stream–static and stream–stream joins all run from this analysis.
 *
 * @module
 */
import { field, schemaOf, typeToString, type DataType, type Field, type Schema } from '../types/data-type.js';
import { boundColumns, remapColumns, type Bound } from './bound-expr.js';
import { exprs, exprToString, type Expr } from './expr.js';
import { leftColumnsOnly, preservesLeft, preservesRight, type JoinType } from './join-type.js';
import type { JoinNode } from './plan.js';
import { AnalysisError, bindExpr, unknownColumn } from './resolve-expr.js';
import { analyze, type NodeInfo } from './analyzer.js';

/** One equi-key of a join: `left = right` (or `left <=> right` when `nullSafe`), both sides cast to `type`. */
export interface JoinKey {
  /** Over the left input's columns. */
  readonly left: Bound;
  /** Over the right input's columns. */
  readonly right: Bound;
  /** `<=>`: nulls match nulls. Otherwise a null key never matches (Spark). */
  readonly nullSafe: boolean;
  readonly type: DataType;
  /** As written, for `explain()`. */
  readonly text: string;
}

/** Which inputs a conjunct of the condition reads. */
export type ConjunctSide = 'left' | 'right' | 'both' | 'none';

/** One `AND`-separated part of the join condition, bound over the combined (left ++ right) columns. */
export interface JoinConjunct {
  readonly expr: Expr;
  readonly bound: Bound;
  readonly side: ConjunctSide;
  /** Index into `keys` when this conjunct is an equi-key. */
  readonly key: number | null;
}

/** Where an output column of the join comes from. */
export type JoinOutputColumn =
  | { readonly from: 'left' | 'right'; readonly ordinal: number }
  /** A using column of a full outer join: the left value, or the right one where the left is null. */
  | { readonly from: 'coalesce'; readonly left: number; readonly right: number; readonly type: DataType };

/** A resolved join. */
export interface JoinAnalysis {
  readonly joinType: JoinType;
  readonly left: NodeInfo;
  readonly right: NodeInfo;
  /** Left columns then right columns (nullable on a side an outer join pads), with their qualifiers: what conditions bind to. */
  readonly combined: Schema;
  readonly keys: readonly JoinKey[];
  readonly conjuncts: readonly JoinConjunct[];
  /** Non-key conjuncts that read the left input only, over the left input's columns (null: none). */
  readonly leftCondition: Bound | null;
  /** Non-key conjuncts that read the right input only, over the right input's columns (null: none). */
  readonly rightCondition: Bound | null;
  /** Non-key conjuncts that read both inputs, or neither, over `combined` (null: none). */
  readonly residual: Bound | null;
  /** The join's output, column by column (semi/anti: the left columns; using joins: using columns first). */
  readonly output: readonly JoinOutputColumn[];
  readonly schema: Schema;
  /** The condition as `explain()` shows it: `(l.id = r.id)`, `USING (id)`, or null for a cross join. */
  readonly conditionText: string | null;
}

const cache = new WeakMap<JoinNode, JoinAnalysis>();

/** Splits a condition at its top-level `AND`s. */
export function splitConjuncts(e: Expr): Expr[] {
  if (e.kind === 'binary' && e.op === 'and') return [...splitConjuncts(e.left), ...splitConjuncts(e.right)];
  return [e];
}

function andAll(bs: readonly Bound[]): Bound | null {
  if (bs.length === 0) return null;
  return bs.reduce((a, b) => ({ k: 'logic', op: 'and', l: a, r: b, type: 'boolean' }));
}

function sideOf(b: Bound, leftWidth: number): ConjunctSide {
  const cols = [...boundColumns(b)];
  if (cols.length === 0) return 'none';
  const l = cols.some((c) => c < leftWidth);
  const r = cols.some((c) => c >= leftWidth);
  return l && r ? 'both' : l ? 'left' : 'right';
}

function shift(b: Bound, by: number): Bound {
  const map = new Map<number, number>();
  for (const c of boundColumns(b)) map.set(c, c + by);
  return remapColumns(b, map);
}

/**
 * Resolves a join (memoised per node): the output schema, the equi-keys a hash join can use, and the other conjuncts by
 * the input they read. Refuses a non-boolean condition and using columns missing on a side or of incomparable types.
 *
 * @example
 * const j = analyzeJoin(node);
 * j.keys.map((k) => k.text);       // ['(l.id = r.id)']
 * j.schema.fields.map((f) => f.name);
 */
export function analyzeJoin(p: JoinNode): JoinAnalysis {
  const cached = cache.get(p);
  if (cached) return cached;
  const left = analyze(p.left);
  const right = analyze(p.right);
  const lw = left.schema.fields.length;
  const padLeft = preservesRight(p.joinType);
  const padRight = preservesLeft(p.joinType);
  const nullableIf = (f: Field, pad: boolean): Field => (pad && !f.nullable ? Object.freeze({ ...f, nullable: true }) : f);
  const combined = schemaOf([...left.schema.fields.map((f) => nullableIf(f, padLeft)), ...right.schema.fields.map((f) => nullableIf(f, padRight))]);
  const keys: JoinKey[] = [];
  const conjuncts: JoinConjunct[] = [];
  const output: JoinOutputColumn[] = [];
  const outFields: Field[] = [];
  let conditionText: string | null = null;
  if (p.condition !== null && p.using !== null) throw new AnalysisError('join() takes either a condition or using columns, not both.');
  if (p.using !== null) {
    if (p.using.length === 0) throw new AnalysisError("join(other, []) needs at least one using column, e.g. join(other, 'id'), or use crossJoin(other).");
    conditionText = `USING (${p.using.join(', ')})`;
    const usedLeft = new Set<number>();
    const usedRight = new Set<number>();
    for (const name of p.using) {
      const li = usingColumn(left.schema, name, 'left');
      const ri = usingColumn(right.schema, name, 'right');
      const lf = left.schema.fields[li]!;
      const rf = right.schema.fields[ri]!;
      // Bind `a = b` over the two columns alone: the comparison's casts are the join key's.
      const pair = schemaOf([field('a', lf.type, lf.nullable), field('b', rf.type, rf.nullable)]);
      let bound: Bound;
      try {
        bound = bindExpr(exprs.binary('=', exprs.column('a'), exprs.column('b')), pair).bound;
      } catch {
        throw new AnalysisError(
          `join(…, '${name}'): the using column is ${typeToString(lf.type)} on the left and ${typeToString(rf.type)} on the right. ` +
            `Cast one side first, e.g. withColumn('${name}', col('${name}').cast('${typeToString(lf.type)}')).`,
        );
      }
      const cmp = bound as Extract<Bound, { k: 'cmp' }>;
      const type = cmp.l.type === 'null' ? lf.type : cmp.l.type;
      keys.push({
        left: remapColumns(cmp.l, new Map([[0, li]])),
        right: remapColumns(cmp.r, new Map([[1, ri]])),
        nullSafe: false,
        type,
        text: `(${name} = ${name})`,
      });
      usedLeft.add(li);
      usedRight.add(ri);
      if (p.joinType === 'fullOuter') {
        output.push({ from: 'coalesce', left: li, right: ri, type });
        outFields.push(field(lf.name, type, lf.nullable && rf.nullable));
      } else if (p.joinType === 'rightOuter') {
        output.push({ from: 'right', ordinal: ri });
        outFields.push(right.schema.fields[ri]!);
      } else {
        output.push({ from: 'left', ordinal: li });
        outFields.push(left.schema.fields[li]!);
      }
    }
    left.schema.fields.forEach((f, i) => {
      if (usedLeft.has(i)) return;
      output.push({ from: 'left', ordinal: i });
      outFields.push(combined.fields[i]!);
    });
    if (!leftColumnsOnly(p.joinType)) {
      right.schema.fields.forEach((f, i) => {
        if (usedRight.has(i)) return;
        output.push({ from: 'right', ordinal: i });
        outFields.push(combined.fields[lw + i]!);
      });
    }
  } else {
    if (p.condition !== null) {
      conditionText = exprToString(p.condition);
      for (const part of splitConjuncts(p.condition)) {
        const { bound, type } = bindExpr(part, combined, { clause: 'join condition' });
        if (type !== 'boolean' && type !== 'null') {
          throw new AnalysisError(
            `The join condition must be a boolean, but ${exprToString(part)} is ${typeToString(type)}. ` +
              `Compare columns, e.g. col('l.id').eq(col('r.id')).`,
          );
        }
        const side = sideOf(bound, lw);
        let key: number | null = null;
        if (side === 'both' && bound.k === 'cmp' && (bound.op === '=' || bound.op === '<=>')) {
          const ls = sideOf(bound.l, lw);
          const rs = sideOf(bound.r, lw);
          const pair = ls === 'left' && rs === 'right' ? [bound.l, bound.r] : ls === 'right' && rs === 'left' ? [bound.r, bound.l] : null;
          if (pair !== null) {
            key = keys.length;
            keys.push({
              left: pair[0]!,
              right: shift(pair[1]!, -lw),
              nullSafe: bound.op === '<=>',
              type: pair[0]!.type === 'null' ? (pair[1]!.type === 'null' ? 'string' : pair[1]!.type) : pair[0]!.type,
              text: exprToString(part),
            });
          }
        }
        conjuncts.push({ expr: part, bound, side, key });
      }
    }
    const n = leftColumnsOnly(p.joinType) ? lw : combined.fields.length;
    for (let i = 0; i < n; i++) {
      output.push(i < lw ? { from: 'left', ordinal: i } : { from: 'right', ordinal: i - lw });
      outFields.push(combined.fields[i]!);
    }
  }
  const nonKey = conjuncts.filter((c) => c.key === null);
  const leftCondition = andAll(nonKey.filter((c) => c.side === 'left').map((c) => c.bound));
  const rightCondition = andAll(nonKey.filter((c) => c.side === 'right').map((c) => shift(c.bound, -lw)));
  const residual = andAll(nonKey.filter((c) => c.side === 'both' || c.side === 'none').map((c) => c.bound));
  const analysis: JoinAnalysis = {
    joinType: p.joinType,
    left,
    right,
    combined,
    keys,
    conjuncts,
    leftCondition,
    rightCondition,
    residual,
    output,
    schema: schemaOf(outFields),
    conditionText,
  };
  cache.set(p, analysis);
  return analysis;
}

function usingColumn(schema: Schema, name: string, side: string): number {
  const exact = schema.fields.findIndex((f) => f.name === name);
  const i = exact >= 0 ? exact : schema.fields.findIndex((f) => f.name.toLowerCase() === name.toLowerCase());
  if (i < 0) throw unknownColumn(name, schema, `the ${side} input of join(…, using)`);
  return i;
}

/**
 * The watermark columns of a join's output: each output column that is a watermark column of the input it comes from
 * keeps the delay (Spark copies the metadata; the executor tracks each input's watermark).
 */
export function joinWatermarkColumns(j: JoinAnalysis): Map<string, number> {
  const wm = new Map<string, number>();
  j.output.forEach((o, i) => {
    const name = j.schema.fields[i]!.name;
    if (wm.has(name)) return;
    const d =
      o.from === 'left'
        ? j.left.watermarkColumns.get(j.left.schema.fields[o.ordinal]!.name)
        : o.from === 'right'
          ? j.right.watermarkColumns.get(j.right.schema.fields[o.ordinal]!.name)
          : undefined;
    if (d !== undefined) wm.set(name, d);
  });
  return wm;
}
