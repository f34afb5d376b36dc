import type { RecordBatch } from 'apache-arrow';
import type { BatchScan, ReadColumns } from '../io/source.js';
import type { Schema } from '../types/data-type.js';
import { ExecNode, type ExecContext } from './exec-node.js';

/** Reads a bounded relation: batches held in memory or a `BatchScan` (files, tables). */
export class LocalScanExec extends ExecNode {
  readonly children = [];
  constructor(
    readonly schema: Schema,
    private readonly description: string,
    private readonly batches: readonly RecordBatch[] | null,
    private readonly scan: BatchScan | null,
    /** The columns the plan reads (see `readColumnsOf`); the scan may leave the others null. */
    private readonly columns: ReadColumns = 'all',
  ) {
    super();
  }
  async *execute(ctx: ExecContext): AsyncIterable<RecordBatch> {
    if (this.batches) yield* this.batches;
    else if (this.scan) yield* this.scan.scan(this.columns === 'all' ? undefined : this.columns, ctx.scanStats);
  }
  /**
   * What identifies the data a scan reads now (`BatchScan.dataVersion`: a Delta table's newest version), or null for
   * data fixed for the run (memory, files): a stream–static join reads its static side again when this changes.
   *
   * @example
   * await scan.dataVersion(); // 3 (a Delta table), null (a Parquet file)
   */
  async dataVersion(): Promise<number | null> {
    return this.scan?.dataVersion ? this.scan.dataVersion() : null;
  }

  describe(): string {
    const all = this.schema.fields.map((f) => f.name);
    const cols = this.columns;
    let reads = '';
    if (this.scan?.prunesColumns && cols !== 'all') {
      const read = all.filter((n) => cols.has(n.toLowerCase()));
      if (read.length < all.length) reads = ` reads [${read.join(', ')}]`;
    }
    return `ScanExec: ${this.description} [${all.join(', ')}]${reads}`;
  }
}

/** Reads this micro-batch's rows of one streaming source. */
export class StreamScanExec extends ExecNode {
  readonly children = [];
  constructor(
    readonly schema: Schema,
    readonly sourceKey: object,
    private readonly description: string,
  ) {
    super();
  }
  async *execute(ctx: ExecContext): AsyncIterable<RecordBatch> {
    const input = ctx.inputs.get(this.sourceKey);
    if (input) yield* input();
  }
  describe(): string {
    return `StreamScanExec: ${this.description} [${this.schema.fields.map((f) => f.name).join(', ')}]`;
  }
}
