/**
 * `sluice optimize|vacuum|history <table>`: maintenance of a Delta table that streaming queries write.
 *
 * @module
 */
import { optimizeTable, tableHistory, vacuumTable } from '../../../connectors/lakehouse/delta-maintenance.js';
import { parseSize } from '../../../connectors/lakehouse/delta-options.js';
import type { PartitionPredicate } from '../../../connectors/lakehouse/delta-predicate.js';
import { CliError, ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Output } from '../output.js';

function positive(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new CliError(`${flag} ${value}: a number ≥ ${min}.`);
  return n;
}

function predicate(where: string): PartitionPredicate {
  let parsed: unknown;
  try {
    parsed = JSON.parse(where);
  } catch (e) {
    throw new CliError(`--where ${where}: not JSON (${(e as Error).message}). Write e.g. --where '{"date":{"eq":"2026-05-30"}}'.`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CliError(`--where ${where}: a JSON object of partition column conditions, e.g. '{"date":{"eq":"2026-05-30"}}'.`);
  }
  return parsed as PartitionPredicate;
}

/**
 * `sluice optimize <table> [--target-file-size 128MB] [--where JSON]`: compacts small files in one commit.
 *
 * @example
 * await optimizeCommand('lake/sales', { targetFileSize: '64MB' }, out); // 0
 */
export async function optimizeCommand(table: string, o: { targetFileSize?: string; where?: string; json?: boolean }, out: Output): Promise<ExitCodeValue> {
  let target: number | undefined;
  try {
    target = o.targetFileSize === undefined ? undefined : parseSize('--target-file-size', o.targetFileSize);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const r = await optimizeTable(table, {
    ...(target !== undefined ? { targetFileSize: target } : {}),
    ...(o.where !== undefined ? { where: predicate(o.where) } : {}),
  });
  if (o.json) out.printJson(r);
  else if (r.version === null) out.line(`${table}: nothing to compact (no partition has two or more files below the target size)`);
  else out.line(`${table}: version ${r.version}: ${r.filesRemoved} files compacted into ${r.filesAdded} in ${r.partitionsOptimized} partition(s); rows unchanged`);
  return ExitCode.ok;
}

/**
 * `sluice vacuum <table> [--retention-hours 168] [--dry-run] [--force]`: deletes files no retained version uses.
 *
 * @example
 * await vacuumCommand('lake/sales', { dryRun: true }, out); // lists the files, deletes none
 */
export async function vacuumCommand(
  table: string,
  o: { retentionHours?: string; dryRun?: boolean; force?: boolean; json?: boolean },
  out: Output,
): Promise<ExitCodeValue> {
  const r = await vacuumTable(table, {
    ...(o.retentionHours !== undefined ? { retentionHours: positive('--retention-hours', o.retentionHours, 0) } : {}),
    dryRun: o.dryRun === true,
    force: o.force === true,
  });
  if (o.json) out.printJson(r);
  else {
    for (const f of r.filesDeleted) out.line(f);
    out.line(`${table}: ${r.filesDeleted.length} file(s) ${r.dryRun ? 'would be deleted (dry run)' : 'deleted'}`);
  }
  return ExitCode.ok;
}

/**
 * `sluice history <table> [--limit n]`: the table's commits, newest first.
 *
 * @example
 * await historyCommand('lake/sales', { limit: '5' }, out);
 */
export async function historyCommand(table: string, o: { limit?: string; json?: boolean }, out: Output): Promise<ExitCodeValue> {
  const limit = o.limit === undefined ? undefined : positive('--limit', o.limit, 1);
  if (limit !== undefined && !Number.isInteger(limit)) throw new CliError(`--limit ${o.limit}: a whole number ≥ 1.`);
  const h = await tableHistory(table, limit);
  if (o.json) out.printJson(h);
  else {
    for (const e of h) {
      const when = typeof e.timestamp === 'number' ? new Date(e.timestamp).toISOString() : '';
      const params = e.operationParameters ? Object.entries(e.operationParameters).map(([k, v]) => `${k}=${v}`).join(' ') : '';
      out.line(`${String(e.version).padStart(6)}  ${when}  ${e.operation ?? '?'}  ${params}`.trimEnd());
    }
  }
  return ExitCode.ok;
}
