/**
 * `dropDuplicates(cols)` and `dropDuplicatesWithinWatermark(cols)`: emits the first row of each key and remembers the
 * key. In streaming, rows whose watermark column is ≤ the late-events watermark are dropped; `dropDuplicates` forgets
 * keys once the watermark passes their event time (only when the watermark column is a key), the within-watermark
 * variant once it passes `eventTime + delay` of the first occurrence (Spark's StreamingDeduplicate[WithinWatermark]Exec),
 * where a null event time counts as 0 (the key expires once the watermark reaches the delay; a null time is never
 * late). A batch query refuses the within-watermark variant, as Spark (`checkBatchPlan`).
 *
 * @module
 */
import type { Schema } from '../types/data-type.js';
import { DedupPartition, type DedupOperatorSpec } from './partitions/dedup-partition.js';
import type { KeyedOperatorSpec } from './partitions/keyed-operator.js';
import type { ExecNode } from './exec-node.js';
import { StatefulExec } from './stateful-exec.js';

/** `DedupExec: keys=[id] watermark=eventTime` */
export class DedupExec extends StatefulExec {
  readonly operatorName: string;

  constructor(
    child: ExecNode,
    readonly keyOrdinals: readonly number[],
    readonly watermark: { readonly ordinal: number; readonly delayMs: number } | null,
    readonly withinWatermark: boolean,
  ) {
    super(child, { kind: 'dedup', dedup: { keyOrdinals, watermark, withinWatermark }, inputSchemas: [child.schema] } satisfies DedupOperatorSpec as KeyedOperatorSpec);
    this.operatorName = withinWatermark ? 'dedupeWithinWatermark' : 'dedupe';
  }

  get schema(): Schema {
    return this.child.schema;
  }

  protected stateSchemaForSignature(): Schema {
    return new DedupPartition({ keyOrdinals: this.keyOrdinals, watermark: this.watermark, withinWatermark: this.withinWatermark }, this.child.schema).stateSchema;
  }

  describe(): string {
    const keys = this.keyOrdinals.map((o) => this.schema.fields[o]!.name).join(', ');
    return `DedupExec: keys=[${keys}]${this.watermark ? ` watermark=${this.schema.fields[this.watermark.ordinal]!.name}` : ''}${this.withinWatermark ? ' withinWatermark' : ''}`;
  }

  needsNoDataBatch(newWatermarkMs: number): boolean {
    return this.watermark !== null && this.lastEvictionWm !== null && newWatermarkMs > this.lastEvictionWm;
  }
}
