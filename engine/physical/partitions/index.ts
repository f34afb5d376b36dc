import type { AggregateAnalysis } from '../../logical/analyzer.js';
import type { Schema } from '../../types/data-type.js';
import { AggregatePartition } from './aggregate-partition.js';
import { DedupPartition, type DedupSpec } from './dedup-partition.js';
import type { PartitionOperator } from './partition-operator.js';
import { SessionPartition } from './session-partition.js';

/** What a partition is made from: plain data, so a worker thread can build the same partition. */
export type PartitionSpec =
  | { readonly kind: 'aggregate'; readonly analysis: AggregateAnalysis; readonly inputSchema: Schema }
  | { readonly kind: 'session'; readonly analysis: AggregateAnalysis; readonly inputSchema: Schema }
  | { readonly kind: 'dedup'; readonly dedup: DedupSpec; readonly inputSchema: Schema };

/**
 * Builds an (empty) partition from its spec.
 *
 * @example
 * const p = makePartition({ kind: 'aggregate', analysis, inputSchema });
 */
export function makePartition(spec: PartitionSpec): PartitionOperator {
  switch (spec.kind) {
    case 'aggregate':
      return new AggregatePartition(spec.analysis, spec.inputSchema);
    case 'session':
      return new SessionPartition(spec.analysis, spec.inputSchema);
    case 'dedup':
      return new DedupPartition(spec.dedup, spec.inputSchema);
  }
}

export type { BatchInfo, PartialResult, PartitionMetrics, PartitionOperator } from './partition-operator.js';
