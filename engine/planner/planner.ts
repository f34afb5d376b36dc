/**
 * The planner: analyzed logical plan → physical operators, one `…Exec` per node.
 *
 * @module
 */
import { analyze, analyzeAggregate, bindSortKey, projectionWindow } from '../logical/analyzer.js';
import { bindExpr, bindNamed, resolveColumn } from '../logical/resolve-expr.js';
import { exprToString } from '../logical/expr.js';
import { assertNever, type LogicalPlan, type RelationNode, type TransformWithStateNode } from '../logical/plan.js';
import { TransformWithStateExec } from '../physical/transform-with-state-exec.js';
import { registerLocalProcessor, type TransformWithStateSpec } from '../physical/partitions/transform-with-state-partition.js';
import { moduleUrl } from '../workers/load-module.js';
import { readColumnsOf, type ReadColumns } from './prune.js';
import { DedupExec } from '../physical/dedup-exec.js';
import { AliasExec } from '../physical/alias-exec.js';
import { planJoin } from './plan-join.js';
import { ExchangeExec } from '../physical/exchange-exec.js';
import type { ExecNode } from '../physical/exec-node.js';
import { FilterExec } from '../physical/filter-exec.js';
import { LimitExec } from '../physical/limit-exec.js';
import { ProjectExec } from '../physical/project-exec.js';
import { LocalScanExec, StreamScanExec } from '../physical/scan-exec.js';
import { SessionWindowExec } from '../physical/session-window-exec.js';
import { SortExec } from '../physical/sort-exec.js';
import { UnionExec } from '../physical/union-exec.js';
import { WindowColumnExec } from '../physical/window-column-exec.js';
import { isStruct, typeEquals, WINDOW_TYPE } from '../types/data-type.js';
import { EventTimeWatermarkExec } from '../physical/watermark-exec.js';
import { WindowAggregateExec } from '../physical/window-aggregate-exec.js';

/** What the planner knows of the run a plan is for. */
export interface PlanOptions {
  /** The run's `parallelism`: the partitions each exchange names (unknown: printed as `<parallelism>`). */
  readonly parallelism?: number;
}

/**
 * Builds the physical operator tree of a plan. A new tree holds fresh (empty) state. Each stateful operator reads its
 * input through an `ExchangeExec`: the partitioning of its rows by key.
 *
 * @example
 * const exec = planPhysical(df.plan, { parallelism: 2 });
 * console.log(exec.toString()); // … WindowAggregateExec: … \n  Exchange: hashpartitioning(user, 2) \n    …
 */
export function planPhysical(p: LogicalPlan, options: PlanOptions = {}): ExecNode {
  return plan(p, readColumnsOf(p), options.parallelism ?? null);
}

function plan(p: LogicalPlan, read: Map<RelationNode, ReadColumns>, partitions: number | null): ExecNode {
  const planPhysical = (c: LogicalPlan) => plan(c, read, partitions);
  switch (p.kind) {
    case 'relation':
      return new LocalScanExec(p.schema, p.description, p.batches ?? null, p.scan ?? null, read.get(p) ?? 'all');
    case 'streamingRelation':
      return new StreamScanExec(p.schema, p.sourceKey, p.description);
    case 'project': {
      const input = planPhysical(p.child);
      // A window in the projection: the operator below appends it as a column, which the projection reads.
      const w = projectionWindow(p.exprs, analyze(p.child));
      const child = w ? new WindowColumnExec(input, w) : input;
      const named = bindNamed(p.exprs, input.schema, { clause: 'select', ...(w ? { window: w } : {}) });
      return new ProjectExec(child, named, analyze(p).schema, named.map((n) => n.name).join(', '));
    }
    case 'filter': {
      const child = planPhysical(p.child);
      const { bound } = bindExpr(p.condition, child.schema, { clause: 'where' });
      return new FilterExec(child, bound, exprToString(p.condition));
    }
    case 'aggregate': {
      const a = analyzeAggregate(p);
      const child = new ExchangeExec(planPhysical(p.child), a.keys.map((k) => k.name), partitions);
      return a.window?.kind === 'session' ? new SessionWindowExec(child, a) : new WindowAggregateExec(child, a);
    }
    case 'sort': {
      const child = planPhysical(p.child);
      const keys = p.orders.map((o) => ({ bound: bindSortKey(o, child.schema), ascending: o.ascending, nullsFirst: o.nullsFirst }));
      const text = p.orders.map((o) => `${exprToString(o.expr)} ${o.ascending ? 'ASC' : 'DESC'}`).join(', ');
      return new SortExec(child, keys, text);
    }
    case 'limit':
      return new LimitExec(planPhysical(p.child), p.n);
    case 'union':
      return new UnionExec(p.children.map(planPhysical));
    case 'deduplicate': {
      const child = planPhysical(p.child);
      const info = analyze(p.child);
      const fields = child.schema.fields;
      const keyOrdinals = p.keys ? p.keys.map((k) => fields.findIndex((f) => f.name === k)) : fields.map((_, i) => i);
      let watermark: { ordinal: number; delayMs: number } | null = null;
      for (const [name, delayMs] of info.watermarkColumns) {
        const ordinal = fields.findIndex((f) => f.name === name);
        // A window column's end is its event time; the within-watermark expiry needs a timestamp, as Spark's.
        const t = ordinal >= 0 ? fields[ordinal]!.type : null;
        if (t === 'timestamp' || (!p.withinWatermark && t !== null && isStruct(t) && typeEquals(t, WINDOW_TYPE))) {
          watermark = { ordinal, delayMs };
          break;
        }
      }
      const exchange = new ExchangeExec(child, keyOrdinals.map((o, i) => fields[o]?.name ?? p.keys![i]!), partitions);
      return new DedupExec(exchange, keyOrdinals, watermark, p.withinWatermark);
    }
    case 'watermark': {
      const child = planPhysical(p.child);
      const r = resolveColumn(p.column, child.schema);
      return new EventTimeWatermarkExec(child, r.ordinal, p.delayMs);
    }
    case 'transformWithState':
      return planTransformWithState(p, planPhysical, partitions);
    case 'subqueryAlias':
      return new AliasExec(planPhysical(p.child), analyze(p).schema, p.alias);
    case 'join':
      return planJoin(p, planPhysical, partitions);
    default:
      return assertNever(p);
  }
}

/**
 * The processor operator: its key ordinals, the input's event-time column (the first timestamp column with a
 * watermark: late rows in event-time mode are judged by it), and the processor as a module reference (loadable on
 * worker threads) or, for a class given without one, a reference valid in this thread only.
 */
function planTransformWithState(p: TransformWithStateNode, planChild: (c: LogicalPlan) => ExecNode, partitions: number | null): ExecNode {
  const child = new ExchangeExec(planChild(p.child), [...p.keys], partitions);
  const info = analyze(p.child);
  const fields = child.schema.fields;
  let eventTimeOrdinal: number | null = null;
  if (p.timeMode === 'eventTime') {
    for (const name of info.watermarkColumns.keys()) {
      const o = fields.findIndex((f) => f.name === name);
      const t = o >= 0 ? fields[o]!.type : null;
      if (t === 'timestamp' || (t !== null && isStruct(t) && typeEquals(t, WINDOW_TYPE))) {
        eventTimeOrdinal = o;
        break;
      }
    }
  }
  const module = p.processor.module;
  const processor = module !== null ? { module: moduleUrl(module.module), export: module.export ?? 'default' } : { localId: registerLocalProcessor(p.processor.cls!) };
  const name = p.processor.cls?.name || (module?.export ?? 'default');
  const initPlan = p.initialState === null ? null : planChild(p.initialState.plan);
  const spec: TransformWithStateSpec = {
    kind: 'transformWithState',
    inputSchemas: initPlan === null ? [child.schema] : [child.schema, initPlan.schema],
    keyOrdinals: p.keys.map((k) => fields.findIndex((f) => f.name === k)),
    keyNames: [...p.keys],
    outputSchema: p.outputSchema,
    timeMode: p.timeMode,
    outputMode: p.outputMode ?? 'append',
    eventTimeOrdinal,
    hasWatermark: info.watermarkColumns.size > 0,
    processor,
    queryId: '',
    runId: '',
    initialStateKeyOrdinals: initPlan === null ? null : p.initialState!.keys.map((k) => initPlan.schema.fields.findIndex((f) => f.name === k)),
  };
  return new TransformWithStateExec(child, spec, p.eventTimeColumnName, initPlan, name);
}

/** Watermark operators of a tree in plan order. */
export function watermarkOperators(root: ExecNode): EventTimeWatermarkExec[] {
  const out: EventTimeWatermarkExec[] = [];
  const walk = (n: ExecNode) => {
    if (n instanceof EventTimeWatermarkExec) out.push(n);
    n.children.forEach(walk);
  };
  walk(root);
  return out;
}
