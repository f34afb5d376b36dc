import type { RecordBatch } from 'apache-arrow';
import type { BatchScan } from '../../engine/io/source.js';
import type { Schema } from '../../engine/types/data-type.js';
import { ignoreCorruptFiles, skippingCorrupt, type CorruptFileCount } from './corrupt-files.js';
import type { FileFormat } from './file-formats.js';
import type { ReadStats } from './text-options.js';

/**
 * A bounded read of a list of files, in order. A file that cannot be decoded fails the read with a
 * `CorruptFileError`, or with option `ignoreCorruptFiles` is skipped, counted in `corruptFiles` and logged.
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

  async *scan(columns?: ReadonlySet<string>): AsyncIterable<RecordBatch> {
    const ignore = ignoreCorruptFiles(this.options);
    for (const f of this.files) {
      yield* skippingCorrupt(this.format.read(f, this.schema, this.options, this.stats, columns), f, ignore, this.corruptFiles);
    }
    if (this.stats.dropped > 0) {
      console.warn(`sluice: dropped ${this.stats.dropped} malformed row(s) reading ${this.path} (mode dropMalformed).`);
    }
  }
}
