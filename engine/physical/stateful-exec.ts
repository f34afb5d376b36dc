/**
 * The base of stateful operators: runs the child, hands its rows to the operator's partitions (inline or on worker
 * threads, see `PartitionRunner`), emits what the partitions emit, and checkpoints them.
 *
 * @module
 */
import { dirname } from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import './partitions/index.js';
import type { BatchInfo, KeyedOperatorSpec } from './partitions/keyed-operator.js';
import { writeOperatorMetadata } from '../state/operator-metadata.js';
import { PartitionRunner } from '../workers/partition-runner.js';
import { typeToString, type Schema } from '../types/data-type.js';
import type { Bound } from '../logical/bound-expr.js';
import type { AggregateAnalysis } from '../logical/analyzer.js';
import { evaluate, type EvalEnv } from '../kernels/expr-kernel.js';
import { ExecNode, emptyMetrics, type ExecContext, type StatefulOperator, type StateOperatorMetrics } from './exec-node.js';

/** Rows of one execution get arrival sequence numbers `batchId · 2^30 + row`. */
export const SEQ_PER_BATCH = 2 ** 30;

/** Rows of `batch` where `time` is null: Arrow's null count of a plain column, else counted on the evaluated vector. */
function nullRows(time: Bound, batch: RecordBatch, schema: Schema, env: EvalEnv): number {
  if (time.k === 'ref' && time.path.length === 0) return batch.getChildAt(time.ordinal)?.nullCount ?? 0;
  const v = evaluate(time, batch, schema, env);
  if (v.kind === 'null') return v.length;
  const valid = v.valid;
  if (valid === null) return 0;
  let n = 0;
  for (let i = 0; i < v.length; i++) n += 1 - valid[i]!;
  return n;
}

/**
 * The name of the column a window aggregation's time is, or null when the time is an expression.
 *
 * @example
 * windowTimeName(analyzeAggregate(node), child.schema); // 'ts'
 */
export function windowTimeName(a: AggregateAnalysis, input: Schema): string | null {
  const t = a.window?.time;
  return t?.k === 'ref' && t.path.length === 0 ? input.fields[t.ordinal]!.name : null;
}

/**
 * The watermark an operator's input carries when the query's is `wm`: lowered by each operator below that holds rows
 * back past the watermark and says so with `outputWatermark` (a stream–stream join emits rows down to its state
 * watermarks: Spark's produceOutputWatermark), so that a stateful operator above it neither drops them as late nor
 * closes their windows early. Unchanged when nothing below lowers it.
 *
 * @example
 * inputWatermark(joinExec, 60_000); // 60_000 − 5_001 above `l BETWEEN r − 5s AND r + 5s`
 */
export function inputWatermark(n: ExecNode, wm: number): number {
  let out = wm;
  const walk = (x: ExecNode) => {
    const lowers = (x as { outputWatermark?: (wm: number) => number }).outputWatermark;
    if (typeof lowers === 'function') out = Math.min(out, lowers.call(x, wm));
    x.children.forEach(walk);
  };
  walk(n);
  return out;
}

export abstract class StatefulExec extends ExecNode implements StatefulOperator {
  operatorId = 0;
  abstract readonly operatorName: string;
  readonly runner: PartitionRunner;
  protected m: StateOperatorMetrics;
  protected lastEvictionWm: number | null = null;
  /** The time expression of the operator's window, if it has one: rows where it is null fall in no window. */
  protected windowTime: Bound | null = null;
  protected outputMode: string | null = null;
  /**
   * The earliest time a timer or TTL expiry of the operator's partitions falls due after the last batch (in the clock
   * the kind counts in), or null: a subclass asks for a no-data batch when it is reached.
   */
  protected nextDueMs: number | null = null;
  /** How many partitions the `operator.json` of this run describes (null: not written yet this run). */
  private metadataPartitions: number | null = null;
  /** The placement note already logged (see `PartitionRunner.placementNote`). */
  private loggedNote: string | null = null;

  constructor(
    readonly child: ExecNode,
    spec: KeyedOperatorSpec,
  ) {
    super();
    this.runner = new PartitionRunner(spec);
    this.m = emptyMetrics('');
  }

  get children() {
    return [this.child];
  }

  abstract override get schema(): Schema;

  async *execute(ctx: ExecContext): AsyncIterable<RecordBatch> {
    const t0 = performance.now();
    const info: BatchInfo = {
      batchId: ctx.batchId,
      streaming: ctx.streaming,
      outputMode: ctx.outputMode,
      lateWatermarkMs: this.inputWatermark(ctx.lateWatermarkMs),
      evictionWatermarkMs: this.inputWatermark(ctx.evictionWatermarkMs),
      batchTimestampMs: ctx.env.batchTimestampMs,
      ...(ctx.query ? { queryId: ctx.query.id, runId: ctx.query.runId } : {}),
    };
    this.outputMode = ctx.outputMode;
    await this.runner.start(info, ctx.workers);
    let rowOffset = 0;
    let withoutWindow = 0;
    for await (const batch of this.child.execute(ctx)) {
      // Counted here, on the calling thread, wherever the partitions run (the window kernels skip these rows).
      if (this.windowTime !== null) withoutWindow += nullRows(this.windowTime, batch, this.child.schema, ctx.env);
      await this.runner.absorb(batch, ctx.batchId * SEQ_PER_BATCH + rowOffset, info);
      rowOffset += batch.numRows;
    }
    for await (const { batch, input } of this.moreInputs(ctx)) {
      await this.runner.absorb(batch, ctx.batchId * SEQ_PER_BATCH + rowOffset, info, input);
      rowOffset += batch.numRows;
    }
    const t1 = performance.now();
    const { outputs, metrics, partitions, custom, nextDueMs } = await this.runner.finish(info);
    if (ctx.streaming) this.lastEvictionWm = ctx.evictionWatermarkMs;
    this.nextDueMs = nextDueMs;
    const note = ctx.workers.parallelism > 1 ? this.runner.placementNote : null;
    if (note !== null) this.logPlacementNote(note);
    this.m = {
      ...emptyMetrics(this.operatorName),
      ...metrics,
      allUpdatesTimeMs: Math.round(t1 - t0),
      allRemovalsTimeMs: Math.round(performance.now() - t1),
      numShufflePartitions: partitions,
      numStateStoreInstances: partitions,
      numRowsWithoutWindow: withoutWindow,
    };
    if (Object.keys(custom).length > 0) this.m.customMetrics = custom;
    if (note !== null) this.m.placementNote = note;
    yield* outputs;
  }

  /** The watermark of this operator's inputs (see `inputWatermark`): the smallest over them. */
  private inputWatermark(wm: number): number {
    return Math.min(...this.children.map((c) => inputWatermark(c, wm)));
  }

  /**
   * Rows of the operator's other inputs for this batch, after its child's (input 0): a join's right side, the
   * initial state of `transformWithState`. None by default.
   */
  protected async *moreInputs(_ctx: ExecContext): AsyncIterable<{ batch: RecordBatch; input: number }> {}

  /** Says once per run why the operator stays on the calling thread, when the runner pinned it there. */
  private logPlacementNote(note: string): void {
    if (note === this.loggedNote) return;
    this.loggedNote = note;
    console.warn(`sluice: ${this.operatorName} (state operator ${this.operatorId}) stays on the calling thread: ${note}`);
  }

  stateSignature(): string {
    const s = this.runner.spec;
    const op = s.kind === 'dedup' ? this.operatorName : s.kind;
    const schema = this.stateSchemaForSignature();
    return `${op}(${schema.fields.map((f) => `${f.name}:${typeToString(f.type)}`).join(',')})`;
  }

  protected abstract stateSchemaForSignature(): Schema;

  get statePartitions(): number {
    return this.runner.partitions;
  }

  async restore(
    stateDir: (p: number) => string,
    version: number,
    written: number,
    ctx: { workers: ExecContext['workers']; lastEvictionWatermarkMs: number | null; outputMode: ExecContext['outputMode'] },
  ): Promise<void> {
    await this.runner.restore(stateDir, version, written, ctx.workers);
    this.lastEvictionWm = ctx.lastEvictionWatermarkMs;
    this.outputMode = ctx.outputMode;
  }

  async commit(stateDir: (p: number) => string, version: number, snapshot: boolean): Promise<void> {
    const t0 = performance.now();
    await this.runner.commit(stateDir, version, snapshot);
    const partitions = this.runner.partitions;
    if (this.metadataPartitions !== partitions) {
      // `state/<op>/_metadata/operator.json`: at the first commit of the run, and whenever the partition count changes.
      await writeOperatorMetadata(dirname(stateDir(0)), { operatorName: this.operatorName, kind: this.runner.spec.kind, partitions, tables: this.runner.tables });
      this.metadataPartitions = partitions;
    }
    this.m.commitTimeMs = Math.round(performance.now() - t0);
  }

  async purge(stateDir: (p: number) => string, minVersion: number): Promise<void> {
    await this.runner.purge(stateDir, minVersion);
  }

  metrics(): StateOperatorMetrics {
    return this.m;
  }

  abstract needsNoDataBatch(newWatermarkMs: number): boolean;
}
