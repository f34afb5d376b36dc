/**
 * `ignoreCorruptFiles` (Spark's option of the same name) for file reads: a file that cannot be decoded either fails
 * the read (the default) or is skipped, counted and logged.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import { CorruptFileError } from '../parquet/index.js';
import { boolOption } from './text-options.js';

/** Files skipped by `ignoreCorruptFiles`, counted by a scan or a file source. */
export interface CorruptFileCount {
  skipped: number;
}

/**
 * Whether the options ask to skip corrupt files (`ignoreCorruptFiles`, default false).
 *
 * @example
 * ignoreCorruptFiles({ ignoreCorruptFiles: 'true' }); // true
 */
export function ignoreCorruptFiles(options: Readonly<Record<string, string>>): boolean {
  return boolOption(options['ignoreCorruptFiles'], false, 'ignoreCorruptFiles');
}

/**
 * The batches of one file. A `CorruptFileError` fails the read unless `ignore`; then the file's remaining rows are
 * skipped, the file is counted in `count` and a warning names it. As in Spark, rows decoded before the damage was
 * found (earlier row groups) are kept; decoding is deterministic, so a re-run batch keeps the same rows.
 *
 * @example
 * for await (const b of skippingCorrupt(format.read(f, schema, o, stats), f, ignoreCorruptFiles(o), count)) yield b;
 */
export async function* skippingCorrupt(
  batches: AsyncIterable<RecordBatch>,
  file: string,
  ignore: boolean,
  count: CorruptFileCount,
): AsyncIterable<RecordBatch> {
  if (!ignore) {
    yield* batches;
    return;
  }
  let rows = 0;
  try {
    for await (const b of batches) {
      rows += b.numRows;
      yield b;
    }
  } catch (e) {
    if (!(e instanceof CorruptFileError)) throw e;
    count.skipped++;
    console.warn(
      `sluice: skipped corrupt file '${file}' (ignoreCorruptFiles)` +
        (rows > 0 ? ` after its first ${rows} row(s)` : '') +
        `: ${e.message}`,
    );
  }
}
