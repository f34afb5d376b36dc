import type { Table } from 'apache-arrow';
import { formatTable } from '../../engine/api/show.js';
import type { SinkBatchInfo, StreamingSink } from '../../engine/io/sink.js';
import { rowsFromBatch } from '../../engine/types/values.js';

/**
 * Prints each batch as a table (at most `numRows` rows, default 20), like Spark's console sink. At-most-once: it keeps
 * nothing, so a re-run batch is printed again.
 *
 * @example
 * df.writeStream.format('console').option('numRows', '5').start();
 */
export class ConsoleSink implements StreamingSink {
  readonly description = 'ConsoleSink';
  constructor(
    private readonly numRows = 20,
    private readonly print: (text: string) => void = (t) => console.log(t),
  ) {}

  async addBatch(batchId: number, data: Table, info: SinkBatchInfo): Promise<void> {
    const rows = data.batches.flatMap((b) => rowsFromBatch(b, info.schema));
    const shown = rows.slice(0, this.numRows);
    const more = rows.length > shown.length ? `\nonly showing top ${shown.length} rows` : '';
    this.print(`-------------------------------------------\nBatch: ${batchId}\n-------------------------------------------\n${formatTable(info.schema.fields.map((f) => f.name), shown)}${more}\n`);
  }
}
