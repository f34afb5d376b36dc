/**
 * The hash join of two bounded inputs, and of a stream with a bounded input (stream–static), over the kernel of
 * `join-kernel.ts`.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import { HashJoiner, joinBatches, joinSpecOf } from '../kernels/join-kernel.js';
import type { JoinAnalysis } from '../logical/join-analysis.js';
import { joinTypeName } from '../logical/join-type.js';
import { exprToString } from '../logical/expr.js';
import type { Schema } from '../types/data-type.js';
import { ExecNode, type ExecContext } from './exec-node.js';
import { LocalScanExec } from './scan-exec.js';
import { joinInParallel, parallelJoinWorthIt } from './parallel-join.js';

/** Which input of a stream–static join is the stream. */
export type StreamingSide = 'left' | 'right';

/**
 * `HashJoinExec: LeftOuter, keys [(o.id = p.orderId)], condition (p.paid > 0), build right`: joins its two inputs.
 *
 * - **Batch** (neither input streaming): both inputs are read whole; the smaller one is the build side (the right one
 *   of a left semi or anti join, whose output is the left rows); the other is probed batch by batch. A big join (both
 *   sides together at least `PARALLEL_JOIN_THRESHOLD_FACTOR` × `parallelThresholdRows` rows, with parallelism > 1 and an equi-key) is split by key hash
 *   and its partitions joined on the worker threads (`parallel-join.ts`); the result is the same rows.
 * - **Stream–static** (one input streaming): the static input is the build side, read and built once per run (the
 *   first stream rows of a run build it; a restart builds it again, there is no state); every micro-batch's stream
 *   rows probe it. Only the streaming side's rows count as the batch's input rows (the static scan is not a source).
 *   A static side that reads a Delta table at its newest version (no `versionAsOf`) is read again before a
 *   micro-batch when the table's version changed since it was built, as Spark with Delta: each micro-batch joins the
 *   latest version of the table. Any other static input (files, memory) is read once per run.
 * - Without an equi-key (a cross join, or a condition without `=` between the sides) every pair is a candidate: the
 *   nested loop, shown as `NestedLoopJoinExec`.
 *
 * Which join types may have a streaming input on which side is decided before planning (Spark's
 * `UnsupportedOperationChecker`); this operator takes the legal ones: the static side is never a preserved side.
 *
 * @example
 * const j = new HashJoinExec(left, right, analyzeJoin(node), null, null);
 * j.describe(); // 'HashJoinExec: Inner, keys [(o.id = p.orderId)], build right'
 */
export class HashJoinExec extends ExecNode {
  /** The static side's hash table in a stream–static join, and the data version it was built from. */
  private built: { joiner: HashJoiner; version: string } | null = null;
  /** How often the static side was read (and its table built) in this run. */
  staticBuilds = 0;

  constructor(
    readonly left: ExecNode,
    readonly right: ExecNode,
    readonly analysis: JoinAnalysis,
    /** The streaming input of a stream–static join, or null for a batch join. */
    readonly streamingSide: StreamingSide | null,
    /** A fresh plan of the static input (a rebuild reads it with fresh operators), or null for a batch join. */
    private readonly replanStatic: (() => ExecNode) | null,
  ) {
    super();
  }

  get schema(): Schema {
    return this.analysis.schema;
  }

  get children(): readonly ExecNode[] {
    return [this.left, this.right];
  }

  /** A stream–static join keeps no state: the static side's operators are rebuilt with it, not checkpointed. */
  override get stateChildren(): readonly ExecNode[] {
    if (this.streamingSide === null) return this.children;
    return [this.streamingSide === 'left' ? this.left : this.right];
  }

  /** The build side: the static one, the right one of semi/anti joins, else the smaller (null: decided at run time). */
  get buildSide(): 'left' | 'right' | null {
    if (this.streamingSide !== null) return this.streamingSide === 'left' ? 'right' : 'left';
    const t = this.analysis.joinType;
    return t === 'leftSemi' || t === 'leftAnti' ? 'right' : null;
  }

  async *execute(ctx: ExecContext): AsyncIterable<RecordBatch> {
    if (this.streamingSide === null) {
      yield* this.executeBatch(ctx);
      return;
    }
    const stream = this.streamingSide === 'left' ? this.left : this.right;
    // Built at the first stream rows: a micro-batch without any (a no-data batch) does not read the static side.
    let joiner: HashJoiner | null = null;
    for await (const b of stream.execute(ctx)) {
      if (b.numRows === 0) continue;
      joiner ??= await this.staticTable(ctx);
      yield* joiner.probe(b);
    }
  }

  private async *executeBatch(ctx: ExecContext): AsyncIterable<RecordBatch> {
    const left = await readAll(this.left, ctx);
    const right = await readAll(this.right, ctx);
    const rows = (bs: RecordBatch[]) => bs.reduce((s, b) => s + b.numRows, 0);
    const ln = rows(left);
    const rn = rows(right);
    const build = this.buildSide ?? (ln < rn ? 'left' : 'right');
    const spec = joinSpecOf(this.analysis, build);
    if (parallelJoinWorthIt(spec, ln + rn, ctx.workers)) {
      yield* joinInParallel(spec, left, right, ctx);
      return;
    }
    yield* joinBatches(spec, left, right, ctx.env);
  }

  /** The static side's table, built at the run's first stream rows, and again when its Delta version changed. */
  private async staticTable(ctx: ExecContext): Promise<HashJoiner> {
    const side = this.streamingSide === 'left' ? 'right' : 'left';
    const current = this.built === null ? (side === 'left' ? this.left : this.right) : this.replanStatic!();
    const version = await dataVersion(current);
    if (this.built !== null && this.built.version === version) return this.built.joiner;
    const batchCtx: ExecContext = {
      ...ctx,
      batchId: 0,
      streaming: false,
      outputMode: 'complete',
      lateWatermarkMs: Number.NEGATIVE_INFINITY,
      evictionWatermarkMs: Number.NEGATIVE_INFINITY,
      inputs: new Map(),
    };
    const joiner = new HashJoiner(joinSpecOf(this.analysis, side), ctx.env);
    joiner.build(await readAll(current, batchCtx));
    this.built = { joiner, version };
    this.staticBuilds++;
    return joiner;
  }

  describe(): string {
    const j = this.analysis;
    const parts = [joinTypeName(j.joinType)];
    if (j.keys.length > 0) parts.push(`keys [${j.keys.map((k) => k.text).join(', ')}]`);
    const rest = j.conjuncts.filter((c) => c.key === null).map((c) => exprToString(c.expr));
    if (rest.length > 0) parts.push(`condition ${rest.join(' AND ')}`);
    const build = this.buildSide;
    parts.push(build === null ? 'build smaller side' : `build ${build}`);
    if (this.streamingSide !== null) parts.push(`stream ${this.streamingSide}, static ${build} read once per run (a Delta table: again when its version changed)`);
    return `${j.keys.length > 0 ? 'HashJoinExec' : 'NestedLoopJoinExec'}: ${parts.join(', ')}`;
  }
}

async function readAll(node: ExecNode, ctx: ExecContext): Promise<RecordBatch[]> {
  const out: RecordBatch[] = [];
  for await (const b of node.execute(ctx)) if (b.numRows > 0) out.push(b);
  return out;
}

/** The data versions of the scans under a node (a Delta table's newest version; null for fixed data), as one token. */
async function dataVersion(node: ExecNode): Promise<string> {
  const scans: LocalScanExec[] = [];
  const walk = (n: ExecNode) => {
    if (n instanceof LocalScanExec) scans.push(n);
    n.children.forEach(walk);
  };
  walk(node);
  return JSON.stringify(await Promise.all(scans.map((s) => s.dataVersion())));
}
