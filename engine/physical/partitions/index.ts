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

import { boundColumns, remapColumns, type Bound } from '../../logical/bound-expr.js';

/**
 * The spec reading only the input columns the operator uses, and those columns' ordinals: worker threads get
 * batches of just these columns (dedup emits whole rows, so it keeps every column).
 *
 * @example
 * const { spec: narrow, columns } = projectSpec(spec); // columns = [3, 5]
 */
export function projectSpec(spec: PartitionSpec): { spec: PartitionSpec; columns: number[] | null } {
  if (spec.kind === 'dedup') return { spec, columns: null };
  const a = spec.analysis;
  const used = new Set<number>();
  for (const k of a.keys) boundColumns(k.bound, used);
  for (const x of a.aggs) if (x.input) boundColumns(x.input, used);
  if (a.window) {
    boundColumns(a.window.time, used);
    if (a.window.kind === 'session' && typeof a.window.gap !== 'number') boundColumns(a.window.gap, used);
  }
  const columns = [...used].sort((x, y) => x - y);
  if (columns.length === spec.inputSchema.fields.length) return { spec, columns: null };
  const map = new Map(columns.map((c, i) => [c, i]));
  const r = (b: Bound) => remapColumns(b, map);
  const w = a.window;
  const window =
    w === null
      ? null
      : w.kind === 'time'
        ? { ...w, time: r(w.time) }
        : { ...w, time: r(w.time), gap: typeof w.gap === 'number' ? w.gap : r(w.gap) };
  const analysis = {
    ...a,
    keys: a.keys.map((k) => ({ ...k, bound: r(k.bound) })),
    aggs: a.aggs.map((x) => ({ ...x, input: x.input ? r(x.input) : null })),
    window,
  } as typeof a;
  const inputSchema = { fields: columns.map((c) => spec.inputSchema.fields[c]!) };
  return { spec: { ...spec, analysis, inputSchema }, columns };
}
