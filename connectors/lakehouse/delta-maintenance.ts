/**
 * Maintenance of a Delta table by path — compaction, vacuum, history — for the public entry and the `sluice`
 * command line. The lakehouse connector (and its Parquet codec) is loaded on first use, so importing these costs
 * nothing.
 *
 * @module
 */
import type { DeltaHistoryEntry, DeltaOptimizeOptions, DeltaOptimizeResult, DeltaVacuumOptions, DeltaVacuumResult } from './delta-table.js';

async function existingTable(path: string) {
  const { DeltaTable } = await import('./delta-table.js');
  const { DeltaTableNotFoundError } = await import('./delta-errors.js');
  const t = DeltaTable.forPath(path);
  if (!(await t.exists())) {
    throw new DeltaTableNotFoundError(`No Delta table at '${path}' (no _delta_log/ with a commit). Check the path: it is the table's folder, the one that holds _delta_log/.`);
  }
  return t;
}

/**
 * Rewrites the small files of a Delta table (per partition, optionally only those matching `where`) into files of
 * about `targetFileSize` (default 128 MiB), in one commit that changes no rows (`dataChange: false`).
 *
 * @example
 * await optimizeTable('lake/sales'); // { version: 12, filesRemoved: 120, filesAdded: 1, partitionsOptimized: 1 }
 * await optimizeTable('lake/sales', { where: { date: { eq: '2026-05-30' } }, targetFileSize: 64 * 1024 * 1024 });
 */
export async function optimizeTable(path: string, options: DeltaOptimizeOptions = {}): Promise<DeltaOptimizeResult> {
  return (await existingTable(path)).optimize(options);
}

/**
 * Deletes the files of a Delta table that no version within the retention (default 168 hours) references: files
 * removed (by an overwrite, a backfill or `optimizeTable`) longer ago, and stray files of writes that never committed.
 *
 * @example
 * await vacuumTable('lake/sales', { dryRun: true }); // { filesDeleted: ['part-00000-….snappy.parquet', …], dryRun: true }
 * await vacuumTable('lake/sales'); // deletes them
 */
export async function vacuumTable(path: string, options: DeltaVacuumOptions = {}): Promise<DeltaVacuumResult> {
  return (await existingTable(path)).vacuum(options);
}

/**
 * The commits of a Delta table, newest first: version, timestamp, operation and its parameters and metrics.
 *
 * @example
 * const [latest] = await tableHistory('lake/sales', 1); // { version: 12, operation: 'OPTIMIZE', … }
 */
export async function tableHistory(path: string, limit?: number): Promise<DeltaHistoryEntry[]> {
  return (await existingTable(path)).history(limit);
}
