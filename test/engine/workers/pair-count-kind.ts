/**
 * A keyed operator kind defined outside the engine, for the tests of the open contract: two inputs, each row counted
 * per key (`k`, a string in column `keyColumn` of its input) in its own named table, `left` (input 0) or `right`
 * (input 1). `finish` emits `{ k, left, right }` for every key that changed in the batch, reports the rows of each
 * input as custom metrics and a due time 1 s after the batch's timestamp while it holds state.
 *
 * Row-at-a-time over plain objects: a test fixture, not a pattern for operators.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import {
  defineOperatorKind,
  type BatchInfo,
  type KeyedOperator,
  type KeyedOperatorSpec,
  type PartitionMetrics,
  type StateTable,
} from '../../../engine/physical/partitions/keyed-operator.js';
import { deltaSchema, OP_PUT } from '../../../engine/state/state-store.js';
import { field, schemaOf, type Schema } from '../../../engine/types/data-type.js';
import { batchFromRows, columnVec, rowsFromBatch } from '../../../engine/types/values.js';
import { strAt, type StrVec } from '../../../engine/kernels/vec.js';

export interface PairCountSpec extends KeyedOperatorSpec {
  readonly kind: 'test-pair-count';
  /** The key column's ordinal in each input. */
  readonly keyColumns: readonly [number, number];
  /** Whether a worker thread may build it (`movable`). */
  readonly movable: boolean;
}

/** What a thread's copy of this module lets `create` do: false makes it throw `ProcessorNotLoadableError`. */
export const pairCountLoading = { loadable: true };

/** Stands in for the processor package's error of the same name (matched by name across threads). */
export class ProcessorNotLoadableError extends Error {
  override readonly name = 'ProcessorNotLoadableError';
}

const TABLE_NAMES = ['left', 'right'] as const;
const TABLE_SCHEMA: Schema = schemaOf([field('k', 'string', false), field('n', 'int', false)]);
const OUTPUT: Schema = schemaOf([field('k', 'string', false), field('left', 'int', false), field('right', 'int', false)]);

class PairCount implements KeyedOperator {
  readonly tables: readonly StateTable[] = TABLE_NAMES.map((name) => ({
    name,
    schema: TABLE_SCHEMA,
    keyCount: 1,
    partitionKeyColumns: [0],
    ttlMs: null,
    role: 'value' as const,
  }));
  readonly outputSchema = OUTPUT;
  private readonly counts = [new Map<string, number>(), new Map<string, number>()];
  private readonly dirty = [new Set<string>(), new Set<string>()];
  private changed = new Set<string>();
  private rows = [0, 0];

  constructor(private readonly spec: PairCountSpec) {}

  startBatch(): void {
    this.changed = new Set();
    this.rows = [0, 0];
  }

  absorb(batch: RecordBatch, _seqBase: number, _info: BatchInfo, input: number): void {
    const keys = columnVec(batch, this.spec.inputSchemas[input]!, this.spec.keyColumns[input]!) as StrVec;
    const counts = this.counts[input]!;
    for (let i = 0; i < batch.numRows; i++) {
      const k = strAt(keys, i);
      counts.set(k, (counts.get(k) ?? 0) + 1);
      this.dirty[input]!.add(k);
      this.changed.add(k);
    }
    this.rows[input]! += batch.numRows;
  }

  finish(info: BatchInfo): { output: RecordBatch | null; metrics: PartitionMetrics } {
    const [l, r] = this.counts as [Map<string, number>, Map<string, number>];
    const out = [...this.changed].sort().map((k) => ({ k, left: l.get(k) ?? 0, right: r.get(k) ?? 0 }));
    return {
      output: out.length > 0 ? batchFromRows(out, OUTPUT) : null,
      metrics: {
        numRowsTotal: l.size + r.size,
        numRowsUpdated: this.changed.size,
        numRowsRemoved: 0,
        numRowsDroppedByWatermark: 0,
        memoryUsedBytes: 0,
        custom: { leftRows: this.rows[0]!, rightRows: this.rows[1]! },
        nextDueMs: l.size + r.size > 0 ? info.batchTimestampMs + 1000 : null,
      },
    };
  }

  private index(table: string): number {
    const i = (TABLE_NAMES as readonly string[]).indexOf(table);
    if (i < 0) throw new Error(`no table '${table}'`);
    return i;
  }

  takeDelta(table: string): RecordBatch | null {
    const i = this.index(table);
    const keys = [...this.dirty[i]!];
    this.dirty[i]!.clear();
    if (keys.length === 0) return null;
    return batchFromRows(keys.map((k) => ({ __op: OP_PUT, k, n: this.counts[i]!.get(k)! })), deltaSchema(TABLE_SCHEMA));
  }

  snapshot(table: string): RecordBatch | null {
    const m = this.counts[this.index(table)]!;
    return m.size > 0 ? batchFromRows([...m].map(([k, n]) => ({ k, n })), TABLE_SCHEMA) : null;
  }

  restore(tables: ReadonlyMap<string, RecordBatch | null>): void {
    TABLE_NAMES.forEach((name, i) => {
      const m = this.counts[i]!;
      m.clear();
      const rows = tables.get(name);
      if (rows) for (const row of rowsFromBatch(rows, TABLE_SCHEMA)) m.set(row['k'] as string, row['n'] as number);
    });
  }
}

/** The kind, registered in the registry of whichever copy of the engine imports this module. */
export const PAIR_COUNT_KIND = defineOperatorKind<PairCountSpec>({
  kind: 'test-pair-count',
  create: async (spec) => {
    if (!pairCountLoading.loadable) throw new ProcessorNotLoadableError('pair-count.ts cannot be loaded on this thread (test)');
    return new PairCount(spec);
  },
  inputKeys: (spec, batch, input) => [columnVec(batch, spec.inputSchemas[input]!, spec.keyColumns[input]!)],
  describeKeys: () => ['k'],
  movable: (spec) => spec.movable,
});
