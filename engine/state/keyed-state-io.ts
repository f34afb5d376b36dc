/**
 * How a keyed operator partition's named state tables reach disk and come back (`KeyedOperator.tables`). Each table
 * is one `StateStore` (one folder): the table named `''` is the partition folder itself (`state/<op>/<p>/<v>.delta`,
 * where the built-in operators have always kept their single table), any other table the subfolder of its name
 * (`state/<op>/<p>/<name>/`). Restoring with another partition count re-partitions every table by its own
 * `partitionKeyColumns`. Used alike by the calling thread (inline partitions) and the worker threads.
 *
 * @module
 */
import { join } from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import type { KeyedOperator, StateTable } from '../physical/partitions/keyed-operator.js';
import { partitionIds, rowsByPartition } from '../kernels/hash-kernel.js';
import { concatVecs, gatherBatch } from '../kernels/select-kernel.js';
import { batchFromVecs, columnVec } from '../types/values.js';
import { StateStore } from './state-store.js';

/** Thrown when an operator declares a state table whose name cannot be a folder name. */
export class InvalidStateTableNameError extends Error {
  override readonly name = 'InvalidStateTableNameError';
}

/** A table name: letters, digits, `_`, `$` and `-`, at most 64 (no dots, no separators: it is one folder). */
const SAFE_NAME = /^[A-Za-z0-9_$-]{1,64}$/;

/**
 * The folder of table `name` in a partition folder: the partition folder itself for `''`, else its subfolder.
 *
 * @example
 * tableDir('ckpt/state/0/1', 'fails'); // 'ckpt/state/0/1/fails'
 */
export function tableDir(partitionDir: string, name: string): string {
  if (name === '') return partitionDir;
  if (!SAFE_NAME.test(name)) {
    throw new InvalidStateTableNameError(
      `State table name ${JSON.stringify(name)} cannot be a folder under ${partitionDir}: use 1 to 64 letters, digits, '_', '$' or '-' (e.g. 'fails', '$timers').`,
    );
  }
  return join(partitionDir, name);
}

/**
 * Checks an operator's table names before anything is written: each a safe folder name (see `tableDir`), none twice.
 *
 * @example
 * checkTableNames(op.tables); // throws InvalidStateTableNameError for a name such as '../x'
 */
export function checkTableNames(tables: readonly StateTable[]): void {
  const seen = new Set<string>();
  for (const t of tables) {
    tableDir('state/<op>/<partition>', t.name);
    if (seen.has(t.name)) throw new InvalidStateTableNameError(`State table name ${JSON.stringify(t.name)} is declared twice: give each table its own name.`);
    seen.add(t.name);
  }
}

function store(partitionDir: string, t: StateTable): StateStore {
  return new StateStore(tableDir(partitionDir, t.name), t.schema, t.keyCount);
}

/**
 * Test hook: `afterTable` runs after each table of a partition is written by `commitTables` (on the thread that
 * writes it), so a crash test can stop a process between two tables of one version.
 *
 * @example
 * stateCommitHooks.afterTable = ({ table, version }) => { if (table === 'fails' && version === 5) process.kill(process.pid, 'SIGKILL'); };
 */
export const stateCommitHooks: {
  afterTable: ((ctx: { readonly partitionDir: string; readonly table: string; readonly version: number }) => void | Promise<void>) | null;
} = { afterTable: null };

/**
 * Writes state version `version` of one partition: each table's delta (with any recorded eviction) in its folder,
 * then a full snapshot of each when `snapshot` is true.
 *
 * @example
 * await commitTables(op, 'ckpt/state/0/1', 8, false);
 */
export async function commitTables(op: KeyedOperator, partitionDir: string, version: number, snapshot: boolean): Promise<void> {
  for (const t of op.tables) {
    const s = store(partitionDir, t);
    await s.commit(version, op.takeDelta(t.name), op.takeEviction?.(t.name) ?? null);
    if (snapshot) await s.snapshot(version, op.snapshot(t.name));
    await stateCommitHooks.afterTable?.({ partitionDir, table: t.name, version });
  }
}

/**
 * Loads version `version` of every table from several partition folders, each table's rows as one batch.
 *
 * @example
 * op.restore(await loadTables(op, ['ckpt/state/0/0', 'ckpt/state/0/1'], 8));
 */
export async function loadTables(
  op: KeyedOperator,
  partitionDirs: readonly string[],
  version: number,
  /** Tables new since `version` was written (a state variable added to the processor): empty, not read. */
  fresh: ReadonlySet<string> = new Set(),
): Promise<Map<string, RecordBatch | null>> {
  const out = new Map<string, RecordBatch | null>();
  for (const t of op.tables) {
    if (fresh.has(t.name)) {
      out.set(t.name, null);
      continue;
    }
    const parts: (RecordBatch | null)[] = [];
    for (const dir of partitionDirs) parts.push(await store(dir, t).load(version));
    out.set(t.name, concatStateRows(t, parts));
  }
  return out;
}

/** Deletes the files of every table of a partition folder that no version ≥ `minVersion` needs. */
export async function purgeTables(tables: readonly StateTable[], partitionDir: string, minVersion: number): Promise<void> {
  for (const t of tables) await store(partitionDir, t).purge(minVersion);
}

/**
 * Rows of `rows` (of `table`) whose partition key columns hash to `partition` of `n`.
 *
 * @example
 * keepPartition(op.tables[0]!, rows, 1, 2);
 */
export function keepPartition(table: StateTable, rows: RecordBatch | null, partition: number, n: number): RecordBatch | null {
  if (rows === null || rows.numRows === 0) return null;
  if (n <= 1) return rows;
  const schema = table.schema;
  const sel = rowsByPartition(partitionIds(table.partitionKeyColumns.map((c) => columnVec(rows, schema, c)), null, rows.numRows, n), n)[partition]!;
  return sel.length === 0 ? null : gatherBatch(rows, schema, sel);
}

/** Every table's rows that belong to `partition` of `n`, each table by its own partition key columns. */
export function keepPartitionTables(
  tables: readonly StateTable[],
  rows: ReadonlyMap<string, RecordBatch | null>,
  partition: number,
  n: number,
): Map<string, RecordBatch | null> {
  return new Map(tables.map((t) => [t.name, keepPartition(t, rows.get(t.name) ?? null, partition, n)]));
}

/**
 * Rows of one table from several partitions as one batch (null: none).
 *
 * @example
 * concatStateRows(op.tables[0]!, [rowsOfPartition0, rowsOfPartition1]);
 */
export function concatStateRows(table: StateTable, batches: readonly (RecordBatch | null)[]): RecordBatch | null {
  const parts = batches.filter((b): b is RecordBatch => b !== null && b.numRows > 0);
  if (parts.length === 0) return null;
  if (parts.length === 1) return parts[0]!;
  const schema = table.schema;
  return batchFromVecs(
    schema,
    schema.fields.map((_, i) => concatVecs(parts.map((b) => columnVec(b, schema, i)))),
    parts.reduce((s, b) => s + b.numRows, 0),
  );
}

/**
 * Every table's rows of several partitions, each table concatenated (state coming back to one thread).
 *
 * @example
 * op.restore(concatTables(op.tables, [tablesOfPartition0, tablesOfPartition1]));
 */
export function concatTables(tables: readonly StateTable[], parts: readonly ReadonlyMap<string, RecordBatch | null>[]): Map<string, RecordBatch | null> {
  return new Map(tables.map((t) => [t.name, concatStateRows(t, parts.map((p) => p.get(t.name) ?? null))]));
}

/** Every table's current rows (`KeyedOperator.snapshot`). */
export function snapshotTables(op: KeyedOperator): Map<string, RecordBatch | null> {
  return new Map(op.tables.map((t) => [t.name, op.snapshot(t.name)]));
}
