import type { RecordBatch } from 'apache-arrow';
import type { Bound } from '../logical/bound-expr.js';
import { compareBytes, evaluate } from '../kernels/expr-kernel.js';
import { concatVecs, gatherVec } from '../kernels/select-kernel.js';
import type { StrVec, Vec } from '../kernels/vec.js';
import type { Schema } from '../types/data-type.js';
import { batchFromVecs, columnVec, jsonValueAt } from '../types/values.js';
import { ExecNode, type ExecContext } from './exec-node.js';

/** A resolved sort key. */
export interface SortKey {
  readonly bound: Bound;
  readonly ascending: boolean;
  readonly nullsFirst: boolean;
}

/** Sorts all of its input (stable): keys are evaluated once per batch, rows ordered through an index array. */
export class SortExec extends ExecNode {
  constructor(
    readonly child: ExecNode,
    readonly keys: readonly SortKey[],
    private readonly text: string,
  ) {
    super();
  }
  get schema(): Schema {
    return this.child.schema;
  }
  get children() {
    return [this.child];
  }
  async *execute(ctx: ExecContext): AsyncIterable<RecordBatch> {
    const schema = this.child.schema;
    const cols: Vec[][] = schema.fields.map(() => []);
    const keyCols: Vec[][] = this.keys.map(() => []);
    let n = 0;
    for await (const b of this.child.execute(ctx)) {
      schema.fields.forEach((_, i) => cols[i]!.push(columnVec(b, schema, i)));
      this.keys.forEach((k, i) => keyCols[i]!.push(evaluate(k.bound, b, schema, ctx.env)));
      n += b.numRows;
    }
    if (n === 0) return;
    const all = cols.map((c) => concatVecs(c));
    const keys = keyCols.map((c) => concatVecs(c));
    const idx = sortIndex(keys, this.keys, n);
    yield batchFromVecs(schema, all.map((v) => gatherVec(v, idx)), n);
  }
  describe(): string {
    return `SortExec: ${this.text}`;
  }
}

/** A stable sort permutation for `n` rows by the given key columns. */
export function sortIndex(keys: readonly Vec[], orders: readonly { ascending: boolean; nullsFirst: boolean }[], n: number): Int32Array {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const cmps = keys.map((k, ki) => comparatorFor(k, orders[ki]!));
  const arr = Array.from(idx);
  arr.sort((a, b) => {
    for (const c of cmps) {
      const r = c(a, b);
      if (r !== 0) return r;
    }
    return a - b;
  });
  return Int32Array.from(arr);
}

function comparatorFor(v: Vec, o: { ascending: boolean; nullsFirst: boolean }): (a: number, b: number) => number {
  const dir = o.ascending ? 1 : -1;
  const nullOrder = o.nullsFirst ? -1 : 1;
  const valid = v.kind === 'null' ? null : v.valid;
  const base = baseComparator(v);
  return (a, b) => {
    if (valid !== null) {
      const na = valid[a] === 0;
      const nb = valid[b] === 0;
      if (na || nb) return na && nb ? 0 : na ? nullOrder : -nullOrder;
    }
    return dir * base(a, b);
  };
}

function baseComparator(v: Vec): (a: number, b: number) => number {
  switch (v.kind) {
    case 'num': {
      if (v.big) {
        const big = v.big;
        return (a, b) => (big[a]! < big[b]! ? -1 : big[a]! > big[b]! ? 1 : 0);
      }
      const x = v.values;
      // NaN sorts above every number, as Spark.
      return (a, b) => {
        const p = x[a]!;
        const q = x[b]!;
        if (p < q) return -1;
        if (p > q) return 1;
        if (p === q) return 0;
        return p !== p ? (q !== q ? 0 : 1) : -1;
      };
    }
    case 'bool':
      return (a, b) => v.values[a]! - v.values[b]!;
    case 'str':
      return (a, b) => compareBytes(v as StrVec, a, v as StrVec, b);
    case 'null':
      return () => 0;
    case 'struct': {
      const subs = v.fields.map((f) => comparatorFor(f, { ascending: true, nullsFirst: true }));
      return (a, b) => {
        for (const c of subs) {
          const r = c(a, b);
          if (r !== 0) return r;
        }
        return 0;
      };
    }
    default:
      return (a, b) => {
        const p = JSON.stringify(jsonValueAt(v, a));
        const q = JSON.stringify(jsonValueAt(v, b));
        return p < q ? -1 : p > q ? 1 : 0;
      };
  }
}
