/**
 * The base of stateful operators: runs the child, hands its rows to the operator's partitions (inline or on worker
 * threads, see `PartitionRunner`), emits what the partitions emit, and checkpoints them.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import type { PartitionSpec } from './partitions/index.js';
import type { BatchInfo } from './partitions/partition-operator.js';
import { PartitionRunner } from '../workers/partition-runner.js';
import { typeToString, type Schema } from '../types/data-type.js';
import { ExecNode, emptyMetrics, type ExecContext, type StatefulOperator, type StateOperatorMetrics } from './exec-node.js';

/** Rows of one execution get arrival sequence numbers `batchId · 2^30 + row`. */
export const SEQ_PER_BATCH = 2 ** 30;

export abstract class StatefulExec extends ExecNode implements StatefulOperator {
  operatorId = 0;
  abstract readonly operatorName: string;
  readonly runner: PartitionRunner;
  protected m: StateOperatorMetrics;
  protected lastEvictionWm: number | null = null;
  protected outputMode: string | null = null;

  constructor(
    readonly child: ExecNode,
    spec: PartitionSpec,
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
      lateWatermarkMs: ctx.lateWatermarkMs,
      evictionWatermarkMs: ctx.evictionWatermarkMs,
      batchTimestampMs: ctx.env.batchTimestampMs,
    };
    this.outputMode = ctx.outputMode;
    await this.runner.start(info, ctx.workers);
    let rowOffset = 0;
    for await (const batch of this.child.execute(ctx)) {
      await this.runner.absorb(batch, ctx.batchId * SEQ_PER_BATCH + rowOffset, info);
      rowOffset += batch.numRows;
    }
    const t1 = performance.now();
    const { outputs, metrics, partitions } = await this.runner.finish(info);
    if (ctx.streaming) this.lastEvictionWm = ctx.evictionWatermarkMs;
    this.m = {
      ...emptyMetrics(this.operatorName),
      ...metrics,
      allUpdatesTimeMs: Math.round(t1 - t0),
      allRemovalsTimeMs: Math.round(performance.now() - t1),
      numShufflePartitions: partitions,
      numStateStoreInstances: partitions,
    };
    yield* outputs;
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
