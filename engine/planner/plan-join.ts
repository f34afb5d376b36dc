/**
 * Planning of `join`: a batch join, a stream–static join or a stream–stream join, from the same analysis
 * (`analyzeJoin`).
 *
 * @module
 */
import { analyzeJoin } from '../logical/join-analysis.js';
import type { JoinNode, LogicalPlan } from '../logical/plan.js';
import { checkStreamStaticJoin } from '../logical/unsupported-operations.js';
import type { ExecNode } from '../physical/exec-node.js';
import { HashJoinExec } from '../physical/hash-join-exec.js';
import { planStreamStreamJoin } from './plan-stream-join.js';

/**
 * The physical operator of a join: a `HashJoinExec` when at most one input is streaming (batch, or stream–static
 * with the static input as the build side); the symmetric hash join over keyed state when both are. A stream–static join whose static side would be preserved (Spark refuses
 * it) is refused here too, should it get past the checker.
 *
 * @example
 * planJoin(node, (c) => plan(c), 2);
 */
export function planJoin(p: JoinNode, planChild: (c: LogicalPlan) => ExecNode, partitions: number | null): ExecNode {
  const j = analyzeJoin(p);
  const ls = j.left.streaming;
  const rs = j.right.streaming;
  if (ls && rs) return planStreamStreamJoin(p, j, planChild, partitions);
  const left = planChild(p.left);
  const right = planChild(p.right);
  if (!ls && !rs) return new HashJoinExec(left, right, j, null, null);
  // The checker refuses these at start(); planning (explain(), a batch of a foreachBatch body) refuses them too: the
  // operator would lose the static side's unmatched rows.
  checkStreamStaticJoin(p);
  const staticPlan = ls ? p.right : p.left;
  return new HashJoinExec(left, right, j, ls ? 'left' : 'right', () => planChild(staticPlan));
}
