/**
 * Column pruning: which top-level columns of each bounded relation a plan reads, so a scan can skip decoding the
 * others (a Parquet file of 40 columns queried for 3 decodes 3).
 *
 * The answer is conservative: a name counts as read if any expression mentions it or a struct path starting with it
 * (compared without case, as the analyzer resolves names); `*`, a union (its children match by position) or a
 * deduplication over all columns make a relation's every column read.
 *
 * @module
 */
import { splitName, walkExpr, type Expr } from '../logical/expr.js';
import { assertNever, type LogicalPlan, type RelationNode } from '../logical/plan.js';
import type { ReadColumns } from '../io/source.js';

export type { ReadColumns };

/**
 * The columns each bounded relation of `plan` must produce for the plan's output.
 *
 * @example
 * const read = readColumnsOf(df.groupBy('user').agg(sum('amount')).plan);
 * read.get(relationNode); // Set { 'user', 'amount' }
 */
export function readColumnsOf(plan: LogicalPlan): Map<RelationNode, ReadColumns> {
  const out = new Map<RelationNode, ReadColumns>();
  visit(plan, 'all', out);
  return out;
}

function union(a: ReadColumns, b: ReadColumns): ReadColumns {
  if (a === 'all' || b === 'all') return 'all';
  return new Set([...a, ...b]);
}

/** Names an expression reads (`all` for a star). */
function refs(es: readonly (Expr | null)[]): ReadColumns {
  const names = new Set<string>();
  let all = false;
  for (const e of es) {
    if (e === null) continue;
    walkExpr(e, (x) => {
      if (x.kind !== 'column') return;
      if (x.name === '*' || x.name.endsWith('*')) all = true;
      names.add(x.name.toLowerCase());
      names.add(splitName(x.name)[0]!.toLowerCase());
    });
  }
  return all ? 'all' : names;
}

/** The names plus, for each dotted one, what follows its first part (`l.id` → `id`): a qualifier is not a column. */
function qualifiedTails(r: ReadColumns): ReadColumns {
  if (r === 'all') return 'all';
  const out = new Set(r);
  for (const n of r) {
    const parts = splitName(n);
    if (parts.length > 1) {
      out.add(parts[1]!.toLowerCase());
      out.add(parts.slice(1).join('.').toLowerCase());
    }
  }
  return out;
}

/** True when an expression parses text (`fromJson`, `fromCsv`), whose bad rows carry their whole input row. */
function routesDeadLetters(es: readonly Expr[]): boolean {
  let found = false;
  for (const e of es) walkExpr(e, (x) => (found ||= x.kind === 'call' && (x.fn === 'fromJson' || x.fn === 'fromCsv')));
  return found;
}

function visit(p: LogicalPlan, need: ReadColumns, out: Map<RelationNode, ReadColumns>): void {
  switch (p.kind) {
    case 'relation': {
      const prev = out.get(p);
      out.set(p, prev === undefined ? need : union(prev, need));
      return;
    }
    case 'streamingRelation':
      return;
    case 'project':
      // A parse that routes bad rows to a dead-letter output writes the whole input row there.
      return visit(p.child, routesDeadLetters(p.exprs) ? 'all' : refs(p.exprs), out);
    case 'filter':
      return visit(p.child, routesDeadLetters([p.condition]) ? 'all' : union(need, refs([p.condition])), out);
    case 'aggregate':
      return visit(p.child, refs([...p.groupBy, ...p.aggs]), out);
    case 'sort':
      return visit(p.child, union(need, refs(p.orders.map((o) => o.expr))), out);
    case 'limit':
      return visit(p.child, need, out);
    case 'union':
      for (const c of p.children) visit(c, 'all', out);
      return;
    case 'deduplicate':
      return visit(p.child, p.keys === null ? 'all' : union(need, new Set(p.keys.flatMap((k) => [k.toLowerCase(), splitName(k)[0]!.toLowerCase()]))), out);
    case 'watermark':
      return visit(p.child, union(need, new Set([p.column.toLowerCase(), splitName(p.column)[0]!.toLowerCase()])), out);
    case 'subqueryAlias':
      return visit(p.child, qualifiedTails(need), out);
    case 'join': {
      // Conservative: each side reads what is needed above (a name may be qualified: `l.id` counts `id` too) plus
      // every column the condition or the using list mentions.
      const cond = union(qualifiedTails(need), qualifiedTails(union(refs(p.condition ? [p.condition] : []), new Set((p.using ?? []).map((u) => u.toLowerCase())))));
      visit(p.left, cond, out);
      visit(p.right, cond, out);
      return;
    }
    case 'transformWithState':
      // The processor sees whole input rows.
      if (p.initialState !== null) visit(p.initialState.plan, 'all', out);
      return visit(p.child, 'all', out);
    default:
      return assertNever(p);
  }
}
