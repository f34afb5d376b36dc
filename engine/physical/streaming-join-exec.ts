/**
 * A join of two streams (Spark's StreamingSymmetricHashJoinExec): both inputs' rows are buffered by join key in the
 * operator's partitions (`JoinPartition`, inline or on worker threads), each new row joins the other side's buffered
 * rows, and the watermark evicts what can no longer match (see `joinWatermarks` for the rules). One state operator
 * in progress, `symmetricHashJoin`, with both sides' rows and bytes as custom metrics.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import { joinTypeName } from '../logical/join-type.js';
import { joinOutputWatermark, type SideEviction } from '../logical/join-watermark.js';
import { typeToString, type Schema } from '../types/data-type.js';
import type { ExecContext, ExecNode } from './exec-node.js';
import { JoinPartition, type JoinOperatorSpec } from './partitions/join-partition.js';
import { StatefulExec } from './stateful-exec.js';

function evictionText(e: SideEviction | null): string {
  return e === null ? 'never' : e.text;
}

/**
 * `StreamingSymmetricHashJoinExec: LeftOuter keys=[(clickAdId = impressionAdId)] condition=… left state: … right state: …`
 *
 * @example
 * const exec = new StreamingJoinExec(leftExchange, rightExchange, spec, ['(l.id = r.id)'], '(l.id = r.id)');
 * exec.describe();
 */
export class StreamingJoinExec extends StatefulExec {
  readonly operatorName = 'symmetricHashJoin';

  constructor(
    left: ExecNode,
    readonly right: ExecNode,
    readonly spec: JoinOperatorSpec,
    readonly keyTexts: readonly string[],
    readonly conditionText: string | null,
  ) {
    super(left, spec);
  }

  override get children(): ExecNode[] {
    return [this.child, this.right];
  }

  get schema(): Schema {
    return this.spec.outputSchema;
  }

  protected stateSchemaForSignature(): Schema {
    return new JoinPartition(this.spec).tables[0]!.schema;
  }

  /** The join type and both tables' columns: a restart with another join or other inputs is refused. */
  override stateSignature(): string {
    const p = new JoinPartition(this.spec);
    const cols = (s: Schema) => s.fields.map((f) => `${f.name}:${typeToString(f.type)}`).join(',');
    return `symmetricHashJoin(${this.spec.joinType};left=${cols(p.tables[0]!.schema)};right=${cols(p.tables[1]!.schema)})`;
  }

  describe(): string {
    const cond = this.conditionText === null ? '' : ` condition=${this.conditionText}`;
    return (
      `StreamingSymmetricHashJoinExec: ${joinTypeName(this.spec.joinType)} keys=[${this.keyTexts.join(', ')}]${cond} ` +
      `leftState=evict(${evictionText(this.spec.evictLeft)}) rightState=evict(${evictionText(this.spec.evictRight)})`
    );
  }

  /** The right input's rows, after the left's: Spark joins the left rows first. */
  protected override async *moreInputs(ctx: ExecContext): AsyncIterable<{ batch: RecordBatch; input: number }> {
    for await (const batch of this.right.execute(ctx)) if (batch.numRows > 0) yield { batch, input: 1 };
  }

  /**
   * The watermark of the rows this join emits when the query's is `wm` (Spark's produceOutputWatermark): the smallest
   * of both sides' state watermarks and `wm`, since a row held in state down to its state watermark can still be
   * emitted. Operators above read it (`inputWatermark`).
   */
  outputWatermark(wm: number): number {
    return joinOutputWatermark({ lateLeft: this.spec.lateLeft, lateRight: this.spec.lateRight, left: this.spec.evictLeft, right: this.spec.evictRight }, wm);
  }

  /** Spark's rule: a no-data batch when a side has a state watermark rule and the watermark rose. */
  needsNoDataBatch(newWatermarkMs: number): boolean {
    const evicts = this.spec.evictLeft !== null || this.spec.evictRight !== null;
    return evicts && this.lastEvictionWm !== null && newWatermarkMs > this.lastEvictionWm;
  }
}
