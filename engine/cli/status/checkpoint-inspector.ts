/**
 * `sluice status <checkpoint>`: reads a checkpoint folder (without locking it) and reports the query id, the last
 * batches with their offsets, watermarks and durations, the state each operator keeps, and what a restart will do —
 * the engine's own pure `decideRestart` over the newest `offsets/N` and `commits/M`.
 *
 * A batch's duration is not stored; it is read from the files: `commits/N` is written last, `offsets/N` first, so the
 * difference of their modification times is the batch's wall time.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decideRestart, type Offset, type RestartDecision } from '../../index.js';
import { CheckpointPaths } from '../../checkpoint/checkpoint-paths.js';
import { CommitLog } from '../../checkpoint/commit-log.js';
import { OffsetLog } from '../../checkpoint/offset-log.js';
import { CliError, ExitCode } from '../exit-codes.js';

export interface BatchStatus {
  readonly batchId: number;
  readonly offsets: readonly (Offset | null)[];
  /** The watermark the batch ran with. */
  readonly watermark: string;
  /** The watermark the next batch runs with (null: not committed). */
  readonly nextWatermark: string | null;
  readonly timestamp: string;
  readonly committed: boolean;
  /** Wall time from `offsets/N` to `commits/N` (null: not committed). */
  readonly durationMs: number | null;
}

export interface OperatorStatus {
  readonly operatorId: number;
  /** The operator's kind and state layout (`state/<op>/_metadata/schema`). */
  readonly signature: string | null;
  readonly partitions: number;
  readonly files: number;
  readonly bytes: number;
  /** The newest state version on disk. */
  readonly latestVersion: number | null;
}

export interface CheckpointStatus {
  readonly checkpoint: string;
  readonly queryId: string | null;
  /** A live process holding the lock, if any. */
  readonly runningPid: number | null;
  readonly offsetsRange: readonly [number, number] | null;
  readonly commitsRange: readonly [number, number] | null;
  readonly batches: readonly BatchStatus[];
  readonly operators: readonly OperatorStatus[];
  readonly sources: number;
  readonly restart: RestartDecision;
  /** What the restart decision means, in words. */
  readonly restartText: string;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function mtime(file: string): number | null {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

function dirEntries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockHolder(paths: CheckpointPaths): number | null {
  try {
    const { pid } = JSON.parse(readFileSync(paths.lock, 'utf8')) as { pid?: unknown };
    return typeof pid === 'number' && isAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

function operators(paths: CheckpointPaths): OperatorStatus[] {
  const out: OperatorStatus[] = [];
  for (const op of dirEntries(paths.stateRoot()).filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b)) {
    let signature: string | null = null;
    try {
      signature = readFileSync(paths.stateMetadata(op), 'utf8').trim();
    } catch {
      signature = null;
    }
    const opDir = join(paths.stateRoot(), String(op));
    let partitions = 0;
    let files = 0;
    let bytes = 0;
    let latest: number | null = null;
    for (const p of dirEntries(opDir).filter((n) => /^\d+$/.test(n))) {
      partitions++;
      // The operator's main table is the partition folder itself; its other named tables are subfolders of it.
      const tableDirs = [join(opDir, p), ...dirEntries(join(opDir, p)).map((n) => join(opDir, p, n)).filter((d) => statSync(d).isDirectory())];
      for (const dir of tableDirs) {
        for (const f of dirEntries(dir)) {
          const m = /^(\d+)\.(delta|snapshot)$/.exec(f);
          if (!m) continue;
          files++;
          bytes += statSync(join(dir, f)).size;
          latest = Math.max(latest ?? 0, Number(m[1]));
        }
      }
    }
    out.push({ operatorId: op, signature, partitions, files, bytes, latestVersion: latest });
  }
  return out;
}

/** The restart decision in words. */
export function describeRestart(d: RestartDecision, watermark: string | null): string {
  switch (d.kind) {
    case 'fresh':
      return 'no batch was planned yet: a start begins with batch 0 from the sources\' starting offsets';
    case 'rerun':
      return `offsets/${d.batchId} has no commit: a restart runs batch ${d.batchId} again with the same offsets, watermark and timestamp (the sink recognises it if it was already written)`;
    case 'next':
      return `batch ${d.batchId - 1} is committed: a restart starts batch ${d.batchId} from the end offsets of batch ${d.batchId - 1}${watermark ? `, with watermark ${watermark}` : ''}`;
  }
}

/**
 * Reads a checkpoint's status; `last` is how many batches to list.
 *
 * @example
 * const s = await inspectCheckpoint('checkpoints/sales'); s.restartText;
 */
export async function inspectCheckpoint(checkpoint: string, last = 5): Promise<CheckpointStatus> {
  const paths = new CheckpointPaths(checkpoint);
  if (!existsSync(checkpoint)) throw new CliError(`No checkpoint at ${checkpoint}.`, ExitCode.usage);
  const hasLogs = existsSync(paths.metadata) || existsSync(paths.offsetsDir);
  if (!hasLogs) throw new CliError(`${checkpoint} is not a sluice checkpoint (no metadata, no offsets/).`, ExitCode.usage);
  let queryId: string | null = null;
  try {
    const m = JSON.parse(readFileSync(paths.metadata, 'utf8')) as { id?: unknown };
    queryId = typeof m.id === 'string' ? m.id : null;
  } catch {
    queryId = null;
  }
  const offsetLog = new OffsetLog(paths.offsetsDir);
  const commitLog = new CommitLog(paths.commitsDir);
  const offsetIds = await offsetLog.list();
  const commitIds = await commitLog.list();
  const latestOffsets = offsetIds.length > 0 ? offsetIds[offsetIds.length - 1]! : null;
  const latestCommit = commitIds.length > 0 ? commitIds[commitIds.length - 1]! : null;
  const restart = decideRestart(latestOffsets, latestCommit);
  const batches: BatchStatus[] = [];
  for (const id of offsetIds.slice(-last)) {
    const o = await offsetLog.get(id);
    if (o === null) continue;
    const c = await commitLog.get(id);
    const t0 = mtime(paths.offset(id));
    const t1 = c === null ? null : mtime(paths.commit(id));
    batches.push({
      batchId: id,
      offsets: o.offsets,
      watermark: iso(o.batchWatermarkMs),
      nextWatermark: c === null ? null : iso(c.nextBatchWatermarkMs),
      timestamp: iso(o.batchTimestampMs),
      committed: c !== null,
      durationMs: t0 !== null && t1 !== null ? Math.max(0, Math.round(t1 - t0)) : null,
    });
  }
  const lastCommitted = latestCommit === null ? null : await commitLog.get(latestCommit);
  const nextWm = lastCommitted ? iso(lastCommitted.nextBatchWatermarkMs) : null;
  return {
    checkpoint,
    queryId,
    runningPid: lockHolder(paths),
    offsetsRange: offsetIds.length > 0 ? [offsetIds[0]!, latestOffsets!] : null,
    commitsRange: commitIds.length > 0 ? [commitIds[0]!, latestCommit!] : null,
    batches,
    operators: operators(paths),
    sources: dirEntries(join(checkpoint, 'sources')).filter((n) => /^\d+$/.test(n)).length,
    restart,
    restartText:
      queryId === null && (offsetIds.length > 0 || commitIds.length > 0)
        ? `${paths.metadata} is missing or unreadable: a restart is refused until it is restored (the sinks know the batches by the query id it holds)`
        : describeRestart(restart, nextWm),
  };
}

/**
 * A size for people: `512 B`, `3.4 KiB`, `12.0 MiB`.
 *
 * @example
 * bytesText(3482); // '3.4 KiB'
 */
export function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** The report as text. */
export function formatCheckpointStatus(s: CheckpointStatus): string {
  const lines: string[] = [];
  lines.push(`checkpoint  ${s.checkpoint}`);
  lines.push(`query id    ${s.queryId ?? '(no metadata)'}`);
  lines.push(`running     ${s.runningPid !== null ? `yes (pid ${s.runningPid} holds the lock)` : 'no'}`);
  lines.push(`offsets     ${s.offsetsRange ? `batches ${s.offsetsRange[0]}..${s.offsetsRange[1]}` : 'none'}`);
  lines.push(`commits     ${s.commitsRange ? `batches ${s.commitsRange[0]}..${s.commitsRange[1]}` : 'none'}`);
  lines.push(`sources     ${s.sources}`);
  lines.push('');
  if (s.batches.length > 0) {
    lines.push(`last ${s.batches.length} batch(es):`);
    lines.push(`  ${pad('batch', 6)} ${pad('status', 10)} ${pad('watermark', 25)} ${pad('duration', 9)} offsets`);
    for (const b of s.batches) {
      lines.push(
        `  ${pad(String(b.batchId), 6)} ${pad(b.committed ? 'committed' : 'planned', 10)} ${pad(b.watermark, 25)} ${pad(b.durationMs === null ? '-' : `${b.durationMs} ms`, 9)} ${b.offsets.map((o) => (o === null ? '-' : JSON.stringify(o))).join(' | ')}`,
      );
    }
    lines.push('');
  }
  if (s.operators.length > 0) {
    lines.push('state:');
    for (const op of s.operators) {
      lines.push(
        `  operator ${op.operatorId}  ${bytesText(op.bytes)} in ${op.files} file(s), ${op.partitions} partition(s), latest version ${op.latestVersion ?? '-'}  ${op.signature ?? ''}`.trimEnd(),
      );
    }
    lines.push('');
  } else lines.push('state:      none (a stateless query)', '');
  lines.push(`restart:    ${s.restartText}`);
  return lines.join('\n');
}
