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
import { HashJoinExec } from '../physical/hash-join-exec.js';

/**
 * The physical operator of a join: a `HashJoinExec` when at most one input is streaming (batch, or stream–static
 * with the static input as the build side).
 *
 * @example
 * planJoin(node, (c) => plan(c), 2);
 */
export function planJoin(p: JoinNode, planChild: (c: LogicalPlan) => ExecNode, partitions: number | null): ExecNode {
  const j = analyzeJoin(p);
  void partitions;
  const ls = j.left.streaming;
  const rs = j.right.streaming;
  if (ls && rs) throw new UnsupportedOperationError(`join (${j.joinType}) of two streams cannot run yet.`);
  const left = planChild(p.left);
  const right = planChild(p.right);
  if (!ls && !rs) return new HashJoinExec(left, right, j, null, null);
  const staticPlan = ls ? p.right : p.left;
  return new HashJoinExec(left, right, j, ls ? 'left' : 'right', () => planChild(staticPlan));
}
