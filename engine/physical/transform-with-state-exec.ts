/**
 * `groupByKey(keys).transformWithState(processor, options)`: the processor runs in the operator's partitions (see
 * `TransformWithStatePartition`), inline or on worker threads like every keyed operator. This node adds what is
 * decided on the calling thread: when a no-data batch is due (Spark's rules for event time; processing-time timers
 * and TTL by the clock), the initial state in batch 0, and the check that no emitted row is older than the watermark
 * when the output carries an event time (`eventTimeColumnName`).
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import type { Schema } from '../types/data-type.js';
import { typeToString } from '../types/data-type.js';
import { columnVec, formatTimestamp } from '../types/values.js';
import type { ExecContext, ExecNode } from './exec-node.js';
import { StatefulExec } from './stateful-exec.js';
import type { TransformWithStateSpec } from './partitions/transform-with-state-partition.js';

/**
 * An emitted row whose event time (`eventTimeColumnName`) is at or behind the watermark: downstream operators would
 * drop it as late (Spark's EMITTING_ROWS_OLDER_THAN_WATERMARK_NOT_ALLOWED).
 */
export class EmittingRowsOlderThanWatermarkError extends Error {
  override readonly name = 'EmittingRowsOlderThanWatermarkError';
}

/** `TransformWithStateExec: keys=[user] processor=FailedLoginDetector timeMode=processingTime outputMode=append` */
export class TransformWithStateExec extends StatefulExec {
  readonly operatorName = 'transformWithStateExec';
  /**
   * The earliest processing time a processing-time timer or a TTL expiry falls due after the last batch (null:
   * none; −∞: unknown, after a restore, until a batch ran).
   */
  private dueProcessingMs: number | null = null;
  private readonly eventTimeOutput: number | null;

  constructor(
    child: ExecNode,
    readonly spec: TransformWithStateSpec,
    /** The output column carrying event time downstream, or null. */
    eventTimeColumnName: string | null,
    /** The initial state (a batch plan), fed to the partitions as input 1 in batch 0 only. */
    private readonly initialState: ExecNode | null,
    private readonly processorName: string,
  ) {
    super(child, spec);
    this.eventTimeOutput = eventTimeColumnName === null ? null : spec.outputSchema.fields.findIndex((f) => f.name === eventTimeColumnName);
  }

  get schema(): Schema {
    return this.spec.outputSchema;
  }

  protected stateSchemaForSignature(): Schema {
    return { fields: this.spec.keyOrdinals.map((o) => this.child.schema.fields[o]!) };
  }

  /**
   * The grouping key's columns, the time mode and the output mode: a restart that changes one is refused (Spark's
   * STATE_STORE_INVALID_CONFIG_AFTER_RESTART). State variables may be added; one that changes kind is refused when
   * the state loads.
   */
  override stateSignature(): string {
    const keys = this.stateSchemaForSignature().fields.map((f) => `${f.name}:${typeToString(f.type)}`).join(',');
    return `transformWithState(keys=${keys};timeMode=${this.spec.timeMode};outputMode=${this.spec.outputMode})`;
  }

  describe(): string {
    const init = this.initialState ? ' initialState' : '';
    return `TransformWithStateExec: keys=[${this.spec.keyNames.join(', ')}] processor=${this.processorName} timeMode=${this.spec.timeMode} outputMode=${this.spec.outputMode}${init}`;
  }

  override async *execute(ctx: ExecContext): AsyncIterable<RecordBatch> {
    for await (const out of super.execute(ctx)) {
      if (this.eventTimeOutput !== null && ctx.streaming) this.checkNotLate(out, ctx);
      yield out;
    }
    this.dueProcessingMs = this.nextDueMs;
  }

  /** The initial state's rows, as input 1, in batch 0 (of a new checkpoint, or a batch query) only. */
  protected override async *moreInputs(ctx: ExecContext): AsyncIterable<{ batch: RecordBatch; input: number }> {
    if (this.initialState === null || ctx.batchId !== 0) return;
    const batchCtx: ExecContext = { ...ctx, streaming: false, inputs: new Map() };
    for await (const batch of this.initialState.execute(batchCtx)) if (batch.numRows > 0) yield { batch, input: 1 };
  }

  /** Fails on an output row whose event time is at or behind the late-event watermark. */
  private checkNotLate(out: RecordBatch, ctx: ExecContext): void {
    const c = this.eventTimeOutput!;
    const v = columnVec(out, this.spec.outputSchema, c);
    if (v.kind !== 'num') return;
    const wm = ctx.lateWatermarkMs;
    for (let i = 0; i < out.numRows; i++) {
      if ((v.valid === null || v.valid[i] === 1) && v.values[i]! <= wm) {
        const name = this.spec.outputSchema.fields[c]!.name;
        throw new EmittingRowsOlderThanWatermarkError(
          `[EMITTING_ROWS_OLDER_THAN_WATERMARK_NOT_ALLOWED] transformWithState emitted a row whose '${name}' ` +
            `(${formatTimestamp(v.values[i]!)}) is not after the watermark (${formatTimestamp(wm)}) in batch ${ctx.batchId}: ` +
            `a downstream operator would drop it as late. Emit times after getCurrentWatermarkInMs(), or do not name '${name}' as eventTimeColumnName.`,
        );
      }
    }
  }

  /** Spark's rule in event-time mode: a no-data batch whenever the watermark rose (event-time timers may fall due). */
  needsNoDataBatch(newWatermarkMs: number): boolean {
    return this.spec.timeMode === 'eventTime' && this.lastEvictionWm !== null && newWatermarkMs > this.lastEvictionWm;
  }

  /**
   * Processing-time timers and TTL expiries fall due with the clock. Spark asks for a no-data batch after every batch
   * in processing-time mode (a TODO in its code, SPARK-50180); sluice asks only when something is due, so an
   * `availableNow` query ends once nothing is, and an idle `processingTime` query fires a timer at the first trigger
   * at or after it. After a restore the due time is unknown until a batch ran: one no-data batch is asked for.
   */
  dueByProcessingTime(nowMs: number): boolean {
    const due = this.dueProcessingMs;
    return due !== null && due <= nowMs;
  }

  override async restore(...args: Parameters<StatefulExec['restore']>): Promise<void> {
    await super.restore(...args);
    const timed = this.spec.timeMode === 'processingTime' || this.runner.tables.some((t) => t.ttlMs !== null);
    this.dueProcessingMs = timed ? Number.NEGATIVE_INFINITY : null;
  }
}
