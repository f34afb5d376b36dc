/**
 * The repartitioning of rows by key in front of a stateful operator, as a step of the physical plan: what `explain()`
 * prints as `Exchange: hashpartitioning(user, 2)` (Spark's `Exchange hashpartitioning(user#12, 200)`).
 *
 * The node documents the partitioning; it does not move rows itself. Rows reach their partition inside the stateful
 * operator's runner (`PartitionRunner`), which decides at run time whether the partitions live on the calling thread
 * (one partition: the exchange is the identity) or one per worker thread (rows split by the hash of these keys, or
 * pre-aggregated per slice and the partials sent to each key's owner). Executing the node yields its child's batches
 * unchanged, so a plan with it runs exactly as one without it.
 *
 * Keys are the ones the runner hashes: the grouping keys of an aggregation (a window is not among them: every window of
 * a key lives in the key's partition), the columns of a deduplication. An aggregation without keys has one partition
 * (`SinglePartition`).
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import type { Schema } from '../types/data-type.js';
import { ExecNode, type ExecContext } from './exec-node.js';

/**
 * `Exchange: hashpartitioning(user, 2)` over the child of a stateful operator.
 *
 * @example
 * new ExchangeExec(scan, ['user'], 2).describe(); // 'Exchange: hashpartitioning(user, 2)'
 * new ExchangeExec(scan, ['user'], null).describe(); // 'Exchange: hashpartitioning(user, <parallelism>)'
 */
export class ExchangeExec extends ExecNode {
  constructor(
    readonly child: ExecNode,
    /** The key expressions' names, in hashing order; empty: one partition. */
    readonly keys: readonly string[],
    /** The partitions of the run (its `parallelism`), or null when the plan is printed without a run's settings. */
    readonly partitions: number | null,
  ) {
    super();
  }

  get schema(): Schema {
    return this.child.schema;
  }

  get children(): readonly ExecNode[] {
    return [this.child];
  }

  /** The child's batches, unchanged (the runner of the operator above partitions them). */
  execute(ctx: ExecContext): AsyncIterable<RecordBatch> {
    return this.child.execute(ctx);
  }

  describe(): string {
    if (this.keys.length === 0) return 'Exchange: SinglePartition';
    return `Exchange: hashpartitioning(${this.keys.join(', ')}, ${this.partitions ?? '<parallelism>'})`;
  }
}
