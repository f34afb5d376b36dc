import type { RecordBatch } from 'apache-arrow';
import type { BatchScan } from '../../engine/io/source.js';
import type { Schema } from '../../engine/types/data-type.js';
import { ignoreCorruptFiles, skippingCorrupt, type CorruptFileCount } from './corrupt-files.js';
import type { FileFormat } from './file-formats.js';
import type { ReadStats } from './text-options.js';

/**
 * A bounded read of a list of files, in order. `stats` counts every scan of this object; each scan also adds to the
 * `stats` it is given (the run's own counts), and warns once when it dropped malformed rows. A file that cannot be
 * decoded fails the read with a `CorruptFileError`, or with option `ignoreCorruptFiles` is skipped, counted in
 * `corruptFiles` and logged.
 *
 * @example
 * const scan = new FileScan(jsonlFormat, ['a.jsonl'], schema, {});
 * for await (const b of scan.scan()) …
 */
export class FileScan implements BatchScan {
  readonly stats: ReadStats = { rows: 0, malformed: 0, dropped: 0 };
  readonly corruptFiles: CorruptFileCount = { skipped: 0 };
  constructor(
    readonly format: FileFormat,
    readonly files: readonly string[],
    readonly schema: Schema,
    readonly options: Readonly<Record<string, string>>,
    readonly path: string,
  ) {}

  get description(): string {
    return `${this.format.name} ${this.path} (${this.files.length} file${this.files.length === 1 ? '' : 's'})`;
  }

  get prunesColumns(): boolean {
    return this.format.prunesColumns === true;
  }

  async *scan(columns?: ReadonlySet<string>, runStats?: ReadStats): AsyncIterable<RecordBatch> {
    const run: ReadStats = { rows: 0, malformed: 0, dropped: 0 };
    const ignore = ignoreCorruptFiles(this.options);
    try {
      for (const f of this.files) {
        yield* skippingCorrupt(this.format.read(f, this.schema, this.options, run, columns), f, ignore, this.corruptFiles);
      }
    } finally {
      // Also when the consumer stops early (a limit) or a failFast error ends the read.
      for (const s of runStats ? [this.stats, runStats] : [this.stats]) {
        s.rows += run.rows;
        s.malformed += run.malformed;
        s.dropped += run.dropped;
      }
    }
    if (run.dropped > 0) console.warn(`sluice: dropped ${run.dropped} malformed row(s) reading ${this.path} (mode dropMalformed).`);
  }
}
