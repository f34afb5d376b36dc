/**
 * Session-window aggregation: rows start sessions `[t, t + gap)` that merge per key when they overlap or touch; in
 * streaming, late rows (session end ≤ the late-events watermark) are dropped and counted one by one, and append mode
 * emits a session once its end is ≤ the eviction watermark (`SessionPartition`).
 *
 * @module
 */
import type { AggregateAnalysis } from '../logical/analyzer.js';
import type { Schema } from '../types/data-type.js';
import { formatDuration } from '../types/duration.js';
import { SessionPartition } from './partitions/session-partition.js';
import type { AggregateSpec } from './partitions/aggregate-partition.js';
import type { KeyedOperatorSpec } from './partitions/keyed-operator.js';
import type { ExecNode } from './exec-node.js';
import { StatefulExec } from './stateful-exec.js';

/** `SessionWindowExec: gap=10 seconds keys=[user] aggs=[n]` */
export class SessionWindowExec extends StatefulExec {
  readonly operatorName = 'sessionWindowStateStoreSaveExec';

  constructor(
    child: ExecNode,
    readonly analysis: AggregateAnalysis,
  ) {
    super(child, { kind: 'session', analysis, inputSchemas: [child.schema] } satisfies AggregateSpec as KeyedOperatorSpec);
    if (analysis.window?.kind !== 'session') throw new Error('SessionWindowExec needs a session window');
    this.windowTime = analysis.window.time;
  }

  get schema(): Schema {
    return this.analysis.schema;
  }

  protected stateSchemaForSignature(): Schema {
    return new SessionPartition(this.analysis, this.child.schema).stateSchema;
  }

  describe(): string {
    const w = this.analysis.window as Extract<AggregateAnalysis['window'], { kind: 'session' }>;
    const gap = typeof w.gap === 'number' ? formatDuration(w.gap) : 'per-row';
    return `SessionWindowExec: gap=${gap} keys=[${this.analysis.keys.map((k) => k.name).join(', ')}] aggs=[${this.analysis.aggs.map((x) => x.name).join(', ')}]`;
  }

  needsNoDataBatch(newWatermarkMs: number): boolean {
    return this.outputMode === 'append' && this.analysis.eventTime !== null && this.lastEvictionWm !== null && newWatermarkMs > this.lastEvictionWm;
  }
}
