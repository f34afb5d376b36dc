/**
 * `sluice state <checkpoint> [--batch N] [--json]`: the state a checkpoint keeps, without running its query — each
 * stateful operator (id, name, kind), its tables (name, role, key and value columns, TTL), how many partitions wrote
 * the state, and per table the rows and bytes on disk of the state after the batch (default: the last committed).
 * The rows themselves: `session.read.format('state')`.
 *
 * @module
 */
import { formatDuration } from '../../types/duration.js';
import { typeToString } from '../../types/data-type.js';
import {
  inspectStateCheckpoint,
  planStateRead,
  stateReadStats,
  StateReadError,
  type StateTableInfo,
} from '../../state/state-reader.js';
import { CliError, ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { bytesText } from '../status/checkpoint-inspector.js';
import type { Output } from '../output.js';

/** One column of a state table. */
export interface StateColumnReport {
  readonly name: string;
  readonly type: string;
}

/** One state table in `sluice state`'s report. */
export interface StateTableReport {
  /** `''` is the operator's own table (its partition folders). */
  readonly name: string;
  readonly role: StateTableInfo['role'];
  readonly keyColumns: readonly StateColumnReport[];
  readonly valueColumns: readonly StateColumnReport[];
  readonly ttlMs: number | null;
  /** Rows after the batch (null: no committed batch). */
  readonly rows: number | null;
  /** Bytes of the files loading that version reads (the base snapshot and the deltas after it), over partitions. */
  readonly bytes: number | null;
  readonly files: number | null;
}

/** One operator in `sluice state`'s report. */
export interface StateOperatorReport {
  readonly operatorId: number;
  readonly operatorName: string;
  readonly kind: string;
  /** False for a checkpoint written before `operator.json`: one table `''`, columns from the state files. */
  readonly described: boolean;
  /** Partitions that wrote the state after the batch (null: no committed batch). */
  readonly partitions: number | null;
  readonly tables: readonly StateTableReport[];
}

/** `sluice state`'s report (its `--json` output). */
export interface StateReport {
  readonly checkpoint: string;
  readonly lastCommittedBatch: number | null;
  /** The batch whose state is reported (null: no committed batch). */
  readonly batchId: number | null;
  readonly operators: readonly StateOperatorReport[];
}

function columns(t: StateTableInfo, from: number, to: number): StateColumnReport[] {
  return t.schema.fields.slice(from, to).map((f) => ({ name: f.name, type: typeToString(f.type) }));
}

/**
 * The report of a checkpoint's state after batch `batchId` (default: the last committed).
 *
 * @example
 * const r = await stateReport('checkpoints/logins'); r.operators[0]?.tables.map((t) => `${t.name}: ${t.rows} rows`);
 */
export async function stateReport(checkpoint: string, batchId?: number): Promise<StateReport> {
  const info = inspectStateCheckpoint(checkpoint);
  // Nothing committed: the operators and their tables, without rows.
  const batch = batchId ?? info.lastCommittedBatch;
  const operators: StateOperatorReport[] = [];
  for (const op of info.operators) {
    let partitions: number | null = null;
    const tables: StateTableReport[] = [];
    for (const t of op.tables) {
      let stats: { rows: number; bytes: number; files: number } | null = null;
      if (batch !== null) {
        const plan = planStateRead(checkpoint, { operatorId: op.operatorId, batchId: batch, table: t.name });
        partitions = plan.dirs.length;
        stats = await stateReadStats(plan);
      }
      tables.push({
        name: t.name,
        role: t.role,
        keyColumns: columns(t, 0, t.keyCount),
        valueColumns: columns(t, t.keyCount, t.schema.fields.length),
        ttlMs: t.ttlMs,
        rows: stats?.rows ?? null,
        bytes: stats?.bytes ?? null,
        files: stats?.files ?? null,
      });
    }
    operators.push({ operatorId: op.operatorId, operatorName: op.operatorName, kind: op.kind, described: op.described, partitions, tables });
  }
  return { checkpoint, lastCommittedBatch: info.lastCommittedBatch, batchId: batch, operators };
}

function columnsText(cs: readonly StateColumnReport[]): string {
  return cs.length === 0 ? '(none)' : cs.map((c) => `${c.name} ${c.type}`).join(', ');
}

/**
 * The report as text.
 *
 * @example
 * out.line(formatStateReport(await stateReport('checkpoints/logins')));
 */
export function formatStateReport(r: StateReport): string {
  const lines: string[] = [];
  lines.push(`checkpoint      ${r.checkpoint}`);
  lines.push(`last committed  ${r.lastCommittedBatch === null ? 'none (no batch committed yet)' : `batch ${r.lastCommittedBatch}`}`);
  if (r.batchId !== null) lines.push(`state after     batch ${r.batchId} (state version ${r.batchId + 1})`);
  lines.push('');
  if (r.operators.length === 0) {
    lines.push('no state (a stateless query, or no batch has run)');
    return lines.join('\n');
  }
  for (const op of r.operators) {
    const parts = op.partitions === null ? '' : `  ${op.partitions} partition(s)`;
    lines.push(`operator ${op.operatorId}  ${op.operatorName} (${op.kind})${parts}${op.described ? '' : '  [no operator.json: columns read from the state files]'}`);
    for (const t of op.tables) {
      const size = t.rows === null ? 'no committed state' : `${t.rows} row(s), ${bytesText(t.bytes!)} in ${t.files} file(s)`;
      lines.push(`  table ${t.name === '' ? "''" : t.name}  ${t.role}  ${size}  ttl ${t.ttlMs === null ? 'none' : formatDuration(t.ttlMs)}`);
      lines.push(`    keys    ${columnsText(t.keyColumns)}`);
      lines.push(`    values  ${columnsText(t.valueColumns)}`);
    }
  }
  return lines.join('\n');
}

/**
 * `sluice state <checkpoint> [--batch N] [--json]`.
 *
 * @example
 * await stateCommand('checkpoints/logins', { batch: '7' }, out); // 0
 */
export async function stateCommand(checkpoint: string, o: { batch?: string; json?: boolean }, out: Output): Promise<ExitCodeValue> {
  let batchId: number | undefined;
  if (o.batch !== undefined) {
    const n = Number(o.batch);
    if (o.batch.trim() === '' || !Number.isInteger(n) || n < 0) throw new CliError(`--batch ${o.batch}: a batch id, a whole number ≥ 0.`);
    batchId = n;
  }
  let r: StateReport;
  try {
    r = await stateReport(checkpoint, batchId);
  } catch (e) {
    // No checkpoint, no such batch (not committed, or purged): the user's input, named in the message.
    if (e instanceof StateReadError) {
      throw new CliError(e.message.replace(/\.option\('batchId', …\)/g, '--batch'), ExitCode.usage);
    }
    throw e;
  }
  if (o.json) out.printJson(r);
  else out.line(formatStateReport(r));
  return ExitCode.ok;
}
