/**
 * The logical plan: immutable, kind-tagged nodes. A `DataFrame` holds one; the analyzer (`analyzer.ts`) checks it and
 * the planner turns it into physical operators. Every pass switches on `kind` with an exhaustiveness check, so a new
 * node does not compile until every pass handles it.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import type { BatchScan, StreamSource } from '../io/source.js';
import type { Schema } from '../types/data-type.js';
import type { Expr, SortOrder } from './expr.js';
import type { JoinType } from './join-type.js';
import type { ProcessorModuleRef, StatefulProcessorClass, TimeMode } from '../api/stateful-processor.js';

/** A bounded input: batches in memory, or a scan of files/tables. */
export interface RelationNode {
  readonly kind: 'relation';
  readonly schema: Schema;
  readonly description: string;
  /** Batches held in memory (createDataFrame) … */
  readonly batches?: readonly RecordBatch[];
  /** … or a scan that produces them. */
  readonly scan?: BatchScan;
}

/** An unbounded input; `make` builds a fresh source for each run of a query. */
export interface StreamingRelationNode {
  readonly kind: 'streamingRelation';
  readonly schema: Schema;
  readonly description: string;
  /** Identity of the source: the same object means the same input (used to number sources in plan order). */
  readonly sourceKey: object;
  readonly make: () => StreamSource;
  /** Throws when the source cannot start (its `StreamSourceFactory.checkStart`); `start()` calls it. */
  readonly checkStart?: () => void;
  /** The format and options it was built from, for specs and compatibility checks on restart. */
  readonly format: string;
  readonly options: Readonly<Record<string, string>>;
}

export interface ProjectNode {
  readonly kind: 'project';
  readonly child: LogicalPlan;
  readonly exprs: readonly Expr[];
}

export interface FilterNode {
  readonly kind: 'filter';
  readonly child: LogicalPlan;
  readonly condition: Expr;
}

export interface AggregateNode {
  readonly kind: 'aggregate';
  readonly child: LogicalPlan;
  readonly groupBy: readonly Expr[];
  readonly aggs: readonly Expr[];
}

export interface SortNode {
  readonly kind: 'sort';
  readonly child: LogicalPlan;
  readonly orders: readonly SortOrder[];
}

export interface LimitNode {
  readonly kind: 'limit';
  readonly child: LogicalPlan;
  readonly n: number;
}

export interface UnionNode {
  readonly kind: 'union';
  readonly children: readonly LogicalPlan[];
}

export interface DeduplicateNode {
  readonly kind: 'deduplicate';
  readonly child: LogicalPlan;
  /** Column names; null means every column. */
  readonly keys: readonly string[] | null;
  readonly withinWatermark: boolean;
}

export interface WatermarkNode {
  readonly kind: 'watermark';
  readonly child: LogicalPlan;
  readonly column: string;
  readonly delayMs: number;
}

/** `groupByKey(keys).transformWithState(processor, options)`: user code over keyed state, timers and TTL. */
export interface TransformWithStateNode {
  readonly kind: 'transformWithState';
  readonly child: LogicalPlan;
  /** The grouping columns' names. */
  readonly keys: readonly string[];
  /** The processor class (code) and/or the module it can be loaded from (workers, pipeline specs). */
  readonly processor: { readonly cls: StatefulProcessorClass | null; readonly module: ProcessorModuleRef | null };
  readonly outputSchema: Schema;
  readonly timeMode: TimeMode;
  /** The operator's output mode, or null for the query's. */
  readonly outputMode: 'append' | 'update' | null;
  readonly eventTimeColumnName: string | null;
  /** A batch DataFrame's plan grouped by `initialStateKeys`, read in batch 0 only. */
  readonly initialState: { readonly plan: LogicalPlan; readonly keys: readonly string[] } | null;
}

/** `df.alias('l')`: the same rows, every column qualified by `alias` so that `col('l.id')` reaches it. */
export interface SubqueryAliasNode {
  readonly kind: 'subqueryAlias';
  readonly child: LogicalPlan;
  readonly alias: string;
}

/**
 * `left.join(right, on, how)`. `on` is either a condition over both inputs' columns (`condition`), or the names of
 * columns both inputs have (`using`: equal values match, each appears once in the output); neither for a cross join.
 */
export interface JoinNode {
  readonly kind: 'join';
  readonly left: LogicalPlan;
  readonly right: LogicalPlan;
  readonly joinType: JoinType;
  readonly condition: Expr | null;
  readonly using: readonly string[] | null;
}

export type LogicalPlan =
  | RelationNode
  | StreamingRelationNode
  | ProjectNode
  | FilterNode
  | AggregateNode
  | SortNode
  | LimitNode
  | UnionNode
  | DeduplicateNode
  | WatermarkNode
  | TransformWithStateNode
  | SubqueryAliasNode
  | JoinNode;

/** The children of a node. */
export function planChildren(p: LogicalPlan): readonly LogicalPlan[] {
  switch (p.kind) {
    case 'relation':
    case 'streamingRelation':
      return [];
    case 'union':
      return p.children;
    case 'join':
      return [p.left, p.right];
    case 'subqueryAlias':
    case 'project':
    case 'filter':
    case 'aggregate':
    case 'sort':
    case 'limit':
    case 'deduplicate':
    case 'watermark':
    case 'transformWithState':
      return [p.child];
    default:
      return assertNever(p);
  }
}

/** Compile-time exhaustiveness check for switches over `kind`. */
export function assertNever(x: never): never {
  throw new Error(`Unhandled plan node ${JSON.stringify((x as { kind?: string }).kind)}`);
}

/** True when any leaf of the plan is a streaming source. */
export function isStreamingPlan(p: LogicalPlan): boolean {
  if (p.kind === 'streamingRelation') return true;
  return planChildren(p).some(isStreamingPlan);
}

/** Streaming leaves in plan order (depth first, left to right): the order of `offsets/N` lines. */
export function streamingLeaves(p: LogicalPlan): StreamingRelationNode[] {
  const out: StreamingRelationNode[] = [];
  const visit = (n: LogicalPlan) => {
    if (n.kind === 'streamingRelation') {
      if (!out.some((x) => x.sourceKey === n.sourceKey)) out.push(n);
    } else planChildren(n).forEach(visit);
  };
  visit(p);
  return out;
}

export const plans = {
  project: (child: LogicalPlan, exprs: readonly Expr[]): ProjectNode => Object.freeze({ kind: 'project', child, exprs: Object.freeze([...exprs]) }),
  filter: (child: LogicalPlan, condition: Expr): FilterNode => Object.freeze({ kind: 'filter', child, condition }),
  aggregate: (child: LogicalPlan, groupBy: readonly Expr[], aggs: readonly Expr[]): AggregateNode =>
    Object.freeze({ kind: 'aggregate', child, groupBy: Object.freeze([...groupBy]), aggs: Object.freeze([...aggs]) }),
  sort: (child: LogicalPlan, orders: readonly SortOrder[]): SortNode => Object.freeze({ kind: 'sort', child, orders: Object.freeze([...orders]) }),
  limit: (child: LogicalPlan, n: number): LimitNode => Object.freeze({ kind: 'limit', child, n }),
  union: (children: readonly LogicalPlan[]): UnionNode => Object.freeze({ kind: 'union', children: Object.freeze([...children]) }),
  deduplicate: (child: LogicalPlan, keys: readonly string[] | null, withinWatermark: boolean): DeduplicateNode =>
    Object.freeze({ kind: 'deduplicate', child, keys: keys ? Object.freeze([...keys]) : null, withinWatermark }),
  watermark: (child: LogicalPlan, column: string, delayMs: number): WatermarkNode => Object.freeze({ kind: 'watermark', child, column, delayMs }),
  transformWithState: (n: Omit<TransformWithStateNode, 'kind'>): TransformWithStateNode => Object.freeze({ kind: 'transformWithState', ...n }),
  subqueryAlias: (child: LogicalPlan, alias: string): SubqueryAliasNode => Object.freeze({ kind: 'subqueryAlias', child, alias }),
  join: (left: LogicalPlan, right: LogicalPlan, joinType: JoinType, condition: Expr | null, using: readonly string[] | null): JoinNode =>
    Object.freeze({ kind: 'join', left, right, joinType, condition, using: using ? Object.freeze([...using]) : null }),
};
