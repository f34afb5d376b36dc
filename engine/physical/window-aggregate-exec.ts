/**
 * Hash aggregation over grouping keys and an optional tumbling/sliding window, for batch and streaming. Rows are
 * expanded into (row, window) pairs, late pairs are dropped (streaming append/update), keys are encoded into a typed
 * group table and the accumulators updated in one pass per aggregate (`AggregatePartition`). At the end of each
 * execution the operator emits per output mode and evicts closed windows.
 *
 * @module
 */
import type { AggregateAnalysis } from '../logical/analyzer.js';
import type { Schema } from '../types/data-type.js';
import { formatDuration } from '../types/duration.js';
import { aggregateLayout, AggregatePartition, type AggregateSpec } from './partitions/aggregate-partition.js';
import type { KeyedOperatorSpec } from './partitions/keyed-operator.js';
import type { ExecNode } from './exec-node.js';
import { StatefulExec } from './stateful-exec.js';

export { SEQ_PER_BATCH } from './stateful-exec.js';
export { aggregateLayout, windowVec } from './partitions/aggregate-partition.js';

/** `WindowAggregateExec: window=tumbling(5 seconds) keys=[user] aggs=[n, total]` */
export class WindowAggregateExec extends StatefulExec {
  readonly operatorName = 'stateStoreSave';

  constructor(
    child: ExecNode,
    readonly analysis: AggregateAnalysis,
  ) {
    super(child, { kind: 'aggregate', analysis, inputSchemas: [child.schema] } satisfies AggregateSpec as KeyedOperatorSpec);
    if (analysis.window !== null && analysis.window.kind !== 'time') throw new Error('WindowAggregateExec handles time windows only');
    this.windowTime = analysis.window?.time ?? null;
  }

  get schema(): Schema {
    return this.analysis.schema;
  }

  protected stateSchemaForSignature(): Schema {
    return new AggregatePartition(this.analysis, this.child.schema).stateSchema;
  }

  describe(): string {
    const a = this.analysis;
    const w = a.window?.kind === 'time' ? a.window : null;
    const win = w
      ? w.sizeMs === w.slideMs
        ? `tumbling(${formatDuration(w.sizeMs)})`
        : `sliding(${formatDuration(w.sizeMs)}, ${formatDuration(w.slideMs)})`
      : 'none';
    return `WindowAggregateExec: window=${win} keys=[${a.keys.map((k) => k.name).join(', ')}] aggs=[${a.aggs.map((x) => x.name).join(', ')}]`;
  }

  needsNoDataBatch(newWatermarkMs: number): boolean {
    // Spark's StateStoreSaveExec.shouldRunAnotherBatch.
    return (
      (this.outputMode === 'append' || this.outputMode === 'update') &&
      this.analysis.eventTime !== null &&
      this.lastEvictionWm !== null &&
      newWatermarkMs > this.lastEvictionWm
    );
  }
}

export { aggregateLayout as layoutOf };
