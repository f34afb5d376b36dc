import type { Table } from 'apache-arrow';
import { formatTable } from '../../engine/api/show.js';
import type { SinkBatchInfo, StreamingSink } from '../../engine/io/sink.js';
import { SinkOptions } from '../../engine/io/sink-options.js';
import { rowsFromBatch } from '../../engine/types/values.js';

/** The options of `writeStream.format('console')`. */
export const CONSOLE_SINK_OPTIONS: readonly string[] = ['numRows', 'truncate'];

/**
 * Prints each batch as a table (at most `numRows` rows, default 20; values cut to 40 characters unless `truncate` is
 * false), like Spark's console sink. At-most-once: it keeps nothing, so a re-run batch is printed again.
 *
 * @example
 * df.writeStream.format('console').option('numRows', '5').option('truncate', 'false').start();
 */
export class ConsoleSink implements StreamingSink {
  readonly description = 'ConsoleSink';
  constructor(
    private readonly numRows = 20,
    private readonly print: (text: string) => void = (t) => console.log(t),
    private readonly truncate = true,
  ) {}

  /**
   * The sink of `writeStream.format('console')`, its options checked.
   *
   * @example
   * ConsoleSink.fromOptions({ numRows: '5' });
   */
  static fromOptions(options: Readonly<Record<string, string>>): ConsoleSink {
    const o = new SinkOptions('console sink', options, CONSOLE_SINK_OPTIONS);
    return new ConsoleSink(o.positiveInt('numRows', 20), undefined, o.bool('truncate', true));
  }

  async addBatch(batchId: number, data: Table, info: SinkBatchInfo): Promise<void> {
    const rows = data.batches.flatMap((b) => rowsFromBatch(b, info.schema));
    const shown = rows.slice(0, this.numRows);
    const more = rows.length > shown.length ? `\nonly showing top ${shown.length} rows` : '';
    this.print(`-------------------------------------------\nBatch: ${batchId}\n-------------------------------------------\n${formatTable(info.schema.fields.map((f) => f.name), shown, this.truncate ? 40 : Number.POSITIVE_INFINITY)}${more}\n`);
  }
}
