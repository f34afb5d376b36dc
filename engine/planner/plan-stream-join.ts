/**
 * Planning of a join of two streams: the `StreamingSymmetricHashJoinExec` over both inputs, each repartitioned by
 * its side of the equi-keys, with the state-eviction rules of `joinWatermarks`.
 *
 * @module
 */
import type { Bound } from '../logical/bound-expr.js';
import type { JoinAnalysis } from '../logical/join-analysis.js';
import { joinWatermarks } from '../logical/join-watermark.js';
import type { JoinNode, LogicalPlan } from '../logical/plan.js';
import { UnsupportedOperationError } from '../logical/unsupported-operations.js';
import type { ExecNode } from '../physical/exec-node.js';
import { ExchangeExec } from '../physical/exchange-exec.js';
import type { JoinOperatorSpec, StreamJoinType } from '../physical/partitions/join-partition.js';
import { StreamingJoinExec } from '../physical/streaming-join-exec.js';
import { typeEquals, type DataType, type Schema } from '../types/data-type.js';

function ref(ordinal: number, type: DataType): Bound {
  return { k: 'ref', ordinal, path: [], type };
}

function castTo(b: Bound, type: DataType): Bound {
  return typeEquals(b.type as DataType, type) ? b : { k: 'cast', c: b, type };
}

/** The name an exchange shows for one side of an equi-key: the column it reads, else its position. */
function keyName(b: Bound, schema: Schema, i: number): string {
  const inner = b.k === 'cast' ? b.c : b;
  return inner.k === 'ref' && inner.path.length === 0 ? schema.fields[inner.ordinal]!.name : `key${i}`;
}

/**
 * The physical operator of a join whose inputs are both streaming.
 *
 * @example
 * planStreamStreamJoin(node, analyzeJoin(node), (c) => plan(c), 2).toString();
 * // StreamingSymmetricHashJoinExec: Inner keys=[(l.id = r.id)] … \n  Exchange: hashpartitioning(id, 2) …
 */
export function planStreamStreamJoin(p: JoinNode, j: JoinAnalysis, planChild: (c: LogicalPlan) => ExecNode, partitions: number | null): ExecNode {
  const t = j.joinType;
  if (t === 'leftAnti' || t === 'cross' || j.keys.length === 0) {
    throw new UnsupportedOperationError(`Stream-stream ${t} join without equality predicate is not supported: join on a key, e.g. col('l.id').eq(col('r.id')).`);
  }
  const lw = j.left.schema.fields.length;
  const w = joinWatermarks(j);
  const output: Bound[] = j.output.map((o) => {
    if (o.from === 'coalesce') {
      const l = castTo(ref(o.left, j.combined.fields[o.left]!.type), o.type);
      const r = castTo(ref(lw + o.right, j.combined.fields[lw + o.right]!.type), o.type);
      return { k: 'call', fn: 'coalesce', args: [l, r], type: o.type };
    }
    const at = o.from === 'left' ? o.ordinal : lw + o.ordinal;
    return ref(at, j.combined.fields[at]!.type);
  });
  const spec: JoinOperatorSpec = {
    kind: 'join',
    inputSchemas: [j.left.schema, j.right.schema],
    joinType: t as StreamJoinType,
    leftKeys: j.keys.map((k) => castTo(k.left, k.type)),
    rightKeys: j.keys.map((k) => castTo(k.right, k.type)),
    keyTypes: j.keys.map((k) => k.type),
    nullSafe: j.keys.map((k) => k.nullSafe),
    leftCondition: j.leftCondition,
    rightCondition: j.rightCondition,
    residual: j.residual,
    combined: j.combined,
    output,
    outputSchema: j.schema,
    lateLeft: w.lateLeft,
    lateRight: w.lateRight,
    evictLeft: w.left,
    evictRight: w.right,
  };
  const left = new ExchangeExec(planChild(p.left), j.keys.map((k, i) => keyName(k.left, j.left.schema, i)), partitions);
  const right = new ExchangeExec(planChild(p.right), j.keys.map((k, i) => keyName(k.right, j.right.schema, i)), partitions);
  return new StreamingJoinExec(left, right, spec, j.keys.map((k) => k.text), j.conditionText);
}
