/**
 * Planning of `join`: a batch join, a stream–static join or a stream–stream join, from the same analysis
 * (`analyzeJoin`).
 *
 * @module
 */
import { analyzeJoin } from '../logical/join-analysis.js';
import type { JoinNode, LogicalPlan } from '../logical/plan.js';
import { UnsupportedOperationError } from '../logical/unsupported-operations.js';
import type { ExecNode } from '../physical/exec-node.js';
import { planStreamStreamJoin } from './plan-stream-join.js';

/**
 * The physical operator of a join.
 *
 * @example
 * planJoin(node, (c) => plan(c), 2);
 */
export function planJoin(p: JoinNode, planChild: (c: LogicalPlan) => ExecNode, partitions: number | null): ExecNode {
  const j = analyzeJoin(p);
  if (j.left.streaming && j.right.streaming) return planStreamStreamJoin(p, j, planChild, partitions);
  void planChild;
  void partitions;
  throw new UnsupportedOperationError(`join (${j.joinType}) cannot run yet.`);
}
