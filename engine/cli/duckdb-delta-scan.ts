/**
 * A DuckDB table expression over exactly the data files a Delta table's log names at one version.
 *
 * A glob such as `read_parquet('lake/sales/**\/*.parquet')` also reads files a later commit removed (a backfill's
 * `replaceWhere`, an `optimize`) until `vacuum` deletes them, so it double-counts; the log is the only list of what is
 * in the table. DuckDB's `delta` extension (`delta_scan`) follows the log itself but is fetched over the network on
 * first use; this expression needs nothing but DuckDB.
 *
 * @module
 */
import { join } from 'node:path';
import { DeltaTable } from '../../connectors/lakehouse/index.js';

/** What {@link duckdbDeltaScan} found: the table's version, its files and the `read_parquet([...])` expression. */
export interface DuckdbDeltaScan {
  /** The table version the file list belongs to. */
  readonly version: number;
  /** The live data files, as `join(tablePath, file)` (so relative when `tablePath` is). */
  readonly files: readonly string[];
  /**
   * `read_parquet(['<file>', …], hive_partitioning = true)`: a DuckDB table expression over exactly those files, with
   * the partition columns from the `col=value` folders; `null` when the version has no data files (DuckDB refuses an
   * empty list).
   */
  readonly from: string | null;
}

/** A SQL string literal: single quotes, doubled inside. */
function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/**
 * The DuckDB table expression reading the data files of `tablePath`'s Delta log at `version` (default: the newest).
 * The list is that version's: after a later commit, ask again.
 *
 * @example
 * const { from, version } = await duckdbDeltaScan('lake/sales');
 * console.log(`duckdb -c "SELECT product_id, sum(sales) FROM ${from} GROUP BY 1"  -- version ${version}`);
 */
export async function duckdbDeltaScan(tablePath: string, version?: number): Promise<DuckdbDeltaScan> {
  const table = DeltaTable.forPath(tablePath);
  const at = version ?? (await table.version());
  const files = (await table.files(at)).map((f) => join(tablePath, f));
  const from = files.length === 0 ? null : `read_parquet([${files.map(sqlString).join(', ')}], hive_partitioning = true)`;
  return { version: at, files, from };
}
