/**
 * `sluice backfill <pipeline> --from <time> --to <time>`: recompute an event-time range and replace the affected
 * partitions of the Delta sink in one commit; `--dry-run` prints the plan. See `cli/backfill/backfill.ts`.
 *
 * @module
 */
import { parseDuration, parseTimestamp, Session } from '../../index.js';
import { describePredicate } from '../../../connectors/lakehouse/index.js';
import { planBackfill, runBackfill, type BackfillPlan, type BackfillProgress, type BackfillResult } from '../backfill/backfill.js';
import { CliError, ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { loadPipeline } from '../load-pipeline.js';
import type { Output, Progress } from '../output.js';
import { handleStopSignals } from '../signals.js';

export interface BackfillOptions {
  readonly from: string;
  readonly to: string;
  readonly dryRun?: boolean;
  readonly checkpoint?: string;
  readonly ignoreCheckpoint?: boolean;
  readonly lookback?: string;
  readonly allowEmpty?: boolean;
  readonly json?: boolean;
}

/**
 * A `--from`/`--to` time: ISO-8601 (no zone = UTC), a date (`2026-05-30` = its midnight UTC), epoch ms, `now`, or
 * `now-<duration>` (`now-2 days`).
 *
 * @example
 * parseTimeOption('--from', '2026-05-30'); // 1780099200000
 */
export function parseTimeOption(name: string, v: string, now = Date.now()): number {
  const s = v.trim();
  const rel = /^now\s*(?:-\s*(.+))?$/i.exec(s);
  if (rel) {
    if (rel[1] === undefined) return now;
    try {
      return now - parseDuration(rel[1], name);
    } catch (e) {
      throw new CliError(`${name} ${v}: ${(e as Error).message}`);
    }
  }
  const ms = parseTimestamp(s);
  if (ms === null) throw new CliError(`${name} ${JSON.stringify(v)}: expected a time like 2026-05-30T00:00:00Z, 2026-05-30, epoch milliseconds or now-2days.`);
  return ms;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function n(x: number): string {
  return x.toLocaleString('en-US');
}

/** The dry-run plan as text. */
export function formatPlan(p: BackfillPlan): string {
  const lines: string[] = [];
  lines.push(`backfill ${p.name}`);
  lines.push(`  requested    [${iso(p.requested.fromMs)}, ${iso(p.requested.toMs)})`);
  lines.push(`  recomputed   [${iso(p.range.fromMs)}, ${iso(p.range.toMs)})  (widened to whole '${p.partition.column}' partitions)`);
  if (p.partition.kind === 'window') {
    const limit = p.finalUpToMs !== null ? ` and end <= ${iso(p.finalUpToMs)}` : '';
    lines.push(`  windows      ${p.partition.windowColumn}.start in [${iso(p.range.fromMs)}, ${iso(p.range.toMs)})${limit}`);
  } else lines.push(`  rows         event time in [${iso(p.range.fromMs)}, ${iso(p.range.toMs)})`);
  if (p.live) {
    lines.push(
      `  live query   ${p.live.queryId} (checkpoint ${p.live.checkpoint}): the table holds its batch ${p.live.tableBatch}; ` +
        (p.live.finalUpToMs === -Infinity ? 'no window is final yet' : `windows ending after ${iso(p.live.finalUpToMs)} are left to it`),
    );
  } else lines.push('  live query   none (all data is final)');
  lines.push(`  table        ${p.table.path} (version ${p.table.version < 0 ? 'none yet: the backfill creates it' : p.table.version})`);
  lines.push(`  replace      ${describePredicate(p.predicate)}  (${p.dates.length} partition(s))`);
  const byValue = new Map(p.table.partitions.map((x) => [x.value, x]));
  for (const d of p.dates) {
    const cur = byValue.get(d);
    lines.push(`    ${p.partition.column}=${d}  ${cur ? `now ${cur.files} file(s), ${cur.rows === null ? '? rows' : `${n(cur.rows)} rows`}` : 'empty now'}`);
  }
  const i = p.input;
  const et = i.eventTime ? `, event time in [${iso(i.eventTime.fromMs)}, ${iso(i.eventTime.toMs)})` : ', all event times (session windows)';
  if (i.kind === 'files') {
    lines.push(`  read         ${i.format}: ${i.files.length} file(s), ${n(i.bytes)} bytes, ~${i.estimatedRows === null ? '?' : n(i.estimatedRows)} rows${et}`);
  } else if (i.kind === 'kafka') {
    lines.push(`  read         kafka from ${iso(i.startMs)} to latest: ${n(i.offsets)} offset(s) ≈ rows${et}`);
    for (const r of i.ranges) lines.push(`    ${r.topic}-${r.partition}  offsets ${r.start}..${r.end}  (${n(r.end - r.start)})`);
  } else lines.push(`  read         ${i.description}${et}`);
  lines.push(`  rows         ~${estimatedRows(p)} input rows to recompute`);
  return lines.join('\n');
}

function estimatedRows(p: BackfillPlan): string {
  const i = p.input;
  if (i.kind === 'files') return i.estimatedRows === null ? '?' : n(i.estimatedRows);
  if (i.kind === 'kafka') return n(i.offsets);
  return '?';
}

function summary(r: BackfillResult): string {
  const p = r.plan;
  return (
    `backfill ${p.name}: replaced ${p.dates.length} partition(s) (${describePredicate(p.predicate)}) in one commit: ` +
    `version ${r.version ?? '-'}, ${n(r.rowsWritten)} rows written, ${r.filesAdded} file(s) added, ${r.filesRemoved} removed, ${(r.durationMs / 1000).toFixed(1)} s` +
    (r.attempts > 1 ? ` (${r.attempts} attempts)` : '')
  );
}

/** Progress from the backfill to a bar/lines. */
export function progressFor(out: Output, label: string): BackfillProgress {
  let bar: Progress | null = null;
  return {
    start: (total, unit) => {
      bar = total > 0 ? out.progress(label, unit, total) : null;
    },
    advance: (done) => bar?.update(done),
    stop: () => {
      bar?.stop();
      bar = null;
    },
  };
}

/**
 * Runs the command; resolves with the exit code.
 *
 * @example
 * await backfillCommand('sales.json', { from: '2026-05-28', to: '2026-05-30' }, new Output());
 */
export async function backfillCommand(file: string, o: BackfillOptions, out: Output): Promise<ExitCodeValue> {
  const { spec } = await loadPipeline(file);
  const range = { fromMs: parseTimeOption('--from', o.from), toMs: parseTimeOption('--to', o.to) };
  let lookbackMs: number | undefined;
  if (o.lookback !== undefined) {
    try {
      lookbackMs = parseDuration(o.lookback, '--lookback');
    } catch (e) {
      throw new CliError((e as Error).message);
    }
  }
  const req = {
    spec,
    file,
    range,
    ...(o.checkpoint !== undefined ? { checkpoint: o.checkpoint } : {}),
    ...(o.ignoreCheckpoint ? { ignoreCheckpoint: true } : {}),
    ...(lookbackMs !== undefined ? { lookbackMs } : {}),
    ...(o.allowEmpty ? { allowEmpty: true } : {}),
  };
  if (o.dryRun) {
    const { plan } = await planBackfill(req, new Session());
    if (o.json) out.printJson({ dryRun: true, ...planJson(plan) });
    else out.line(formatPlan(plan));
    return ExitCode.ok;
  }
  // A backfill is one commit: a signal waits for it (or its failure) rather than leaving it half done.
  let stopped: ExitCodeValue | null = null;
  const signals = handleStopSignals((sig) => {
    stopped = sig === 'SIGINT' ? ExitCode.interrupted : ExitCode.terminated;
    out.line(`${sig}: the backfill commits (or not) atomically; waiting for it to finish… (again to abort: the table stays as it was)`);
  });
  try {
    const r = await runBackfill(req, () => new Session(), o.json ? null : progressFor(out, spec.name ?? 'backfill'), (why) => out.line(`retrying: ${why}`));
    if (o.json) out.printJson({ ...planJson(r.plan), version: r.version, rowsWritten: r.rowsWritten, filesAdded: r.filesAdded, filesRemoved: r.filesRemoved, attempts: r.attempts, durationMs: r.durationMs });
    else out.line(summary(r));
  } finally {
    signals.dispose();
  }
  return stopped ?? ExitCode.ok;
}

/** The plan as JSON (ISO times). */
export function planJson(p: BackfillPlan): Record<string, unknown> {
  return {
    name: p.name,
    requested: { from: iso(p.requested.fromMs), to: iso(p.requested.toMs) },
    range: { from: iso(p.range.fromMs), to: iso(p.range.toMs) },
    partitionColumn: p.partition.column,
    replaceWhere: p.predicate,
    partitions: p.dates,
    table: p.table,
    live: p.live === null ? null : { ...p.live, finalUpToMs: undefined, finalUpTo: p.live.finalUpToMs === -Infinity ? null : iso(p.live.finalUpToMs) },
    input:
      p.input.kind === 'files'
        ? { kind: 'files', format: p.input.format, files: p.input.files.length, bytes: p.input.bytes, estimatedRows: p.input.estimatedRows }
        : p.input.kind === 'kafka'
          ? { kind: 'kafka', from: iso(p.input.startMs), offsets: p.input.offsets, partitions: p.input.ranges }
          : { kind: 'scan', description: p.input.description },
  };
}
