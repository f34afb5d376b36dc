import type { RecordBatch, Table } from 'apache-arrow';
import type { MemoryTableView, SinkServices } from '../../engine/io/format-registry.js';
import type { OutputMode, SinkBatchInfo, StreamingSink } from '../../engine/io/sink.js';
import type { Schema } from '../../engine/types/data-type.js';
import { checkOptionNames } from '../../engine/io/sink-options.js';
import { appendAll } from '../../engine/types/arrays.js';

/** A query name a memory sink needs but was not given. */
export class MemorySinkError extends Error {
  override readonly name = 'MemorySinkError';
}

/**
 * Keeps a query's output in memory as `session.table(queryName)` (Spark's MemorySink): append and update modes
 * accumulate rows, complete mode holds the latest result. A batch id it already holds is ignored, so a re-run batch is
 * not added twice.
 *
 * @example
 * df.writeStream.format('memory').queryName('counts').outputMode('complete').start();
 * await session.table('counts').collect();
 */
export class MemorySink implements StreamingSink, MemoryTableView {
  private data: RecordBatch[] = [];
  private lastBatchId = -1;
  schema: Schema = { fields: [] };

  constructor(
    readonly name: string,
    readonly outputMode: OutputMode,
  ) {}

  get description(): string {
    return `MemorySink[${this.name}]`;
  }

  batches(): readonly RecordBatch[] {
    return this.data;
  }

  async addBatch(batchId: number, data: Table, info: SinkBatchInfo): Promise<void> {
    this.schema = info.schema;
    if (batchId <= this.lastBatchId) return;
    this.lastBatchId = batchId;
    if (this.outputMode === 'complete') this.data = [...data.batches];
    else appendAll(this.data, data.batches);
  }

  /** Registers the sink's table with the session; the memory sink takes no options besides the writer's own. */
  static create(services: SinkServices, outputMode: OutputMode, options: Readonly<Record<string, string>> = {}): MemorySink {
    checkOptionNames('memory sink', options, { known: [] });
    if (!services.queryName) {
      throw new MemorySinkError("The memory sink needs a name: call .queryName('name') and read it with session.table('name').");
    }
    const sink = new MemorySink(services.queryName, outputMode);
    services.registerTable(services.queryName, sink);
    return sink;
  }
}
