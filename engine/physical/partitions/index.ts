/**
 * The built-in keyed operator kinds (`aggregate`, `session`, `dedup`, `transformWithState`, `join`): importing this module registers them
 * (`defineOperatorKind`), as the worker thread's entry does before it builds any partition.
 *
 * @module
 */
export { AGGREGATE_KIND, AggregatePartition, type AggregateSpec } from './aggregate-partition.js';
export { SESSION_KIND, SessionPartition } from './session-partition.js';
export { DEDUP_KIND, DedupPartition, type DedupOperatorSpec, type DedupSpec } from './dedup-partition.js';
export { TRANSFORM_WITH_STATE_KIND, TransformWithStatePartition, type TransformWithStateSpec } from './transform-with-state-partition.js';
export { JOIN_KIND, JoinPartition, type JoinOperatorSpec, type StreamJoinType } from './join-partition.js';
export type { BatchInfo, KeyedOperator, KeyedOperatorSpec, MapSide, PartialResult, PartitionMetrics, StateTable } from './keyed-operator.js';
