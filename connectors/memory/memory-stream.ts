import type { RecordBatch } from 'apache-arrow';
import type { DataFrame } from '../../engine/api/dataframe.js';
import type { Session } from '../../engine/api/session.js';
import type { Offset, ReadLimit, StreamSource } from '../../engine/io/source.js';
import { schemaOf, type Schema, type SchemaSpec } from '../../engine/types/data-type.js';
import { batchFromRows } from '../../engine/types/values.js';
import { appendAll } from '../../engine/types/arrays.js';

let counter = 0;

/**
 * An in-memory streaming source for tests, demos and notebooks (Spark's MemoryStream). Each `addData` call becomes one
 * unit of input; its offset is the number of calls so far. Data lives in the process: after a restart in another
 * process the rows are gone, so use it with a checkpoint only within one process.
 *
 * @example
 * const input = new MemoryStream(session, { value: 'int', eventTime: 'timestamp' });
 * const q = input.toDF().writeStream.format('memory').queryName('out').start();
 * input.addData([{ value: 1, eventTime: 15_000 }]);
 */
export class MemoryStream {
  readonly schema: Schema;
  readonly id = counter++;
  private readonly batches: RecordBatch[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly session: Session,
    schema: SchemaSpec | Schema,
  ) {
    this.schema = schemaOf(schema as SchemaSpec);
  }

  /** Appends rows (plain objects converted to the schema); returns the new offset. @example input.addData([{ value: 1 }]) */
  addData(rows: readonly Record<string, unknown>[]): number {
    this.batches.push(batchFromRows(rows, this.schema));
    this.notify();
    return this.batches.length;
  }

  /** Appends ready-made Arrow batches (canonical layout). @example input.addBatches([batch]) */
  addBatches(batches: readonly RecordBatch[]): number {
    appendAll(this.batches, batches);
    this.notify();
    return this.batches.length;
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }

  /** Calls `listener` after each `addData`/`addBatches`; returns the unsubscribe function. @example const off = input.onNewData(() => {}) */
  onNewData(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Number of `addData` calls so far. */
  get latest(): number {
    return this.batches.length;
  }

  /** Rows of units `(start, end]`. */
  slice(start: number, end: number): RecordBatch[] {
    return this.batches.slice(start, end);
  }

  /** A streaming DataFrame over this input. @example input.toDF().withWatermark('eventTime', '10 seconds') */
  toDF(): DataFrame {
    const self = this;
    return this.session.streamingDataFrame({
      schema: this.schema,
      description: `MemoryStream[${this.id}]`,
      sourceKey: this,
      format: 'memory',
      options: { id: String(this.id) },
      make: () => new MemoryStreamSource(self),
    });
  }
}

class MemoryStreamSource implements StreamSource {
  constructor(private readonly stream: MemoryStream) {}
  get schema(): Schema {
    return this.stream.schema;
  }
  get description(): string {
    return `MemoryStream[${this.stream.id}]`;
  }
  async latestOffset(start: Offset | null, limit: ReadLimit): Promise<Offset | null> {
    const s = start === null ? 0 : (start as number);
    let end = this.stream.latest;
    if (limit.kind === 'maxRows' || limit.kind === 'maxFiles') end = Math.min(end, s + Math.max(1, limit.max));
    return end === 0 ? null : end;
  }
  reportLatestOffset(): Offset | null {
    return this.stream.latest === 0 ? null : this.stream.latest;
  }
  onNewData(listener: () => void): () => void {
    return this.stream.onNewData(listener);
  }
  async *getBatch(start: Offset | null, end: Offset): AsyncIterable<RecordBatch> {
    yield* this.stream.slice(start === null ? 0 : (start as number), end as number);
  }
}
