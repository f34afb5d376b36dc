/**
 * Planning of `join`: a batch join, a stream–static join or a stream–stream join, from the same analysis
 * (`analyzeJoin`).
 *
 * @module
 */
import { analyzeJoin } from '../logical/join-analysis.js';
import { joinTypeName, preservesLeft, preservesRight } from '../logical/join-type.js';
import type { JoinNode, LogicalPlan } from '../logical/plan.js';
import { UnsupportedOperationError } from '../logical/unsupported-operations.js';
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
  // Spark's checker refuses these before planning; the operator would lose the static side's unmatched rows.
  const t = j.joinType;
  if ((rs && (preservesLeft(t) || t === 'leftSemi' || t === 'leftAnti')) || (ls && preservesRight(t))) {
    const [stream, stat] = rs ? ['right', 'left'] : ['left', 'right'];
    throw new UnsupportedOperationError(
      `${joinTypeName(t)} join with a streaming DataFrame/Dataset on the ${stream} and a static DataFrame/Dataset on the ${stat} is not supported. ` +
        `Put the stream on the preserved side (stream.join(static, on, '${t === 'rightOuter' ? 'left_outer' : t}')), or use an inner join.`,
    );
  }
  const staticPlan = ls ? p.right : p.left;
  return new HashJoinExec(left, right, j, ls ? 'left' : 'right', () => planChild(staticPlan));
}
